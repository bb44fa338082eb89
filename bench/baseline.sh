#!/usr/bin/env bash
# =============================================================================
# Copied from ../shared/bench/baseline.sh (the reference harness) with five changes: ROUNDS (below),
# PgBouncer started under setsid like the gateway (its own scheduler autogroup, see start_pgb),
# a prepared_c32 test and PGB_POOL_SIZE,
# PGB_POOL_MODE [transaction] sets PgBouncer's pool_mode (and GATEWAY_POOL_MODE), and the
# select_c8 test (-S -c 8 -j 2).
# bench/baseline.sh -- reproducible throughput / latency anchors for a
# PostgreSQL gateway (connection pooler / proxy), measured against
#   (1) PostgreSQL directly and (2) PgBouncer, and (3) optionally a gateway
#   started by $GATEWAY_CMD, all with the same pgbench matrix.
#
# Everything runs on loopback (127.0.0.1 / unix sockets) on this machine.
# Run as root (it uses the 'postgres' OS user for initdb/postgres/pgbouncer,
# which refuse to run as root) or as an ordinary user that owns nothing
# special (then everything runs as that user and PgBouncer must be installed).
#
#   bash bench/baseline.sh                      # direct + PgBouncer
#   GATEWAY_CMD='...' bash bench/baseline.sh    # + a third target
#   DURATION=5 TESTS="select_c1 select_c32" bash bench/baseline.sh   # quick
#
# What it does
#   1. mktemp -d work dir; self-signed cert (openssl, RSA 2048, CN=localhost,
#      SAN IP:127.0.0.1); initdb a throw-away PostgreSQL 15 cluster:
#      listen_addresses=127.0.0.1, port $PG_PORT, unix socket in the work dir,
#      max_connections=200, password_encryption=scram-sha-256, ssl=on,
#      shared_buffers=$PG_SHARED_BUFFERS, synchronous_commit=$PG_SYNC_COMMIT
#      (PostgreSQL default 'on'); role 'bench' with a random password
#      (SCRAM verifier), database 'bench', pgbench -i -s $SCALE.
#   2. apt-get install -y pgbouncer if missing (root only), then starts two
#      private PgBouncer processes with their own ini in the work dir (NOT
#      the system service): auth_type=scram-sha-256 + auth_file holding the
#      SCRAM verifier copied from pg_authid, pool_mode=transaction,
#      default_pool_size=20, max_client_conn=1000, server side plain TCP to
#      127.0.0.1:$PG_PORT (server_tls_sslmode=disable):
#        :$PGB_PORT      plain clients
#        :$PGB_TLS_PORT  client_tls_sslmode=require (same cert as PostgreSQL)
#   3. if GATEWAY_CMD is set, starts it (see "Gateway interface").
#   4. runs the pgbench matrix, each run bounded by -T $DURATION, simple
#      query protocol, per-transaction log (--log) for p50/p99:
#        select_c1      -S  -c 1  -j 1           (latency anchor)
#        select_c32     -S  -c 32 -j 2           (throughput anchor)
#        prepared_c32   -S -M prepared -c 32 -j 2  (ours, not in the default
#                       set: named prepared statements; PgBouncer 1.18 needs
#                       PGB_POOL_MODE=session and PGB_POOL_SIZE >= 32 for it)
#        tpcb_c16       built-in TPC-B-like -c 16 -j 2 -n  (plain targets
#                       only; before each run, untimed: VACUUM branches and
#                       tellers, TRUNCATE history -- what pgbench would do --
#                       and CHECKPOINT)
#        connect_c8     -C -S -c 8 -j 8  (new connection + SCRAM per txn;
#                       one thread per client because pgbench connects
#                       synchronously and would stall the thread's other
#                       clients; the latency columns exclude the connect,
#                       conn ms is pgbench's average connection time)
#        storm_c4       (TLS targets only; ours) -S -c 4 -j 1 on established
#                       TLS connections while a connection storm hits the same
#                       port: pgbench -C -S -c $STORM_CLIENTS -j $STORM_CLIENTS,
#                       a TLS handshake and a SCRAM login per transaction, from
#                       just before the run to its end. Its TPS and p99 are what
#                       the established clients get while others connect (a
#                       proxy whose one thread runs the handshakes stalls them);
#                       the storm's own CPU lands in pgbench CPU % when it has
#                       ended and been reaped by the run's end (it usually
#                       has), else in other CPU %; its logins (a second,
#                       average connect time) are in the status column
#        idle<N>_select_c32  (proxies only) hold $IDLE_CLIENTS idle client
#                       connections (pgbench -c N -f '\sleep'), verify they
#                       are held (ss + PgBouncer SHOW POOLS), measure RSS of
#                       the proxy, and run select_c32 alongside them; RSS is
#                       read before the idle clients, with them before the
#                       run, and (ours) again at the run's end.
#      against the targets
#        direct         PostgreSQL, sslmode=disable
#        direct-tls     PostgreSQL, sslmode=require (SCRAM-SHA-256-PLUS)
#        pgbouncer      PgBouncer :$PGB_PORT, sslmode=disable
#        pgbouncer-tls  PgBouncer :$PGB_TLS_PORT, sslmode=require
#        gateway        $GATEWAY_CMD on :$GATEWAY_PORT, sslmode=disable
#        gateway-tls    ... on :$GATEWAY_TLS_PORT, sslmode=require
#                       (both labelled with $GATEWAY_NAME)
#      Runs are ordered test by test (all targets for one test back to back)
#      so slow drift of the machine hits all targets alike. Before the
#      matrix: 5 s direct warm-up, and 3 s of -S -c 32 per proxy target so
#      its server pool is full (all unrecorded).
#   5. per run it records: TPS (excluding initial connection time, or
#      including reconnects for -C), latency average and stddev (pgbench -P
#      makes pgbench print stddev), p50/p99 from the per-transaction log,
#      average connection time (-C), failed transactions, CPU of the proxy
#      process tree (utime+stime+cutime+cstime from /proc/PID/stat, % of one
#      core and CPU microseconds per transaction), CPU of the postmaster tree,
#      CPU of pgbench itself (bash 'times'), and whole-host busy % from
#      /proc/stat (100 % = both cores busy).
#      Single-core calibrations (openssl speed sha256 64-byte blocks; dd
#      bs=64 /dev/zero -> /dev/null for syscall cost) run at start and end.
#      Absolute numbers drift by 10-20 % between runs on this shared VM (not
#      always visible in the calibration), so compare targets within one
#      invocation (the ratio table) and over several invocations
#      (bench/summarize.py), not absolute TPS across invocations.
#   6. prints Markdown tables; on exit (also on error / Ctrl-C) stops the
#      gateway (SIGTERM to its process group, then SIGKILL), PgBouncer (by
#      PID), PostgreSQL (pg_ctl stop -m fast) and removes the work dir.
#
# Environment knobs [default]
#   DURATION [15]       seconds per pgbench run (-T)
#   SCALE [10]          pgbench scale factor
#   IDLE_CLIENTS [900]  idle client connections held in the idle test
#                       (both proxies' max_client_conn: the larger of 1000 and IDLE_CLIENTS + 100)
#   IDLE_SETTLE [0]     seconds the idle test waits before reading each RSS (the
#                       proxy's before the idle clients, and with them once all are
#                       established): a settled figure, past Node's memory reducer
#                       (it gives back a burst's young generation 25-30 s later)
#   STORM_CLIENTS [8]   connecting clients in the storm_c4 test
#   TESTS               space separated subset of: select_c1 select_c32
#                       tpcb_c16 connect_c8 storm_c4 idle   [all]
#   TARGETS             subset of: direct direct-tls pgbouncer pgbouncer-tls
#                       gateway gateway-tls  [all that are available]
#   PGB_POOL_SIZE [20]  PgBouncer's default_pool_size (ours)
#   ROUNDS [1]          run every test ROUNDS times, reversing the target order
#                       on every second round; with ROUNDS > 1 the report adds
#                       the gateway / PgBouncer TPS ratio of each round (paired:
#                       same test, same TLS mode, minutes apart) and its median
#   PG_BIN [/usr/lib/postgresql/15/bin]   initdb, pg_ctl, pgbench, psql
#   PG_PORT [25432] PGB_PORT [26432] PGB_TLS_PORT [26433]
#                    (below the kernel's ephemeral range 32768-60999: a port
#                    inside it can be taken by any outgoing connection, e.g.
#                    by thousands of -C reconnects, and bind() then fails)
#   PG_SHARED_BUFFERS [512MB]  PG_SYNC_COMMIT [on]
#   BENCH_OS_USER [postgres]   OS user for postgres/pgbouncer when run as root
#   RESULTS_TSV                also copy the raw result rows (TSV) here
#   RAW_DIR                    also copy every pgbench output (and its per-transaction log) here
#   KEEP_WORKDIR [0]           1 = keep the work dir (logs, configs)
#   QUIET_PCT [20] QUIET_MAX_WAIT [20] QUIET_BUDGET [120]
#                    before each run wait until the host is < QUIET_PCT %
#                    busy (at most QUIET_MAX_WAIT s per run, QUIET_BUDGET s in
#                    all): other processes may share the machine. The busy %
#                    seen just before a run (pre busy) and CPU of processes
#                    outside the measured ones during it (other CPU) are
#                    reported so contaminated runs can be spotted.
#   RETRY_OTHER_PCT [30] RETRY_BUDGET [4]
#                    a run whose other CPU exceeds RETRY_OTHER_PCT % of a
#                    core is repeated once (at most RETRY_BUDGET repeats per
#                    invocation); the status column then says so.
#
# Gateway interface (third target)
#   GATEWAY_CMD      shell command, run as `setsid bash -c "$GATEWAY_CMD"` by
#                    the invoking user (root here), stdin /dev/null, stdout
#                    and stderr to $BENCH_WORKDIR/gateway.log, with cwd = the
#                    directory the script was started from. It must start a
#                    gateway that listens on $GATEWAY_LISTEN_ADDR:$GATEWAY_PORT
#                    in front of the PostgreSQL described below and STAY IN
#                    THE FOREGROUND (no daemonizing): the process it starts
#                    and all its descendants are CPU/RSS-accounted, and are
#                    stopped with SIGTERM to the process group (SIGKILL after
#                    5 s) at the end.
#   GATEWAY_NAME [gateway]     label used in the tables
#   GATEWAY_PORT [27432]       port for plain clients (exported)
#   GATEWAY_TLS_PORT [=GATEWAY_PORT] port the TLS runs connect to with
#                    sslmode=require (exported; may equal GATEWAY_PORT)
#   GATEWAY_TLS [auto]         1 = run TLS variants, 0 = skip, auto = run
#                    them if a sslmode=require login works at startup
#   GATEWAY_READY_TIMEOUT [30] seconds until a real login must succeed:
#                    psql "host=127.0.0.1 port=$GATEWAY_PORT dbname=bench
#                          user=bench sslmode=disable" -c 'select 1'
#   Exported to GATEWAY_CMD (besides the above):
#     GATEWAY_LISTEN_ADDR=127.0.0.1
#     PG_HOST=127.0.0.1  PG_PORT  PG_SOCKET_DIR (unix socket dir)  PG_DB=bench
#     PG_USER=bench  PG_PASSWORD (random per run)
#     PG_SCRAM_SECRET  the role's SCRAM-SHA-256 verifier from pg_authid
#     GATEWAY_AUTH_FILE  PgBouncer-style userlist.txt: "bench" "<verifier>"
#     TLS_CERT_FILE TLS_KEY_FILE  self-signed cert/key (the one PG uses)
#     GATEWAY_POOL_MODE=transaction GATEWAY_POOL_SIZE=20
#     GATEWAY_MAX_CLIENT_CONN  the larger of 1000 and IDLE_CLIENTS + 100
#     BENCH_WORKDIR    empty scratch dir for the gateway (removed at exit)
#     BENCH_OS_USER    unprivileged OS user available for dropping root
#   What clients do: libpq 15 (pgbench, psql) log in as user bench to
#   database bench with the password via SCRAM-SHA-256 (channel binding is
#   'prefer': offer SCRAM-SHA-256-PLUS over TLS only if you support it),
#   simple query protocol; TPC-B uses BEGIN ... END; -C reconnects per
#   transaction; the idle test keeps $IDLE_CLIENTS (+32 active) connections
#   open at once. Example: ../shared/bench/examples/gateway-pgbouncer.sh
# =============================================================================
set -Eeuo pipefail

START_DIR=$(pwd)

DURATION=${DURATION:-15}
SCALE=${SCALE:-10}
IDLE_CLIENTS=${IDLE_CLIENTS:-900}
# Both proxies take the idle clients plus the active run's 32 (and the harness's own psql): ours, not the reference's fixed 1000.
MAX_CLIENT_CONN=$((IDLE_CLIENTS + 100 > 1000 ? IDLE_CLIENTS + 100 : 1000))
IDLE_SETTLE=${IDLE_SETTLE:-0}
STORM_CLIENTS=${STORM_CLIENTS:-8}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_PORT=${PG_PORT:-25432}
PGB_PORT=${PGB_PORT:-26432}
PGB_TLS_PORT=${PGB_TLS_PORT:-26433}
PG_SHARED_BUFFERS=${PG_SHARED_BUFFERS:-512MB}
PG_SYNC_COMMIT=${PG_SYNC_COMMIT:-on}
PGB_POOL_MODE=${PGB_POOL_MODE:-transaction}
BENCH_OS_USER=${BENCH_OS_USER:-postgres}
KEEP_WORKDIR=${KEEP_WORKDIR:-0}
QUIET_PCT=${QUIET_PCT:-20}
QUIET_MAX_WAIT=${QUIET_MAX_WAIT:-20}
QUIET_BUDGET=${QUIET_BUDGET:-120}
RETRY_OTHER_PCT=${RETRY_OTHER_PCT:-30}
RETRY_BUDGET=${RETRY_BUDGET:-4}
RESULTS_TSV=${RESULTS_TSV:-}
RAW_DIR=${RAW_DIR:-}
GATEWAY_CMD=${GATEWAY_CMD:-}
GATEWAY_NAME=${GATEWAY_NAME:-gateway}
GATEWAY_PORT=${GATEWAY_PORT:-27432}
GATEWAY_TLS_PORT=${GATEWAY_TLS_PORT:-$GATEWAY_PORT}
GATEWAY_TLS=${GATEWAY_TLS:-auto}
GATEWAY_READY_TIMEOUT=${GATEWAY_READY_TIMEOUT:-30}
ALL_TESTS="select_c1 select_c8 select_c32 tpcb_c16 connect_c8 storm_c4 idle"
TESTS=${TESTS:-$ALL_TESTS}
TARGETS=${TARGETS:-}

PGBENCH_BIN=$PG_BIN/pgbench
PSQL_BIN=$PG_BIN/psql
[[ -x $PGBENCH_BIN ]] || PGBENCH_BIN=/usr/bin/pgbench
[[ -x $PSQL_BIN ]] || PSQL_BIN=/usr/bin/psql

# libpq environment of the caller must not leak into the measurements
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGPASSFILE \
      PGSERVICE PGSERVICEFILE PGOPTIONS PGAPPNAME PGSSLMODE PGREQUIRESSL \
      PGSSLCERT PGSSLKEY PGSSLROOTCERT PGSSLCRL PGSSLCOMPRESSION \
      PGCHANNELBINDING PGTARGETSESSIONATTRS PGCONNECT_TIMEOUT \
      PGCLIENTENCODING PGGSSENCMODE PGDATA PGSYSCONFDIR PGSSLSNI \
      PGSSLMINPROTOCOLVERSION PGSSLMAXPROTOCOLVERSION PGREQUIREAUTH \
      PGLOADBALANCEHOSTS 2>/dev/null || true

CLK_TCK=$(getconf CLK_TCK)
NPROC=$(nproc)
T_START=$EPOCHREALTIME

log()  { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die()  { log "FATAL: $*"; exit 1; }

# ----------------------------------------------------------------- cleanup --
WORK=""
PG_STARTED=0
PGB_PID=""; PGB_TLS_PID=""; GW_PID=""; IDLE_PID=""; STORM_PID=""; STORM_PORT=""; STORM_NOTE=""

descendants() {  # PID -> PID and all its live descendants, one per line
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v root="$1" '
    { pid=$1; match($0, /.*\) /); n=split(substr($0, RSTART+RLENGTH), f, " "); pp[pid]=f[2] }
    END { if (!(root in pp)) exit; s[root]=1; ch=1
          while (ch) { ch=0; for (p in pp) if (!(p in s) && (pp[p] in s)) { s[p]=1; ch=1 } }
          for (p in s) print p }'
}

stop_pid() {  # PID [group]: TERM (to the group too if asked), wait 5 s, KILL
  local pid=$1 group=${2:-0} i pids
  [[ -n $pid ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  pids=$(descendants "$pid")
  if [[ $group == 1 ]]; then kill -TERM -- "-$pid" 2>/dev/null || true; fi
  for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
  for ((i = 0; i < 50; i++)); do
    local alive=0
    for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
    [[ $alive == 0 ]] && break
    sleep 0.1
  done
  for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM HUP
  ((rc != 0)) && log "exiting with status $rc; stopping everything this run started"
  [[ -n $IDLE_PID ]] && stop_pid "$IDLE_PID"
  [[ -n $STORM_PID ]] && stop_pid "$STORM_PID"
  [[ -n $GW_PID ]] && stop_pid "$GW_PID" 1
  [[ -n $PGB_PID ]] && stop_pid "$PGB_PID"
  [[ -n $PGB_TLS_PID ]] && stop_pid "$PGB_TLS_PID"
  if [[ $PG_STARTED == 1 ]]; then
    as_os "$PG_BIN/pg_ctl" -D "$WORK/data" -m fast -w -t 30 stop >/dev/null 2>&1 \
      || as_os "$PG_BIN/pg_ctl" -D "$WORK/data" -m immediate -w stop >/dev/null 2>&1
  fi
  if [[ -n $WORK && -d $WORK ]]; then
    if [[ $KEEP_WORKDIR == 1 ]]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted (SIGINT), cleaning up"; exit 130' INT
trap 'log "terminated (SIGTERM), cleaning up"; exit 143' TERM
trap 'log "hangup (SIGHUP), cleaning up"; exit 129' HUP

# --------------------------------------------------------------- helpers ----
if [[ $EUID == 0 ]]; then
  id "$BENCH_OS_USER" >/dev/null 2>&1 || useradd --system --no-create-home "$BENCH_OS_USER"
  as_os() { (cd "$WORK" && exec setpriv --reuid="$BENCH_OS_USER" --regid="$(id -g "$BENCH_OS_USER")" --init-groups -- "$@"); }
  os_exec() { exec setpriv --reuid="$BENCH_OS_USER" --regid="$(id -g "$BENCH_OS_USER")" --init-groups -- "$@"; }
  OS_USER=$BENCH_OS_USER
else
  as_os() { (cd "$WORK" && exec "$@"); }
  os_exec() { exec "$@"; }
  OS_USER=$(id -un)
fi

# a listening or connected socket with this local port blocks bind();
# TIME-WAIT leftovers of earlier runs do not (the servers set SO_REUSEADDR)
port_in_use() { [[ -n $(ss -Htan exclude time-wait "( sport = :$1 )" 2>/dev/null) ]]; }
warn_ephemeral() {
  local lo hi
  read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || return 0
  if (($1 >= lo && $1 <= hi)); then
    log "warning: port $1 is inside the ephemeral range $lo-$hi; outgoing connections may take it"
  fi
  return 0
}

# superuser SQL over the unix socket (trust)
pgsql() { "$PSQL_BIN" -X -q -At -v ON_ERROR_STOP=1 -h "$WORK/sock" -p "$PG_PORT" -U postgres -d "${PGSQL_DB:-postgres}" "$@"; }

# login as bench over TCP; $1 port, $2 sslmode, $3 dbname, rest psql args
bench_psql() {
  local port=$1 ssl=$2 db=$3; shift 3
  PGPASSWORD=$BENCH_PW PGCONNECT_TIMEOUT=5 "$PSQL_BIN" -X -q -A \
    "host=127.0.0.1 port=$port dbname=$db user=bench sslmode=$ssl" "$@"
}

tree_ticks() {  # PID -> utime+stime+cutime+cstime of PID and live descendants
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v root="$1" '
    { pid=$1; match($0, /.*\) /); split(substr($0, RSTART+RLENGTH), f, " ")
      pp[pid]=f[2]; t[pid]=f[12]+f[13]+f[14]+f[15] }
    END { if (!(root in pp)) { print 0; exit } s[root]=1; ch=1
          while (ch) { ch=0; for (p in pp) if (!(p in s) && (pp[p] in s)) { s[p]=1; ch=1 } }
          tot=0; for (p in s) tot+=t[p]; print tot }'
}

tree_rss_kb() {  # PID -> sum of VmRSS (kB) of PID and live descendants
  local p tot=0 v
  for p in $(descendants "$1"); do
    v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
    tot=$((tot + ${v:-0}))
  done
  echo "$tot"
}

settle() {  # ROOT "PIDS-BEFORE": wait (<= 3 s) until no new descendants remain
  local i p cur new
  for ((i = 0; i < 30; i++)); do
    cur=$(descendants "$1"); new=0
    for p in $cur; do [[ $'\n'$2$'\n' == *$'\n'$p$'\n'* ]] || { new=1; break; }; done
    ((new == 0)) && return 0
    sleep 0.1
  done
}

host_cpu() { awk '/^cpu / { print $5+$6, $2+$3+$4+$5+$6+$7+$8+$9, $9 }' /proc/stat; }  # idle total steal
busy_pct() { awk -v a="$1" -v b="$2" 'BEGIN { split(a,x," "); split(b,y," ")
  printf "%.0f\n", ((y[2]-x[2]) > 0 ? 100*(1-(y[1]-x[1])/(y[2]-x[2])) : 0) }'; }

# Other processes may share this host. Before each run wait (bounded) until the
# whole host is below QUIET_PCT % busy for one second; the busy % seen last is
# recorded as pre_busy, and CPU used by processes outside the measured ones
# during the run is recorded as "other CPU %".
QUIET_WAITED=0; PRE_BUSY=0
wait_quiet() {
  local a b i
  for ((i = 0; ; i++)); do
    a=$(host_cpu); sleep 1; b=$(host_cpu); PRE_BUSY=$(busy_pct "$a" "$b")
    ((PRE_BUSY < QUIET_PCT)) && return 0
    if ((i >= QUIET_MAX_WAIT || QUIET_WAITED >= QUIET_BUDGET)); then
      log "    host still ${PRE_BUSY}% busy before the run (other load); running anyway"; return 0
    fi
    ((QUIET_WAITED += 1))
  done
}

wait_login() {  # port sslmode timeout_s [pid-that-must-stay-alive]
  local port=$1 ssl=$2 t=$3 pid=${4:-} i
  for ((i = 0; i < t * 5; i++)); do
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    bench_psql "$port" "$ssl" bench -c 'select 1' >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}

# --------------------------------------------------------------- targets ----
declare -A T_PORT T_SSL T_PID
T_LIST=()
add_target() { T_PORT[$1]=$2; T_SSL[$1]=$3; T_PID[$1]=$4; T_LIST+=("$1"); }
want_target() { [[ -z $TARGETS ]] || [[ " $TARGETS " == *" $1 "* ]]; }
want_test() { [[ " $TESTS " == *" $1 "* ]]; }

# ----------------------------------------------------------------- setup ----
[[ -x $PG_BIN/initdb ]] || die "no initdb in $PG_BIN"
command -v openssl >/dev/null || die "openssl missing"
if ! command -v pgbouncer >/dev/null && [[ ! -x /usr/sbin/pgbouncer ]]; then
  if [[ $EUID == 0 ]]; then
    log "installing pgbouncer (apt-get install -y pgbouncer)"
    # policy-rc.d / no systemd: the package's own service is not started;
    # we never use it anyway
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgbouncer >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgbouncer >/dev/null; } \
      || die "could not install pgbouncer"
  else
    die "pgbouncer not installed and not root"
  fi
fi
PGBOUNCER_BIN=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)

for p in "$PG_PORT" "$PGB_PORT" "$PGB_TLS_PORT"; do
  port_in_use "$p" && die "port $p is already in use (leftover from an earlier run? see: ss -tanp 'sport = :$p')"
  warn_ephemeral "$p"
done
if [[ -n $GATEWAY_CMD ]]; then
  port_in_use "$GATEWAY_PORT" && die "gateway port $GATEWAY_PORT already in use"
  warn_ephemeral "$GATEWAY_PORT"
  if [[ $GATEWAY_TLS_PORT != "$GATEWAY_PORT" ]]; then
    port_in_use "$GATEWAY_TLS_PORT" && die "gateway TLS port $GATEWAY_TLS_PORT already in use"
  fi
fi

# many idle clients need file descriptors (pgbench and pgbouncer inherit this)
hard=$(ulimit -Hn)
if [[ $hard == unlimited || $hard -ge 8192 ]]; then ulimit -n 8192; else ulimit -n "$hard"; fi

WORK=$(mktemp -d /tmp/pgw-baseline.XXXXXX)
mkdir -p "$WORK/sock" "$WORK/tls" "$WORK/out" "$WORK/logs" "$WORK/gateway"
chmod 755 "$WORK"
[[ $EUID == 0 ]] && chown -R "$OS_USER" "$WORK/sock" "$WORK/tls" "$WORK/logs"
[[ $EUID == 0 ]] && chown "$OS_USER" "$WORK"
BENCH_PW=$(openssl rand -hex 16)
log "work dir $WORK"

# TLS: self-signed, used by PostgreSQL, PgBouncer (client side) and gateway
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
  -keyout "$WORK/tls/server.key" -out "$WORK/tls/server.crt" >/dev/null 2>&1 \
  || die "openssl req failed"
chmod 600 "$WORK/tls/server.key"
[[ $EUID == 0 ]] && chown "$OS_USER" "$WORK/tls/server.key" "$WORK/tls/server.crt"

log "initdb (PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'))"
as_os "$PG_BIN/initdb" -D "$WORK/data" -U postgres -E UTF8 --locale=C \
  --auth-local=trust --auth-host=scram-sha-256 --no-sync >"$WORK/initdb.log" 2>&1 \
  || { cat "$WORK/initdb.log" >&2; die "initdb failed"; }
cat >>"$WORK/data/postgresql.conf" <<EOF

# ---- bench/baseline.sh ----
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$WORK/sock'
max_connections = 200
password_encryption = 'scram-sha-256'
ssl = on
ssl_cert_file = '$WORK/tls/server.crt'
ssl_key_file = '$WORK/tls/server.key'
shared_buffers = '$PG_SHARED_BUFFERS'
synchronous_commit = $PG_SYNC_COMMIT
log_connections = off
log_disconnections = off
EOF
cat >"$WORK/data/pg_hba.conf" <<EOF
local all all trust
host  all all 127.0.0.1/32 scram-sha-256
EOF
as_os "$PG_BIN/pg_ctl" -D "$WORK/data" -l "$WORK/logs/postgres.log" -w -t 60 start >/dev/null \
  || { tail -20 "$WORK/logs/postgres.log" >&2; die "postgres did not start"; }
PG_STARTED=1
PG_PID=$(head -1 "$WORK/data/postmaster.pid")

pgsql -c "CREATE ROLE bench LOGIN PASSWORD '$BENCH_PW'" -c "CREATE DATABASE bench OWNER bench"
SCRAM_SECRET=$(pgsql -c "SELECT rolpassword FROM pg_authid WHERE rolname = 'bench'")
[[ $SCRAM_SECRET == SCRAM-SHA-256\$* ]] || die "unexpected password verifier: $SCRAM_SECRET"
printf '"bench" "%s"\n' "$SCRAM_SECRET" >"$WORK/userlist.txt"
chmod 600 "$WORK/userlist.txt"
[[ $EUID == 0 ]] && chown "$OS_USER" "$WORK/userlist.txt"

log "pgbench -i -s $SCALE"
t0=$EPOCHREALTIME
PGPASSWORD=$BENCH_PW PGSSLMODE=disable "$PGBENCH_BIN" -i -q -s "$SCALE" \
  -h 127.0.0.1 -p "$PG_PORT" -U bench bench >"$WORK/out/init.txt" 2>&1 \
  || { cat "$WORK/out/init.txt" >&2; die "pgbench -i failed"; }
log "pgbench -i done in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}') s"

# ------------------------------------------------------------ pgbouncer -----
write_pgb_ini() {  # name port extra-lines
  cat >"$WORK/$1.ini" <<EOF
[databases]
bench = host=127.0.0.1 port=$PG_PORT dbname=bench

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $2
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $WORK/userlist.txt
pool_mode = $PGB_POOL_MODE
default_pool_size = ${PGB_POOL_SIZE:-20}
max_client_conn = $MAX_CLIENT_CONN
stats_users = bench
server_tls_sslmode = disable
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
logfile = $WORK/logs/$1.log
$3
EOF
  [[ $EUID == 0 ]] && chown "$OS_USER" "$WORK/$1.ini"
  return 0
}
start_pgb() {  # name port -> sets REPLY to pid
  # setsid, as the gateway is started (GATEWAY_CMD): each proxy is then its own session and so its own
  # scheduler autogroup (kernel.sched_autogroup_enabled), rather than PgBouncer sharing pgbench's
  # CPU share while the gateway gets one of its own.
  ( os_exec setsid "$PGBOUNCER_BIN" "$WORK/$1.ini" ) >>"$WORK/logs/$1.stdout" 2>&1 </dev/null &
  REPLY=$!
  wait_login "$2" disable 20 "$REPLY" || { tail -20 "$WORK/logs/$1.log" "$WORK/logs/$1.stdout" >&2 2>/dev/null; die "$1 did not come up on :$2"; }
}

need_pgb=0
for t in pgbouncer pgbouncer-tls; do want_target "$t" && need_pgb=1; done
if [[ $need_pgb == 1 ]]; then
  write_pgb_ini pgbouncer "$PGB_PORT" ""
  write_pgb_ini pgbouncer-tls "$PGB_TLS_PORT" "client_tls_sslmode = require
client_tls_key_file = $WORK/tls/server.key
client_tls_cert_file = $WORK/tls/server.crt"
  if want_target pgbouncer; then
    start_pgb pgbouncer "$PGB_PORT"; PGB_PID=$REPLY
  fi
  if want_target pgbouncer-tls; then
    # this instance rejects plain clients: start it, then check a TLS login
    ( os_exec setsid "$PGBOUNCER_BIN" "$WORK/pgbouncer-tls.ini" ) >>"$WORK/logs/pgbouncer-tls.stdout" 2>&1 </dev/null &
    PGB_TLS_PID=$!
    wait_login "$PGB_TLS_PORT" require 20 "$PGB_TLS_PID" || die "pgbouncer-tls did not come up on :$PGB_TLS_PORT"
    if bench_psql "$PGB_TLS_PORT" disable bench -c 'select 1' >/dev/null 2>&1; then
      die "pgbouncer-tls accepted a plain (sslmode=disable) client"
    fi
  fi
fi

# -------------------------------------------------------------- gateway -----
GW_TLS_OK=0
if [[ -n $GATEWAY_CMD ]]; then
  export GATEWAY_PORT GATEWAY_TLS_PORT
  export GATEWAY_LISTEN_ADDR=127.0.0.1 PG_HOST=127.0.0.1 PG_PORT PG_SOCKET_DIR=$WORK/sock \
         PG_DB=bench PG_USER=bench PG_PASSWORD=$BENCH_PW PG_SCRAM_SECRET=$SCRAM_SECRET \
         GATEWAY_AUTH_FILE=$WORK/gateway/userlist.txt \
         TLS_CERT_FILE=$WORK/tls/server.crt TLS_KEY_FILE=$WORK/tls/server.key \
         GATEWAY_POOL_MODE=$PGB_POOL_MODE GATEWAY_POOL_SIZE=${PGB_POOL_SIZE:-20} GATEWAY_MAX_CLIENT_CONN=$MAX_CLIENT_CONN \
         BENCH_WORKDIR=$WORK/gateway BENCH_OS_USER=$OS_USER
  cp "$WORK/userlist.txt" "$GATEWAY_AUTH_FILE"
  log "starting gateway: $GATEWAY_CMD"
  ( cd "$START_DIR" && exec setsid bash -c "$GATEWAY_CMD" ) >"$WORK/gateway/gateway.log" 2>&1 </dev/null &
  GW_PID=$!
  if ! wait_login "$GATEWAY_PORT" disable "$GATEWAY_READY_TIMEOUT" "$GW_PID"; then
    tail -30 "$WORK/gateway/gateway.log" >&2 || true
    kill -0 "$GW_PID" 2>/dev/null || die "gateway process exited before accepting a login (its output is above)"
    die "gateway did not accept a login on 127.0.0.1:$GATEWAY_PORT within ${GATEWAY_READY_TIMEOUT}s"
  fi
  case $GATEWAY_TLS in
    0) ;;
    *) if bench_psql "$GATEWAY_TLS_PORT" require bench -c 'select 1' >/dev/null 2>&1; then GW_TLS_OK=1
       elif [[ $GATEWAY_TLS == 1 ]]; then die "gateway: sslmode=require login on :$GATEWAY_TLS_PORT failed"
       else log "gateway: no TLS login on :$GATEWAY_TLS_PORT -> skipping $GATEWAY_NAME-tls"; fi ;;
  esac
fi

want_target direct && add_target direct "$PG_PORT" disable ""
want_target direct-tls && add_target direct-tls "$PG_PORT" require ""
[[ -n $PGB_PID ]] && add_target pgbouncer "$PGB_PORT" disable "$PGB_PID"
[[ -n $PGB_TLS_PID ]] && add_target pgbouncer-tls "$PGB_TLS_PORT" require "$PGB_TLS_PID"
if [[ -n $GW_PID ]]; then
  want_target gateway && add_target "$GATEWAY_NAME" "$GATEWAY_PORT" disable "$GW_PID"
  [[ $GW_TLS_OK == 1 ]] && want_target gateway-tls && add_target "$GATEWAY_NAME-tls" "$GATEWAY_TLS_PORT" require "$GW_PID"
fi
((${#T_LIST[@]})) || die "no targets selected"
is_tls() { [[ ${T_SSL[$1]} == require ]]; }
is_proxy() { [[ -n ${T_PID[$1]} ]]; }

# -------------------------------------------------------------- measure -----
RES=$WORK/results.tsv
printf 'target\ttest\tssl\tclients\tthreads\ttps\tlat_avg_ms\tlat_std_ms\tp50_ms\tp99_ms\tconn_ms\txacts\tfailed\tproxy_cpu_pct\tproxy_cpu_us_per_xact\tpg_cpu_pct\tpgbench_cpu_pct\thost_busy_pct\tother_cpu_pct\tpre_busy_pct\tsteal_pct\tstatus\n' >"$RES"

times_children_s() {  # parse `times` output file -> children user+sys seconds
  awk 'NR==2 { s=0; for (i=1;i<=2;i++) { split($i, b, /[ms]/); s += b[1]*60 + b[2] } printf "%.3f\n", s }' "$1"
}

# measure TARGET TEST CLIENTS THREADS -- pgbench args...
# A run during which other processes used more than RETRY_OTHER_PCT % of a
# core (another process's load) is repeated once, while RETRY_BUDGET lasts.
STATUS_NOTE=""
measure() {
  STATUS_NOTE=""
  measure_once "$@"
  local other st
  other=$(tail -1 "$RES" | awk -F'\t' '{print $19}')
  st=$(tail -1 "$RES" | awk -F'\t' '{print $22}')
  if [[ $st == ok && -z $STORM_PORT ]] && ((RETRY_BUDGET > 0)) \
     && awk -v o="$other" -v t="$RETRY_OTHER_PCT" 'BEGIN { exit !(o + 0 > t + 0) }'; then
    RETRY_BUDGET=$((RETRY_BUDGET - 1))  # not ((…-= 1)): reaching 0 would be a failing command under set -e
    log "    other CPU ${other}% > ${RETRY_OTHER_PCT}% (load outside this benchmark): repeating the run once"
    sed -i '$d' "$RES"
    STATUS_NOTE=" (repeated; 1st try other CPU ${other}%)"
    measure_once "$@"
  fi
}
measure_once() {
  local target=$1 test=$2 clients=$3 threads=$4; shift 5
  local port=${T_PORT[$target]} ssl=${T_SSL[$target]} ppid=${T_PID[$target]}
  local tag="${target}__${test}" rc=0 i
  local out="$WORK/out/$tag.txt" lp="$WORK/logs/lat_$tag"
  wait_quiet
  if [[ -n $STORM_PORT ]]; then
    # the storm_c4 test's connecting clients: from just before the run to its end
    PGPASSWORD=$BENCH_PW PGSSLMODE=require "$PGBENCH_BIN" -n -C -S -c "$STORM_CLIENTS" -j "$STORM_CLIENTS" \
      -T $((DURATION + 1)) -h 127.0.0.1 -p "$STORM_PORT" -U bench bench >"$WORK/out/${tag}__storm.txt" 2>&1 </dev/null &
    STORM_PID=$!
    sleep 1
  fi
  log "run $target / $test (${DURATION}s)"
  local h0 h1 px0=0 px1=0 pg0 pg1 t0 t1 pgset pxset=""
  pgset=$(descendants "$PG_PID"); [[ -n $ppid ]] && pxset=$(descendants "$ppid")
  h0=$(host_cpu); pg0=$(tree_ticks "$PG_PID")
  [[ -n $ppid ]] && px0=$(tree_ticks "$ppid")
  times >"$WORK/.times0"
  t0=$EPOCHREALTIME
  PGPASSWORD=$BENCH_PW PGSSLMODE=$ssl "$PGBENCH_BIN" -h 127.0.0.1 -p "$port" -U bench \
    -c "$clients" -j "$threads" -T "$DURATION" -P 5 --log --log-prefix="$lp" "$@" bench \
    >"$out" 2>&1 || rc=$?
  t1=$EPOCHREALTIME
  times >"$WORK/.times1"
  h1=$(host_cpu)
  if [[ -n $STORM_PID ]]; then
    # its -T ends it about now; it is stopped only if it hangs
    for ((i = 0; i < 100; i++)); do kill -0 "$STORM_PID" 2>/dev/null || break; sleep 0.1; done
    stop_pid "$STORM_PID"; STORM_PID=""
    local storm="$WORK/out/${tag}__storm.txt"
    [[ -n $RAW_DIR ]] && { mkdir -p "$RAW_DIR"; cp "$storm" "$RAW_DIR/"; }
    STORM_NOTE=$(awk '/^number of transactions actually processed: / {x=$6} /^number of failed transactions: / {f=$5}
      /^average connection time = / {c=$5} /^tps = / {t=$3}
      END { if (x == "") print "no summary"; else printf "%s logins (%.0f/s, %s ms each), %s failed", x, t, c, f }' "$storm")
    grep -q 'pgbench: error' "$storm" && STORM_NOTE+="; errors: $(grep -m1 'pgbench: error' "$storm")"
  fi
  # let processes created during the run (backends) be reaped first: a child
  # that is reaped while /proc is being read is in neither its own stat nor
  # yet in the parent's cutime
  settle "$PG_PID" "$pgset"; [[ -n $ppid ]] && settle "$ppid" "$pxset"
  pg1=$(tree_ticks "$PG_PID")
  [[ -n $ppid ]] && px1=$(tree_ticks "$ppid")
  [[ -n $RAW_DIR ]] && { mkdir -p "$RAW_DIR"; cp "$out" "$RAW_DIR/"; }

  local stats pct
  stats=$(awk '
    /^tps = / {tps=$3}
    /^latency average = / {lat=$4}
    /^latency stddev = / {std=$4}
    /^average connection time = / {conn=$5}
    /^number of transactions actually processed: / {x=$6}
    /^number of failed transactions: / {f=$5}
    /Run was aborted|pgbench: error|FATAL/ {bad=1}
    END { printf "%s %s %s %s %s %s %s\n", (tps==""?"-":tps), (lat==""?"-":lat), (std==""?"-":std),
          (conn==""?"-":conn), (x==""?0:x), (f==""?"-":f), (bad?"aborted":"ok") }' "$out")
  local tps lat std conn xacts failed st
  read -r tps lat std conn xacts failed st <<<"$stats"
  [[ $rc != 0 ]] && st="rc=$rc"
  st+=$STATUS_NOTE
  [[ -n $STORM_PORT ]] && st+=" (storm: $STORM_NOTE)"
  # p50 / p99 from the per-transaction log (3rd column = latency in us)
  pct=$({ cat "$lp".* 2>/dev/null || true; } | LC_ALL=C awk '$3 ~ /^[0-9]+$/ {print $3}' | LC_ALL=C sort -n \
        | awk '{v[NR]=$1} END { if (NR==0) { print "- -"; exit }
               i50=int(NR*0.50); if (i50<NR*0.50) i50++; if (i50<1) i50=1
               i99=int(NR*0.99); if (i99<NR*0.99) i99++; if (i99<1) i99=1
               printf "%.3f %.3f\n", v[i50]/1000, v[i99]/1000 }') || pct="- -"
  [[ -n $RAW_DIR ]] && { cat "$lp".* >"$RAW_DIR/lat_$tag.log" 2>/dev/null || true; }
  rm -f "$lp".*
  local p50 p99; read -r p50 p99 <<<"$pct"

  local derived
  derived=$(awk -v ncpu="$NPROC" -v h0="$h0" -v h1="$h1" -v pg0="$pg0" -v pg1="$pg1" -v px0="$px0" -v px1="$px1" \
      -v t0="$t0" -v t1="$t1" -v hz="$CLK_TCK" -v isp="${ppid:+1}" -v x="$xacts" \
      -v c0="$(times_children_s "$WORK/.times0")" -v c1="$(times_children_s "$WORK/.times1")" '
    BEGIN { el=t1-t0; split(h0,a," "); split(h1,b," ")
      busy = (b[2]-a[2]) > 0 ? 100*(1-(b[1]-a[1])/(b[2]-a[2])) : 0
      steal = (b[2]-a[2]) > 0 ? 100*(b[3]-a[3])/(b[2]-a[2]) : 0
      pg = 100*(pg1-pg0)/hz/el; bc = 100*(c1-c0)/el
      pxv = 100*(px1-px0)/hz/el
      if (isp) { px = sprintf("%.1f", pxv)
                 us = (x>0) ? sprintf("%.1f", 1e6*(px1-px0)/hz/x) : "-" }
      else { px="-"; us="-" }
      other = busy*ncpu - pg - pxv - bc; if (other < 0) other = 0
      printf "%s %s %.1f %.1f %.1f %.1f %.1f\n", px, us, pg, bc, busy, other, steal }')
  local pxp pxus pgp bcp busy other steal; read -r pxp pxus pgp bcp busy other steal <<<"$derived"

  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$target" "$test" "$ssl" "$clients" "$threads" "$tps" "$lat" "$std" "$p50" "$p99" "$conn" \
    "$xacts" "$failed" "$pxp" "$pxus" "$pgp" "$bcp" "$busy" "$other" "$PRE_BUSY" "$steal" "$st" >>"$RES"
  log "    tps=$tps lat=${lat}ms p99=${p99}ms proxy_cpu=${pxp}% other_cpu=${other}% status=$st"
  if [[ $st != ok ]]; then tail -5 "$out" | sed 's/^/    | /' >&2; fi
}

# ------------------------------------------------------------ idle test -----
IDLE_RES=$WORK/idle.tsv
printf 'target\trequested\theld_ss\theld_show_pools\trss_before_kb\trss_with_idle_kb\tkb_per_idle_client\tidle_pgbench_status\trss_after_run_kb\tkb_per_idle_client_after_run\n' >"$IDLE_RES"

pgb_pool_clients() {  # port -> cl_active+cl_waiting for database bench (SHOW POOLS)
  local txt
  txt=$(bench_psql "$1" disable pgbouncer -F '|' -P footer=off -c 'SHOW POOLS' 2>&1) || { echo "-"; return 0; }
  awk -F'|' 'NR==1 { for (i=1;i<=NF;i++) c[$i]=i; next }
             $c["database"]=="bench" { s += $c["cl_active"] + $c["cl_waiting"] } END { print s+0 }' <<<"$txt"
}

idle_test() {  # target
  local target=$1 port=${T_PORT[$1]} ppid=${T_PID[$1]} test="idle${IDLE_CLIENTS}_select_c32"
  local out="$WORK/out/${target}__idle_holder.txt" held=0 i rss0 rss1 rss2="-" pools="-" st=ok
  printf '\\sleep 1000 ms\n' >"$WORK/idle.sql"
  sleep "$IDLE_SETTLE"
  rss0=$(tree_rss_kb "$ppid")
  log "idle: opening $IDLE_CLIENTS idle client connections to $target"
  PGPASSWORD=$BENCH_PW PGSSLMODE=disable "$PGBENCH_BIN" -n -h 127.0.0.1 -p "$port" -U bench \
    -c "$IDLE_CLIENTS" -j 2 -T $((DURATION + 120 + IDLE_SETTLE)) -f "$WORK/idle.sql" bench >"$out" 2>&1 </dev/null &
  IDLE_PID=$!
  for ((i = 0; i < 600; i++)); do
    held=$(ss -Htn state established "( sport = :$port )" 2>/dev/null | wc -l)
    ((held >= IDLE_CLIENTS)) && break
    kill -0 "$IDLE_PID" 2>/dev/null || break
    sleep 0.1
  done
  if ((held < IDLE_CLIENTS)); then
    st="only $held held"
    log "idle: only $held of $IDLE_CLIENTS connections established"; tail -3 "$out" >&2 || true
  fi
  sleep $((1 + IDLE_SETTLE))
  held=$(ss -Htn state established "( sport = :$port )" 2>/dev/null | wc -l)
  [[ $target == pgbouncer* ]] && pools=$(pgb_pool_clients "$port")
  rss1=$(tree_rss_kb "$ppid")
  if kill -0 "$IDLE_PID" 2>/dev/null; then
    measure "$target" "$test" 32 2 -- -n -S
    # The third reading: at the end of the -S -c 32 run, the idle clients still held.
    rss2=$(tree_rss_kb "$ppid")
    kill -0 "$IDLE_PID" 2>/dev/null || st="idle pgbench exited early"
  else
    st="idle pgbench exited: $(tail -1 "$out")"
  fi
  stop_pid "$IDLE_PID"; IDLE_PID=""
  grep -q 'pgbench: error' "$out" && st="errors in idle pgbench: $(grep -m1 'pgbench: error' "$out")"
  [[ -n $RAW_DIR ]] && cp "$out" "$RAW_DIR/"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$IDLE_CLIENTS" "$held" "$pools" "$rss0" "$rss1" \
    "$(awk -v a="$rss0" -v b="$rss1" -v n="$IDLE_CLIENTS" 'BEGIN{printf "%.1f", (b-a)/n}')" "$st" "$rss2" \
    "$(awk -v a="$rss0" -v b="$rss2" -v n="$IDLE_CLIENTS" 'BEGIN{ if (b ~ /^[0-9]+$/) printf "%.1f", (b-a)/n; else printf "-" }')" >>"$IDLE_RES"
  log "idle: held=$held show_pools=$pools rss ${rss0}kB -> ${rss1}kB, ${rss2}kB at the run's end ($st)"
}

# ------------------------------------------------------------------ run -----
# Calibration: on a shared VM the same code can run ~20 % slower from one
# invocation to the next without any steal time showing. Single-core SHA-256
# over 64-byte blocks (openssl speed), MB/s, at start and at end.
# Second index, syscall bound: dd of 64-byte blocks /dev/zero -> /dev/null.
calib() {
  local c s
  c=$(openssl speed -seconds 2 -bytes 64 -mr sha256 2>/dev/null | awk -F: '/^\+F:/ { printf "%.0f", $4 / 1e6 }') || c="-"
  s=$(LC_ALL=C dd if=/dev/zero of=/dev/null bs=64 count=2000000 2>&1 \
      | awk '/copied/ { for (i = 1; i <= NF; i++) if ($i == "s,") t = $(i-1); if (t > 0) printf "%.0f", $1 / t / 1e6 }') || s="-"
  echo "sha256 ${c:--} MB/s, dd-64B ${s:--} MB/s"
}
CALIB_START=$(calib)
log "calibration: $CALIB_START"
log "targets: ${T_LIST[*]}"
log "tests:   $TESTS (DURATION=${DURATION}s)"
log "warm-up (5 s, direct, not recorded)"
PGPASSWORD=$BENCH_PW PGSSLMODE=disable "$PGBENCH_BIN" -n -S -c 8 -j 2 -T 5 -h 127.0.0.1 \
  -p "$PG_PORT" -U bench bench >"$WORK/out/warmup.txt" 2>&1 || die "warm-up failed: $(tail -3 "$WORK/out/warmup.txt")"

# fill each proxy's server pool (20) so every target is measured warm
for target in "${T_LIST[@]}"; do
  is_proxy "$target" || continue
  log "warm-up $target (3 s, -S -c 32, not recorded)"
  PGPASSWORD=$BENCH_PW PGSSLMODE=${T_SSL[$target]} "$PGBENCH_BIN" -n -S -c 32 -j 2 -T 3 -h 127.0.0.1 \
    -p "${T_PORT[$target]}" -U bench bench >"$WORK/out/warmup-$target.txt" 2>&1 \
    || die "warm-up of $target failed: $(tail -3 "$WORK/out/warmup-$target.txt")"
done

ROUNDS=${ROUNDS:-1}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer (got '$ROUNDS')"
for round in $(seq 1 "$ROUNDS"); do
  ORDER=("${T_LIST[@]}")
  if (( round % 2 == 0 )); then ORDER=(); for ((i = ${#T_LIST[@]} - 1; i >= 0; i--)); do ORDER+=("${T_LIST[$i]}"); done; fi
  (( ROUNDS > 1 )) && log "round $round of $ROUNDS: ${ORDER[*]}"
for test in $TESTS; do
  for target in "${ORDER[@]}"; do
    case $test in
      select_c1)  measure "$target" "$test" 1 1 -- -n -S ;;
      select_c8)  measure "$target" "$test" 8 2 -- -n -S ;;
      select_c32) measure "$target" "$test" 32 2 -- -n -S ;;
      prepared_c32) measure "$target" "$test" 32 2 -- -n -S -M prepared ;;
      tpcb_c16)
        is_tls "$target" && continue
        # what pgbench does before a TPC-B run, done here so it is not timed
        PGSQL_DB=bench pgsql -c 'VACUUM pgbench_branches' -c 'VACUUM pgbench_tellers' \
          -c 'TRUNCATE pgbench_history' -c 'CHECKPOINT'
        measure "$target" "$test" 16 2 -- -n ;;
      connect_c8) measure "$target" "$test" 8 8 -- -n -C -S ;;
      storm_c4)
        is_tls "$target" || continue
        STORM_PORT=${T_PORT[$target]}
        measure "$target" "$test" 4 1 -- -n -S
        STORM_PORT="" ;;
      idle)
        is_proxy "$target" && ! is_tls "$target" || continue
        idle_test "$target" ;;
      *) die "unknown test $test" ;;
    esac
  done
done
done

# --------------------------------------------------------------- report -----
CALIB_END=$(calib || echo "-")
[[ -n $RESULTS_TSV ]] && { cp "$RES" "$RESULTS_TSV"; cp "$IDLE_RES" "${RESULTS_TSV%.tsv}.idle.tsv"; }

ELAPSED=$(awk -v a="$T_START" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f", b-a}')
echo
echo "## Results ($(date -u '+%Y-%m-%d %H:%M UTC'), DURATION=${DURATION}s per run, scale $SCALE, total ${ELAPSED}s)"
echo
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'), $("$PGBOUNCER_BIN" --version 2>/dev/null | head -1), pgbench $("$PGBENCH_BIN" --version | awk '{print $3}'), $(openssl version | awk '{print $1, $2}')"
echo "host: nproc=$NPROC, CPU '$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)', $(awk '/^MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo), kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
echo "calibration (one core; openssl speed sha256 64-byte blocks = CPU, dd bs=64 /dev/zero->/dev/null = syscalls): start: $CALIB_START; end: $CALIB_END"
echo "targets: ${T_LIST[*]}; PgBouncer pools: $PGB_POOL_MODE, default_pool_size=${PGB_POOL_SIZE:-20}; PG max_connections=200, shared_buffers=$PG_SHARED_BUFFERS, synchronous_commit=$PG_SYNC_COMMIT"
echo
echo "| target | test | clients/threads | TPS | lat avg ms | lat stddev ms | p50 ms | p99 ms | conn ms | failed | proxy CPU % | proxy CPU us/xact | PG CPU % | pgbench CPU % | host busy % | other CPU % | pre busy % | steal % | status |"
echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
awk -F'\t' 'function f0(x) { return (x ~ /^[0-9.]+$/) ? sprintf("%.0f", x) : x }
  NR>1 { printf "| %s | %s | %s/%s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
  $1,$2,$4,$5,f0($6),$7,$8,$9,$10,$11,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22 }' "$RES"
echo
echo "CPU % columns are % of one core (the host has $NPROC); host busy %, pre busy % and steal % (hypervisor) are of the whole host."
echo "other CPU % = host busy x $NPROC - PG - proxy - pgbench: CPU of anything else on the host during the run (kernel work not charged to a process, other processes)."
echo "proxy CPU us/xact = proxy CPU time / transactions. conn ms = pgbench 'average connection time' (-C runs; their latency columns exclude the connect)."
echo
echo "### TPS and mean latency relative to direct (same test, same TLS mode; idle runs against direct select_c32$( (( ROUNDS > 1 )) && echo "; medians of $ROUNDS rounds"))"
echo
# med(a, k, m): the median of a[k, 1..m] (both tables below)
MEDIAN_AWK='function med(a, k, m,   i, j, x, c) { for (i=1;i<=m;i++) c[i]=a[k, i]+0
  for (i=2;i<=m;i++) { x=c[i]; for (j=i-1; j>=1 && c[j]>x; j--) c[j+1]=c[j]; c[j+1]=x }
  return (m % 2) ? c[(m+1)/2] : (c[m/2] + c[m/2+1]) / 2 }'
awk -F'\t' "$MEDIAN_AWK"'
  NR>1 { t=$1; base=t; sub(/-tls$/, "", base); tls=(t ~ /-tls$/) ? "tls" : "plain"
             key=$2 SUBSEP tls
             if ($6 ~ /^[0-9.]+$/ && $7 ~ /^[0-9.]+$/) { if (base=="direct") dn[key]++ ; else tn[t, $2]++
               if (base=="direct") { dl[key, dn[key]]=$6; dlat[key, dn[key]]=$7 } else { tl[t, $2, tn[t, $2]]=$6; tlat[t, $2, tn[t, $2]]=$7 } }
             if (base!="direct" && !((t, $2) in seen)) { seen[t, $2]=1; rows[++n]=t SUBSEP $2 SUBSEP tls } }
  END { print "| target | test | TPS | direct TPS | ratio | latency ms | direct latency ms | latency ratio |"; print "|---|---|---:|---:|---:|---:|---:|---:|"
        for (i=1;i<=n;i++) { split(rows[i], r, SUBSEP); bt=r[2]; sub(/^idle[0-9]+_/, "", bt); dk=bt SUBSEP r[3]
          dv=(dn[dk] > 0) ? med(dl, dk, dn[dk]) : ""; tk=r[1] SUBSEP r[2]; tv=(tn[tk] > 0) ? med(tl, tk, tn[tk]) : ""
          dm=(dn[dk] > 0) ? med(dlat, dk, dn[dk]) : ""; tm=(tn[tk] > 0) ? med(tlat, tk, tn[tk]) : ""
          printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r[1], r[2], (tv==""?"-":sprintf("%.0f",tv)), (dv==""?"-":sprintf("%.0f",dv)),
                 (dv==""||dv==0||tv=="" ? "-" : sprintf("%.2f", tv/dv)), (tm==""?"-":sprintf("%.3f",tm)), (dm==""?"-":sprintf("%.3f",dm)),
                 (dm==""||dm==0||tm=="" ? "-" : sprintf("%.2f", tm/dm)) } }' "$RES"
if (( ROUNDS > 1 )); then
  echo
  echo "### $GATEWAY_NAME / PgBouncer TPS and mean latency, round by round (ROUNDS=$ROUNDS, target order reversed on even rounds)"
  echo
  awk -F'\t' -v gw="$GATEWAY_NAME" "$MEDIAN_AWK"'
    NR>1 { t=$1; tls=""; if (t ~ /-tls$/) { tls="-tls"; sub(/-tls$/, "", t) }
      if (t != gw && t != "pgbouncer") next
      k=$2 tls; if (!(k in seen)) { seen[k]=1; keys[++nk]=k }
      n[t, k]++; v[t, k, n[t, k]]=$6; l[t, k, n[t, k]]=$7 }
    END { print "| test | ratio per round | median ratio | median " gw " TPS | median PgBouncer TPS | median latency ratio (" gw " / PgBouncer) |"
      print "|---|---|---:|---:|---:|---:|"
      for (i=1;i<=nk;i++) { k=keys[i]; m=(n[gw,k] < n["pgbouncer",k]) ? n[gw,k] : n["pgbouncer",k]; p=0; list=""
        # a round where either target has no TPS (a failed run) has no ratio
        for (j=1;j<=m;j++) { x=v[gw,k,j]; y=v["pgbouncer",k,j]; if (x !~ /^[0-9.]+$/ || y !~ /^[0-9.]+$/ || y == 0) continue
          p++; r[k,p]=x/y; g[k,p]=x; b[k,p]=y; list=list (p>1?", ":"") sprintf("%.2f", r[k,p])
          lr[k,p]=(l[gw,k,j] ~ /^[0-9.]+$/ && l["pgbouncer",k,j] ~ /^[0-9.]+$/ && l["pgbouncer",k,j] > 0) ? l[gw,k,j]/l["pgbouncer",k,j] : 0 }
        if (p == 0) continue
        printf "| %s | %s | **%.2f** | %.0f | %.0f | %.2f |\n", k, list, med(r, k, p), med(g, k, p), med(b, k, p), med(lr, k, p) } }' "$RES"
fi
if [[ $(wc -l <"$IDLE_RES") -gt 1 ]]; then
  echo
  echo "### Idle clients"
  echo
  echo "| target | idle clients requested | held (ss, server side) | held (SHOW POOLS cl_active+cl_waiting) | proxy RSS before kB | proxy RSS with idle kB | kB per idle client | proxy RSS at the run's end kB | kB per idle client at the run's end | status |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
  awk -F'\t' 'NR>1 { printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1,$2,$3,$4,$5,$6,$7,$9,$10,$8 }' "$IDLE_RES"
  echo
  echo "held (ss) counts established sockets on the proxy port, sampled just before the active run, so it includes only the idle clients."
  echo "RSS with idle is read IDLE_SETTLE + 1 s after the last idle client is in, before the -S -c 32 run; at the run's end, right after it, the idle clients still held."
fi
