#!/usr/bin/env bash
# GATEWAY_CMD for bench/baseline.sh: gatehouse in transaction mode (pool size $GATEWAY_POOL_SIZE, as
# PgBouncer's) in front of the benchmark's PostgreSQL, TLS and plaintext on one port, SCRAM
# passthrough with the verifier the harness copied into $GATEWAY_AUTH_FILE.
# GATEHOUSE_TX_ENGINE=native|node (default native) sets transaction_engine; GATEHOUSE_RELAY_CPUS (a
# YAML list such as [1], default []) sets relay_cpus.
set -euo pipefail
cli=${GATEHOUSE_CLI:-node dist/cli.js}
cat >"$BENCH_WORKDIR/hba.conf" <<HBA
host all all 127.0.0.1/32 scram-sha-256
HBA
cat >"$BENCH_WORKDIR/gatehouse.yaml" <<YAML
listen:
  addresses: [$GATEWAY_LISTEN_ADDR]
  port: $GATEWAY_PORT
tls:
  cert: $TLS_CERT_FILE
  key: $TLS_KEY_FILE
hba: hba.conf
auth:
  users: $GATEWAY_AUTH_FILE
databases:
  "*": { host: $PG_HOST, port: $PG_PORT, sslmode: disable }
pool:
  mode: ${GATEWAY_POOL_MODE:-transaction}
  default_pool_size: ${GATEWAY_POOL_SIZE:-20}
  max_client_conn: ${GATEWAY_MAX_CLIENT_CONN:-1000}
log:
  level: warn
transaction_engine: ${GATEHOUSE_TX_ENGINE:-native}
relay_cpus: ${GATEHOUSE_RELAY_CPUS:-[]}
YAML
exec $cli serve --config "$BENCH_WORKDIR/gatehouse.yaml"
