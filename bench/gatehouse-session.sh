#!/usr/bin/env bash
# GATEWAY_CMD for bench/baseline.sh: gatehouse in session mode (one server connection per client)
# in front of the benchmark's PostgreSQL, TLS and plaintext on one port, SCRAM passthrough with the
# verifier the harness copied from pg_authid into $GATEWAY_AUTH_FILE (no plaintext password on disk).
# GATEHOUSE_RELAY_ENGINE=node|native|auto (default auto) sets relay_engine; GATEHOUSE_RELAY_CPUS (a YAML
# list such as [1], default []) sets relay_cpus; GATEHOUSE_TLS_ENGINE=auto|node|native (default auto) sets
# tls_engine. GATEHOUSE_EXTRA_YAML is appended to the config (bench/gatehouse-transaction.sh's pool).
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
log:
  level: warn
relay_engine: ${GATEHOUSE_RELAY_ENGINE:-auto}
relay_cpus: ${GATEHOUSE_RELAY_CPUS:-[]}
tls_engine: ${GATEHOUSE_TLS_ENGINE:-auto}
${GATEHOUSE_EXTRA_YAML:-}
YAML
exec $cli serve --config "$BENCH_WORKDIR/gatehouse.yaml"
