#!/usr/bin/env bash
# Transaction-mode benchmark (issue 4): PgBouncer and gatehouse in transaction mode, pool size 20
# each, in one run: pgbench -S with 1 and 32 clients, the TPC-B-like script with 16, and -S -c 32
# beside 900 idle clients; prints TPS, latency and proxy CPU per transaction, and the paired
# gatehouse / PgBouncer ratio per round.
#   bash bench/transaction.sh                                   # DURATION=15 per run
#   ROUNDS=7 DURATION=5 bash bench/transaction.sh               # paired rounds, median ratio
#   GATEHOUSE_TX_ENGINE=node bash bench/transaction.sh          # the JavaScript pool instead
# Needs: root (or a user that can run postgres), Debian postgresql-15 and pgbouncer, a built dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -f dist/cli.js ]] || npm run build --silent
export PGB_POOL_MODE=transaction
export TESTS=${TESTS:-"select_c1 select_c32 tpcb_c16 idle"}
export TARGETS=${TARGETS:-"direct pgbouncer gateway"}
export GATEWAY_NAME=gatehouse
export GATEWAY_CMD="bash $PWD/bench/gatehouse-transaction.sh"
exec bash bench/baseline.sh
