/**
 * What the admin console (and the metrics collector) may see of, and do to, the gateway. The
 * console never reaches into sessions or pools itself: it asks a {@link GatewayView}.
 *
 * Row types carry PgBouncer's column names (doc/usage.md, src/admin.c) so that SHOW output is
 * what existing tools parse. Each field's TSDoc says what it means; where the current pool mode
 * has nothing to report, the implementation documents the value it gives (0, '' or null).
 *
 * Implementations: src/gateway/view.ts for the session-mode gateway (each live session is one
 * active client linked to one active server). A pooled implementation fills the same rows from
 * its PoolManager (idle/used/tested servers, waiting clients, maxwait).
 */

/** Microseconds, as PgBouncer's usec_t columns. */
export type Micros = number;

/** SHOW CLIENTS / SHOW SERVERS row (PgBouncer's socket_row, SKF_STD). */
export interface SocketRow {
  /** 'C' for a client, 'S' for a server. */
  type: 'C' | 'S';
  /** Client: the login role. Server: the role gatehouse logged in as upstream. */
  user: string;
  /** The database name the client asked for (the `databases` entry, or the console's name). */
  database: string;
  replication: 'none' | 'logical' | 'physical';
  /**
   * Client: active | waiting | active_cancel_req | waiting_cancel_req (idle: active without a link).
   * Server: active | idle | used | tested | new | active_cancel | being_canceled.
   */
  state: string;
  /** Remote address; `unix` for a Unix-socket peer, as PgBouncer prints it. */
  addr: string;
  port: number;
  local_addr: string;
  local_port: number;
  /** Epoch milliseconds. */
  connect_time: number;
  /** Epoch milliseconds of the last request (client) or of the link (server). */
  request_time: number;
  /** Current waiting time, whole seconds and the microsecond part. */
  wait: number;
  wait_us: number;
  /** Server: 1 once RECONNECT/RELOAD asked for it to be closed when released. */
  close_needed: number;
  /** Stable identifier of this connection object (PgBouncer prints a pointer). */
  ptr: string;
  /** `ptr` of the connection this one is linked to, or ''. */
  link: string;
  /** Server: the backend pid from BackendKeyData. Client: 0. */
  remote_pid: number;
  /** TLS protocol and cipher, or '' without TLS. */
  tls: string;
  application_name: string;
  prepared_statements: number;
  /** The id KILL_CLIENT takes (clients); a unique id (servers). */
  id: number;
}

/** SHOW POOLS row: one pool per (database, user). */
export interface PoolRow {
  database: string;
  user: string;
  cl_active: number;
  cl_waiting: number;
  cl_active_cancel_req: number;
  cl_waiting_cancel_req: number;
  sv_active: number;
  sv_active_cancel: number;
  sv_being_canceled: number;
  sv_idle: number;
  sv_used: number;
  sv_tested: number;
  sv_login: number;
  /** Oldest waiting client's wait: whole seconds and the microsecond part. */
  maxwait: number;
  maxwait_us: number;
  pool_mode: 'session' | 'transaction' | 'statement';
  /** Only for multi-host entries in PgBouncer; gatehouse entries have one host: null. */
  load_balance_hosts: string | null;
}

/** Counters since start for one database (SHOW STATS_TOTALS; SHOW STATS prefixes them with total_). */
export interface StatsTotals {
  server_assignment_count: number;
  xact_count: number;
  query_count: number;
  /** Bytes received from clients. */
  bytes_received: number;
  /** Bytes sent to clients. */
  bytes_sent: number;
  xact_time: Micros;
  query_time: Micros;
  wait_time: Micros;
  client_parse_count: number;
  server_parse_count: number;
  bind_count: number;
  client_connect_count: number;
}

/** SHOW STATS row: totals since start and per-second averages over the last stats period. */
export interface StatsRow {
  database: string;
  totals: StatsTotals;
  /** Rates per second (counts, bytes) and mean durations (times), as PgBouncer's calc_average(). */
  averages: StatsTotals;
}

/** SHOW DATABASES row. Numbers gatehouse does not enforce in the current mode are 0. */
export interface DatabaseRow {
  name: string;
  host: string | null;
  port: number;
  database: string;
  force_user: string | null;
  pool_size: number;
  min_pool_size: number;
  reserve_pool_size: number;
  server_lifetime: number;
  pool_mode: string | null;
  load_balance_hosts: string | null;
  max_connections: number;
  current_connections: number;
  max_client_connections: number;
  current_client_connections: number;
  paused: number;
  disabled: number;
}

/** SHOW USERS row. */
export interface UserRow {
  name: string;
  /** '' when the user has no override (PgBouncer prints an empty string). */
  pool_size: string;
  reserve_pool_size: string;
  pool_mode: string | null;
  max_user_connections: number;
  current_connections: number;
  max_user_client_connections: number;
  current_client_connections: number;
}

/** SHOW LISTS row. */
export interface ListRow {
  list: string;
  items: number;
}

/** SHOW CONFIG row. Secret values are shown as `********`. */
export interface ConfigRow {
  key: string;
  value: string;
  default: string;
  changeable: 'yes' | 'no';
}

/** Duration histogram counts (seconds buckets, not cumulative; the last slot is +Inf). */
export interface DurationHistogram {
  buckets: readonly number[];
  counts: readonly number[];
  sum: number;
  count: number;
}

/** Per-database duration histograms, for metrics. */
export interface DurationRow {
  database: string;
  query: DurationHistogram;
  xact: DurationHistogram;
  wait: DurationHistogram;
}

/** A refused console command: sent as ERROR with this text and SQLSTATE (PgBouncer's admin_error). */
/** SHOW BANS row (docs/guard.md): a banned address, or a role locked by lock_role_after as `role:<name>`. */
export interface BanRow {
  source: string;
  /** What led to the ban: `admin`, or the kind and message of the last failure. */
  reason: string;
  /** Failures counted when the ban was made. */
  failures: number;
  /** Epoch milliseconds. */
  banned_until: number;
}

/** The guard as the console and the metrics see it (src/net/guard/guard.ts implements it). */
export interface GuardControl {
  bans(): BanRow[];
  /** BAN: `source` is an address or `role:<name>`; throws an Error naming the problem otherwise. */
  ban(source: string, durationMs?: number): BanRow;
  /** UNBAN: false when the source was not banned. */
  unban(source: string): boolean;
  /** Unauthenticated connections in progress (the handshake concurrency gauge). */
  readonly handshakesInProgress: number;
}

export class ConsoleError extends Error {
  constructor(message: string, readonly sqlstate = '08P01') {
    super(message);
    this.name = 'ConsoleError';
  }
}

/**
 * The gateway as the console sees it. Control methods throw {@link ConsoleError} with PgBouncer's
 * message when they refuse; a database argument is the name a client connects to.
 */
export interface GatewayView {
  clients(): SocketRow[];
  servers(): SocketRow[];
  pools(): PoolRow[];
  stats(): StatsRow[];
  databases(): DatabaseRow[];
  users(): UserRow[];
  lists(): ListRow[];
  config(): ConfigRow[];
  durations(): DurationRow[];
  /** Whether a database name is known (configured, or served by the "*" entry). */
  hasDatabase(db: string): boolean;
  /** Stops handing out servers for `db` (all when omitted); resolves once no server of it is linked. */
  pause(db?: string): Promise<void>;
  resume(db?: string): void;
  /** Marks servers to be closed when released (all databases when omitted). */
  reconnect(db?: string): void;
  /** Ends every client and server of `db` (all when omitted) and pauses it. */
  kill(db?: string): void;
  /** Ends one client; throws ConsoleError('client not found'). */
  killClient(id: number): void;
  /** Resolves once no server of `db` (or any) is marked close_needed. */
  waitClose(db?: string): Promise<void>;
  /** Re-reads config and files; throws ConsoleError('RELOAD failed…', 'F0000') when that fails. */
  reload(): void;
  /** Stops the gateway: 'immediate' ends everything now, the others wait as PgBouncer's modes do. */
  shutdown(mode: 'immediate' | 'wait_for_servers' | 'wait_for_clients'): void;
  /** The guard at the door: SHOW BANS, BAN, UNBAN and its gauges. */
  guard(): GuardControl;
}
