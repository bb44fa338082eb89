#!/usr/bin/env bash
# GATEWAY_CMD for bench/baseline.sh: gatehouse in transaction mode (pool size $GATEWAY_POOL_SIZE, as
# PgBouncer's), otherwise configured as bench/gatehouse-session.sh configures it.
# GATEHOUSE_TX_ENGINE=native|node|auto (default auto) sets transaction_engine.
set -euo pipefail
export GATEHOUSE_EXTRA_YAML="pool: {mode: ${GATEWAY_POOL_MODE:-transaction}, default_pool_size: ${GATEWAY_POOL_SIZE:-20}, max_client_conn: ${GATEWAY_MAX_CLIENT_CONN:-1000}}
transaction_engine: ${GATEHOUSE_TX_ENGINE:-auto}"
exec bash "$(dirname "$0")/gatehouse-session.sh"
