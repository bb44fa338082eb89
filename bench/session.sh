#!/usr/bin/env bash
# Session-mode benchmark (issue 2): pgbench -S with 1 and 8 clients against PostgreSQL directly,
# PgBouncer in session mode and gatehouse, in one run; prints TPS and latency ratios.
#   bash bench/session.sh                 # DURATION=15 per run
#   DURATION=5 bash bench/session.sh      # quicker
#   ROUNDS=7 TARGETS="pgbouncer gateway" bash bench/session.sh   # paired rounds, median ratio
# Needs: root (or a user that can run postgres), Debian postgresql-15 and pgbouncer, a built dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -f dist/cli.js ]] || npm run build --silent
export PGB_POOL_MODE=session
export TESTS=${TESTS:-"select_c1 select_c8"}
export TARGETS=${TARGETS:-"direct pgbouncer gateway direct-tls pgbouncer-tls gateway-tls"}
export GATEWAY_NAME=gatehouse
export GATEWAY_CMD="bash $PWD/bench/gatehouse-session.sh"
exec bash bench/baseline.sh
