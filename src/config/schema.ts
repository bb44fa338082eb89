/**
 * The configuration schema: the single source of truth for every key's type, default, whether a
 * reload can change it (`reloadable`) and whether it is a secret (`secret`, never logged or shown).
 * Each key is documented here; docs/configuration.md is generated from these descriptions
 * (`gatehouse config docs`) and a test keeps the two in step.
 */
import { z } from 'zod';
import { parseCidr } from '../net/guard/cidr.js';

import { duration, key, type KeyMeta } from './keys.js';
import { auditSection } from './audit-schema.js';

export { duration, type KeyMeta };

const port = z.number().int().min(1).max(65535);

/** A list of IPv4/IPv6 addresses and CIDR blocks (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`). */
const cidrList = z.array(z.string()).superRefine((list, ctx) => {
  for (const [i, e] of list.entries()) {
    if (!parseCidr(e)) ctx.addIssue({ code: 'custom', path: [i], message: `"${e}" is not an IP address or CIDR block (such as 10.0.0.0/8 or 2001:db8::/32)` });
  }
});
const sslmode = z.enum(['disable', 'prefer', 'require', 'verify-ca', 'verify-full']);

const listen = z.strictObject({
  addresses: key(z.array(z.string().min(1)).min(1).default(['127.0.0.1']), {
    reloadable: false,
    description: 'Addresses to listen on for TCP clients. `*` means all IPv4 and IPv6 addresses. Default: 127.0.0.1 only.',
  }),
  port: key(port.default(6432), { reloadable: false, description: 'TCP port (and the Unix socket name `.s.PGSQL.<port>`).' }),
  unix_socket_dir: key(z.string().optional(), {
    reloadable: false,
    description: 'Directory for the Unix socket `.s.PGSQL.<port>`. Connections on it are matched by `local` lines. Off when unset.',
  }),
  unix_socket_mode: key(z.string().regex(/^0?[0-7]{3}$/).default('0777'), {
    reloadable: false,
    description: 'Permissions of the Unix socket file, as octal (PostgreSQL\'s unix_socket_permissions).',
  }),
  proxy_protocol: key(z.enum(['off', 'v1', 'v2']).default('off'), {
    reloadable: false,
    description: 'Expect a PROXY protocol header (HAProxy\'s v1 text or v2 binary) from peers in `proxy_trusted`; its source address is then the client\'s address for hba, bans and logs. A trusted peer must send one; from any other peer a PROXY header is a protocol violation.',
  }),
  proxy_trusted: key(cidrList.default([]), {
    reloadable: true,
    description: 'Addresses and CIDR blocks of the load balancers allowed to send a PROXY header. Required when `proxy_protocol` is on.',
  }),
}).superRefine((l, ctx) => {
  if (l.proxy_protocol !== 'off' && l.proxy_trusted.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['proxy_trusted'], message: `required when proxy_protocol is ${l.proxy_protocol}: list the load balancers that send the header` });
  }
});

const tls = z.strictObject({
  cert: key(z.string(), { reloadable: true, description: 'Server certificate chain (PEM).' }),
  key: key(z.string(), { reloadable: true, description: 'Server private key (PEM). Keep it mode 0600.' }),
  client_ca: key(z.string().optional(), {
    reloadable: true,
    description: 'CA bundle (PEM) for client certificates. When set, clients are asked for a certificate, which `cert` lines and `clientcert=` options check.',
  }),
  min_version: key(z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'), {
    reloadable: true,
    description: 'Lowest TLS version accepted from clients (ssl_min_protocol_version).',
  }),
  ciphers: key(z.string().optional(), { reloadable: true, description: 'OpenSSL cipher list for TLS 1.2 (ssl_ciphers). Node\'s default when unset.' }),
});

const authQuery = z.strictObject({
  function: key(z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z_][A-Za-z0-9_$]*$/, 'must be schema-qualified, such as gatehouse.get_auth'), {
    reloadable: true,
    description: 'Schema-qualified SECURITY DEFINER function returning (rolname, rolpassword, rolvaliduntil, rolcanlogin) for a role name. See docs/auth.md for its definition.',
  }),
  user: key(z.string(), { reloadable: true, description: 'Role that gatehouse logs in as to call the function.' }),
  password: key(z.string().optional(), { reloadable: true, secret: true, description: 'Password of that role, if its hba line needs one.' }),
  database: key(z.string().default('postgres'), { reloadable: true, description: 'Database in which the function lives.' }),
  upstream: key(z.string().optional(), { reloadable: true, description: 'Name of the `databases` entry whose server is asked. Default: the "*" entry, else the client\'s entry.' }),
});

const auth = z.strictObject({
  users: key(z.string().optional(), {
    reloadable: true,
    description: 'PgBouncer-format auth file: `"user" "secret"` lines, where the secret is a SCRAM-SHA-256 verifier, an md5 hash or plaintext.',
  }),
  query: authQuery.optional(),
  password_encryption: key(z.enum(['scram-sha-256', 'md5']).default('scram-sha-256'), {
    reloadable: true,
    description: 'Which exchange an unknown user gets on an `md5` line (PostgreSQL\'s password_encryption decides the mock the same way).',
  }),
});

/** A pool key: `full` carries the default and the meta (for `pool`), `bare` neither (for overrides). */
function field<T extends z.ZodType>(schema: T, how: 'default' | 'prefault', dflt: unknown, meta: KeyMeta): { full: T; bare: T } {
  const full = (how === 'default' ? (schema as unknown as z.ZodAny).default(dflt) : (schema as unknown as z.ZodAny).prefault(dflt)) as unknown as T;
  return { full: key(full, meta), bare: schema };
}

/**
 * Pooling keys, with PgBouncer's names, meanings and defaults (pgbouncer.ini [pgbouncer] section).
 * `pool` holds the defaults; `databases.<name>.pool` and `users.<name>.pool` override any of them
 * (a user's setting wins over its database's, as in PgBouncer). Durations of 0 turn a timeout off.
 */
const poolFields = {
  mode: field(z.enum(['session', 'transaction', 'statement']), 'default', 'session', {
    reloadable: true,
    description: 'pool_mode. `session`: the client keeps its own server connection until it disconnects; a server it leaves idle is reset (`server_reset_query`) and given to the next client with the same database, role and startup parameters (docs/pooling.md). `transaction`: a server connection is held only for the length of a transaction. `statement`: only for one statement; transaction blocks are refused. Replication connections always use session mode.',
  }),
  default_pool_size: field(z.number().int().min(1), 'default', 20, {
    reloadable: true, description: 'Server connections per (database, user) pool in transaction and statement mode.',
  }),
  min_pool_size: field(z.number().int().min(0), 'default', 0, {
    reloadable: true, description: 'Keep at least this many server connections open in each pool once it has credentials (after its first client logged in).',
  }),
  reserve_pool_size: field(z.number().int().min(0), 'default', 0, {
    reloadable: true, description: 'Extra server connections a pool may open when a client has waited longer than `reserve_pool_timeout`.',
  }),
  reserve_pool_timeout: field(duration, 'prefault', 5, {
    reloadable: true, description: 'How long a client waits before the reserve pool is used.',
  }),
  max_client_conn: field(z.number().int().min(1), 'default', 100, {
    reloadable: true, description: 'Authenticated clients gatehouse serves at once (all modes). Over it a client gets PgBouncer\'s `08P01 no more connections allowed (max_client_conn)`. Global only.',
  }),
  max_db_connections: field(z.number().int().min(0), 'default', 0, {
    reloadable: true, description: 'Server connections per database, summed over its pools (0: no limit). Pooled modes only.',
  }),
  max_user_connections: field(z.number().int().min(0), 'default', 0, {
    reloadable: true, description: 'Server connections per user, summed over its pools (0: no limit). Pooled modes only.',
  }),
  server_idle_timeout: field(duration, 'prefault', 600, {
    reloadable: true, description: 'An idle server connection unused for this long is closed (0: never).',
  }),
  server_lifetime: field(duration, 'prefault', 3600, {
    reloadable: true, description: 'A server connection older than this is closed when it is next released (0: never).',
  }),
  server_connect_timeout: field(duration, 'prefault', 15, {
    reloadable: true, description: 'Connect and login timeout for pooled server connections (session mode uses `databases.<name>.connect_timeout`), and how long a session-mode server may take to run `server_reset_query` before it is reused.',
  }),
  server_login_retry: field(duration, 'prefault', 15, {
    reloadable: true, description: 'After a failed server login, clients that need a new server connection get the failure at once for this long instead of a new attempt.',
  }),
  query_wait_timeout: field(duration, 'prefault', 120, {
    reloadable: true, description: 'How long a client may wait for a server connection before it gets PgBouncer\'s `08P01 query_wait_timeout` (0: forever).',
  }),
  client_idle_timeout: field(duration, 'prefault', 0, {
    reloadable: true, description: 'A pooled client idle (between transactions) for this long is disconnected with `08P01 client_idle_timeout` (0: never).',
  }),
  idle_transaction_timeout: field(duration, 'prefault', 0, {
    reloadable: true, description: 'A pooled client idle inside a transaction for this long is disconnected with `08P01 idle transaction timeout` and its server connection closed (0: never).',
  }),
  query_timeout: field(duration, 'prefault', 0, {
    reloadable: true, description: 'A query running longer than this is cancelled and its client disconnected with `08P01 query timeout` (0: never). Pooled modes only.',
  }),
  server_reset_query: field(z.string(), 'default', 'DISCARD ALL', {
    reloadable: true, description: 'Sent when a server connection is returned after a session (session mode: before it is reused). In transaction and statement mode only with `server_reset_query_always`. Empty: none.',
  }),
  server_reset_query_always: field(z.boolean(), 'default', false, {
    reloadable: true, description: 'Also run `server_reset_query` after every transaction in transaction and statement mode.',
  }),
  server_check_query: field(z.string(), 'default', 'select 1', {
    reloadable: true, description: 'Sent to a server connection that has been idle longer than `server_check_delay` before a client gets it. Empty: no check.',
  }),
  server_check_delay: field(duration, 'prefault', 30, {
    reloadable: true, description: 'Idle time after which a server connection is checked with `server_check_query` before reuse.',
  }),
  track_extra_parameters: field(z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]*$/, 'must be a parameter name')), 'default', [], {
    reloadable: true, description: 'Parameters tracked and re-applied besides application_name, DateStyle, TimeZone, IntervalStyle, standard_conforming_strings, search_path and client_encoding.',
  }),
  max_prepared_statements: field(z.number().int().min(0), 'default', 200, {
    reloadable: true, description: 'Protocol-level prepared statements kept per server connection in transaction and statement mode (an LRU; evicted ones are closed). 0 forwards Parse/Bind/Describe/Close untouched.',
  }),
  on_session_state: field(z.enum(['pin', 'warn', 'reject']), 'default', 'pin', {
    reloadable: true, description: 'What a transaction-mode client that creates session state (plain SET/RESET, session advisory locks, SQL PREPARE, LISTEN, temp tables without ON COMMIT DROP, WITH HOLD cursors, LOAD) gets: `pin` keeps its server connection until the state is gone, `warn` logs and counts only, `reject` refuses the statement with 0A000.',
  }),
};

type Fields = typeof poolFields;
const poolSection = z.strictObject(Object.fromEntries(Object.entries(poolFields).map(([k, f]) => [k, f.full])) as { [K in keyof Fields]: Fields[K]['full'] });
/** The same keys with no defaults (only what is written overrides); max_client_conn is global only. */
const { max_client_conn: _global, ...overridable } = poolFields;
const poolOverride = z.strictObject(Object.fromEntries(Object.entries(overridable).map(([k, f]) => [k, f.bare.optional()])) as
  { [K in keyof typeof overridable]: z.ZodOptional<(typeof overridable)[K]['bare']> });

const userEntry = z.strictObject({
  pool: key(poolOverride.optional(), { reloadable: true, description: 'Overrides of `pool` keys for this user (wins over its database\'s).' }),
});

const database = z.strictObject({
  host: key(z.string(), { reloadable: true, description: 'Upstream host name, IP address or Unix socket directory (starting with /).' }),
  port: key(port.default(5432), { reloadable: true, description: 'Upstream port.' }),
  dbname: key(z.string().optional(), { reloadable: true, description: 'Upstream database name. Default: the client\'s.' }),
  user: key(z.string().optional(), { reloadable: true, description: 'Fixed upstream user for every client of this entry. Default: the client\'s own user.' }),
  password: key(z.string().optional(), { reloadable: true, secret: true, description: 'Password of the fixed upstream user.' }),
  sslmode: key(sslmode.default('prefer'), { reloadable: true, description: 'Upstream TLS, as libpq\'s sslmode. verify-full checks the chain and the host name.' }),
  sslrootcert: key(z.string().optional(), { reloadable: true, description: 'CA bundle (PEM) for verify-ca / verify-full. Default: the system store.' }),
  connect_timeout: key(duration.prefault(10), { reloadable: true, description: 'Upstream connect and login timeout.' }),
  pool: key(poolOverride.optional(), { reloadable: true, description: 'Overrides of `pool` keys for clients of this entry.' }),
});

const guard = z.strictObject({
  allow: key(cidrList.default([]), {
    reloadable: true,
    description: 'When not empty, only these addresses and CIDR blocks may connect; others are closed at accept time with no byte sent, like a firewall DROP.',
  }),
  deny: key(cidrList.default([]), {
    reloadable: true,
    description: 'Addresses and CIDR blocks closed at accept time with no byte sent (checked before `allow`).',
  }),
  max_handshakes_per_source: key(z.number().int().min(1).default(64), {
    reloadable: true,
    description: 'Concurrent unauthenticated connections (TLS, startup, authentication) one source address may hold. Over it, a new connection gets 53300 and is closed, before any byte is read.',
  }),
  max_handshakes: key(z.number().int().min(1).default(1024), {
    reloadable: true,
    description: 'Concurrent unauthenticated connections over all sources. Over it, a new connection gets 53300 "sorry, too many clients already".',
  }),
  max_connections_per_source: key(z.number().int().min(0).default(0), {
    reloadable: true,
    description: 'Concurrent connections (handshakes and sessions) one source address may hold; 0 means no limit. Over it: 53300.',
  }),
  max_connections_per_second: key(z.number().min(0).default(0), {
    reloadable: true,
    description: 'New connections per second one source address may open (a token bucket); 0 means no limit. Over it: 53300. Shared across instances with a Redis `store`.',
  }),
  connection_burst: key(z.number().int().min(0).default(0), {
    reloadable: true,
    description: 'Size of that token bucket: how many connections a source may open at once after a quiet spell. 0 means the per-second rate.',
  }),
  maxretry: key(z.number().int().min(0).default(5), {
    reloadable: true,
    description: 'Failures from one source within `findtime` that ban it (fail2ban\'s maxretry); 0 turns bans off.',
  }),
  findtime: key(duration.prefault('10min'), { reloadable: true, description: 'The window in which failures are counted (fail2ban\'s findtime).' }),
  bantime: key(duration.prefault('10min'), { reloadable: true, description: 'How long a first ban lasts, and the default for the admin console\'s BAN (fail2ban\'s bantime).' }),
  bantime_increment: key(z.boolean().default(true), {
    reloadable: true,
    description: 'Repeat offenders are banned longer: bantime × bantime_factor^(earlier bans), up to bantime_max (fail2ban\'s bantime.increment). Earlier bans are remembered for a day after the last one ends.',
  }),
  bantime_factor: key(z.number().min(1).default(2), { reloadable: true, description: 'Multiplier per earlier ban when bantime_increment is on.' }),
  bantime_max: key(duration.prefault('1d'), { reloadable: true, description: 'The longest ban that bantime_increment can reach (fail2ban\'s bantime.maxtime).' }),
  count_auth_failures: key(z.boolean().default(true), {
    reloadable: true,
    description: 'Count failed authentications (28P01, failed cert/ident checks, SCRAM channel-binding failures). An unknown role counts as a wrong password.',
  }),
  count_protocol_violations: key(z.boolean().default(true), {
    reloadable: true,
    description: 'Count protocol violations before authentication (08P01, a bad startup packet, a failed TLS handshake, a PROXY header from an untrusted peer).',
  }),
  count_hba_rejections: key(z.boolean().default(true), { reloadable: true, description: 'Count connections that pg_hba.conf refused (28000 no entry / reject line).' }),
  ignore: key(cidrList.default(['127.0.0.1', '::1']), {
    reloadable: true,
    description: 'Addresses and CIDR blocks that are never banned (fail2ban\'s ignoreip). Caps still apply to them.',
  }),
  lock_role_after: key(z.number().int().min(0).default(0), {
    reloadable: true,
    description: 'Lock a role name for `bantime` after this many failed authentications for it within `findtime`, from any source; 0 (the default) is off. It stops slow distributed guessing but lets anyone lock a real user out: see docs/guard.md.',
  }),
  state_file: key(z.string().optional(), {
    reloadable: false,
    description: 'JSON file where bans and repeat-offence counts are kept across restarts (written atomically). Unset: bans live in memory (and in the Redis store, if any).',
  }),
  store: key(z.string().regex(/^(?:memory|rediss?:\/\/.*)$/, 'must be "memory" or a redis:// or rediss:// URL').default('memory'), {
    reloadable: false,
    secret: true,
    description: 'Where failure counts, bans and rate counters are shared: `memory` (this process only) or a `redis://[user:password@]host:port[/db]` URL shared by several gatehouse instances. Secret because the URL may hold a password.',
  }),
});

const roleList = z.array(z.string().min(1)).default([]);
const admin = z.strictObject({
  users: key(roleList, {
    reloadable: true,
    description: 'Roles with full access to the admin console (the virtual databases `gatehouse` and `pgbouncer`), as PgBouncer\'s admin_users. They still pass pg_hba.conf and authentication. Empty: the console is closed.',
  }),
  stats_users: key(roleList, {
    reloadable: true,
    description: 'Roles that may log in to the admin console and run SHOW commands only, as PgBouncer\'s stats_users.',
  }),
});

const hostPort = z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):\d{1,5}$/, 'must be host:port, such as 127.0.0.1:9127 or [::1]:9127');
const metrics = z.strictObject({
  listen: key(hostPort.optional(), {
    reloadable: false,
    description: 'Address (host:port) where Prometheus metrics are served at /metrics over plain HTTP. Off when unset. Keep it on a loopback or management address.',
  }),
});

const log = z.strictObject({
  level: key(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'), { reloadable: true, description: 'Log level (pino).' }),
});

/** pgAudit's class names, as `pgaudit.log` spells them. */
const auditClassName = z.enum(['read', 'write', 'function', 'role', 'ddl', 'misc', 'misc_set']);
const nameList = z.array(z.string().min(1)).min(1, 'list at least one name, or leave the key out to match every one');

/**
 * One least-privilege rule (src/audit/policy.ts). Every rule whose `users` and `databases` match a
 * session applies to it, and a statement is refused when any of them refuses it: rules only take
 * away, so their order never opens a hole.
 */
const policyRule = z.strictObject({
  users: key(nameList.optional(), {
    reloadable: true,
    description: 'Roles (the client\'s user name) the rule applies to. Left out: every role.',
  }),
  databases: key(nameList.optional(), {
    reloadable: true,
    description: 'Databases (the name the client asked for) the rule applies to. Left out: every database.',
  }),
  read_only: key(z.boolean().default(false), {
    reloadable: true,
    description: 'Refuse pgAudit\'s WRITE, DDL and ROLE classes, and statements that change data under another class: a data-modifying CTE (`WITH d AS (DELETE …) SELECT`), EXPLAIN ANALYZE of INSERT/UPDATE/DELETE/MERGE, PREPARE of such a statement, DO blocks and CALL (whose bodies the door cannot see).',
  }),
  deny_classes: key(z.array(auditClassName).default([]), {
    reloadable: true,
    description: 'Refuse statements of these pgAudit classes (read, write, function, role, ddl, misc, misc_set).',
  }),
  deny_functions: key(z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/, 'must be a function name, schema.name, or `dangerous`')).default([]), {
    reloadable: true,
    description: 'Refuse statements that call any of these functions anywhere (a SELECT list, a CTE, a subquery). A bare name matches it in every schema; `schema.name` matches that call and the bare name. `dangerous` stands for the file, network and process functions listed in docs/audit-log.md (pg_read_file, pg_ls_dir, lo_import, lo_export, dblink, pg_terminate_backend, …).',
  }),
  deny_copy_program: key(z.boolean().default(false), {
    reloadable: true,
    description: 'Refuse COPY … TO/FROM PROGRAM, which runs a shell command on the database server.',
  }),
  allow_only: key(z.array(z.string().regex(/^[A-Za-z]+( [A-Za-z]+)*$/, 'must be a command tag such as SELECT or CREATE TABLE')).min(1).optional(), {
    reloadable: true,
    description: 'Allow only these command tags (pgAudit\'s COMMAND: `SELECT`, `INSERT`, `SHOW`, `SET`, `CREATE TABLE`, …); transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, …) is always allowed. Left out: no allow-list.',
  }),
}).superRefine((r, ctx) => {
  if (!r.read_only && r.deny_classes.length === 0 && r.deny_functions.length === 0 && !r.deny_copy_program && !r.allow_only) {
    ctx.addIssue({ code: 'custom', message: 'the rule refuses nothing: set read_only, deny_classes, deny_functions, deny_copy_program or allow_only' });
  }
});

/** The whole file. Unknown keys anywhere are errors. */
export const configSchema = z.strictObject({
  listen: listen.prefault({}),
  tls: tls.optional(),
  hba: key(z.string(), { reloadable: true, description: 'Path to the pg_hba.conf that decides who gets in. Required.' }),
  ident: key(z.string().optional(), { reloadable: true, description: 'Path to a pg_ident.conf for `map=` options.' }),
  auth: auth.default({ password_encryption: 'scram-sha-256' }),
  authentication_timeout: key(duration.prefault(60), {
    reloadable: true,
    description: 'The whole handshake (TLS, startup, authentication) must finish in this time, as PostgreSQL\'s authentication_timeout.',
  }),
  shutdown_timeout: key(duration.prefault(30), { reloadable: true, description: 'On SIGTERM, how long to wait for sessions to end before closing them.' }),
  release_memory_after: key(duration.prefault(10), {
    reloadable: true,
    description: 'After a burst of connections (and after startup, which grows V8\'s young generation to its largest before any client arrives), once none has arrived for this long and the main thread is idle, gatehouse gives memory back: one full garbage collection that also shrinks the young generation the burst grew (V8\'s memory-pressure collection, through the native addon where an engine has loaded it; otherwise a plain one, after which V8 shrinks it some seconds later) and glibc\'s malloc_trim (the burst\'s freed buffers, through the same addon). A large burst, one that left RSS 8 MB or more above what the last release left, needs only 250 ms of quiet (or this, if shorter): 1,000 logins grow RSS by about 20 MB. Once per burst; the main thread stops for the collection (25 to 90 ms for a 25 MB heap), the native relay\'s thread does not. Logged as "memory released after a burst" (or "after startup"), with `large`. 0: off. docs/pooling.md, "Memory per idle client".',
  }),
  relay_engine: key(z.enum(['auto', 'native', 'node']).default('auto'), {
    reloadable: true,
    description: 'What relays a session-mode session once it is logged in. `auto`: the native relay (native/relay.c, built by `npm install` when a C compiler is there; Linux) carries plaintext sessions, at a fraction of the CPU per transaction, including recorded ones (`audit.log`: it mirrors their statements to the record writer, docs/audit-log.md); TLS sessions (unless `tls_engine: native`), sessions under a `policy` rule, and every session when the native relay is not built, use the JavaScript relay. `native`: the same, but `gatehouse serve` refuses to start when the native relay is not built. `node`: always the JavaScript relay. The start-up log says whether the native relay is available. After a reload, new sessions use the new value.',
  }),
  transaction_engine: key(z.enum(['auto', 'native', 'node']).default('auto'), {
    reloadable: true,
    description: 'What carries transaction-mode clients between logins. `auto` (the default): `native` where the native relay is built, else `node`. `node`: the JavaScript pool (src/pool/client.ts). `native`: the native relay\'s thread (native/txplane.h; Linux, built by `npm install`) links, relays and releases servers itself for simple-protocol statements (one SELECT, INSERT, UPDATE, DELETE, VALUES, TABLE, SHOW or transaction-control statement per Query) and for Bind/Describe/Execute/Sync batches of statements the client prepared earlier (renamed to the server-side names; with `max_prepared_statements: 0` none), with no JavaScript per transaction (a recorded client\'s statements are mirrored to the audit writer, docs/audit-log.md); anything else (Parse, Close, COPY, SET and other session state, several statements in one Query, a client under a policy rule) goes back to the JavaScript pool for as long as it needs, exactly as with `node`. Plaintext server connections only, and clients in plaintext or on the native TLS engine (`tls_engine: auto` or `native`; with Node\'s TLS a client stays on the JavaScript pool); not in statement mode or with `server_reset_query_always`. It applies to pools created after it is set; `gatehouse serve` refuses to start with `native` when the native relay is not built. docs/pooling.md says what the plane does and does not do.',
  }),
  tls_engine: key(z.enum(['auto', 'native', 'node']).default('auto'), {
    reloadable: true,
    description: 'What speaks TLS to clients. `auto` (the default): `native` where the native relay is built (and can load the certificate and key), else `node`; the start-up log says which. `native`: the native relay\'s thread (native/tls.c, OpenSSL 3 as exported by Node; Linux, built by `npm install`) runs the handshake and the encryption, the startup and authentication reach gatehouse through a socketpair, and a session-mode TLS session is then relayed natively like a plaintext one, at a fraction of the CPU per transaction (bench/README.md); a transaction-mode TLS client keeps the socketpair, which the native transaction plane carries like a plaintext client. Same certificates, client CA, `min_version`, `ciphers`, ALPN, client-certificate checks, channel binding, logs and end reasons. `gatehouse serve` refuses to start with `native` when the native relay is not built. `node`: Node\'s TLS sockets, with TLS sessions relayed in JavaScript (and transaction-mode TLS clients kept off the native plane). Handshakes run on a thread of their own (`gatehouse-tls` in `top -H`), not on the relay\'s: each costs about 0.8 ms of CPU with an RSA-2048 key and client certificates asked for, which PgBouncer spends on its one event loop, delaying every session it relays; here a burst of new TLS connections leaves the relayed sessions moving (bench/README.md, the `storm_c4` test). After a reload, new connections use the new value and certificates.',
  }),
  relay_cpus: key(z.array(z.number().int().min(0).max(1023)).max(1024).default([]), {
    reloadable: false,
    description: 'CPUs the native relay\'s thread may run on, such as `[1]` (as `taskset` numbers them); the TLS handshake thread (`tls_engine`) is not pinned. Empty (the default): any CPU the process may use. On a small machine shared with PostgreSQL, pinning the relay thread keeps the scheduler from moving it between wakeups: on the 2-core benchmark machine, session-mode `pgbench -S` through gatehouse swung between 0.83× and 1.07× PgBouncer\'s TPS from run to run unpinned and held at 0.98–1.20× pinned (bench/README.md). `gatehouse serve` refuses to start when a CPU cannot be used (it does not exist, or the process\'s cpuset excludes it); with the native relay unavailable or `relay_engine: node` the setting is ignored with a warning.',
  }),
  databases: key(z.record(z.string(), database).default({}), {
    reloadable: true,
    description: 'Map from the client\'s database name to an upstream. A "*" entry is the fallback and keeps the client\'s database name.',
  }),
  guard: guard.prefault({}),
  admin: admin.default({ users: [], stats_users: [] }),
  metrics: metrics.default({}),
  pool: poolSection.prefault({} as never),
  users: key(z.record(z.string(), userEntry).default({}), {
    reloadable: true, description: 'Per-user settings, keyed by the client\'s user name.',
  }),
  log: log.default({ level: 'info' }),
  policy: key(z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a rule name is letters, digits, _ . -'), policyRule).default({}), {
    reloadable: true,
    description: 'Least-privilege rules enforced at the door, by name (the name appears in the client\'s 42501 error and in the policy record). Every rule matching the session\'s role and database applies; a statement any of them refuses is never sent to the server. Sessions keep the rules they started with. See docs/audit-log.md#policy.',
  }),
  audit: auditSection.prefault({}),
});

export type Config = z.output<typeof configSchema>;
export type DatabaseEntry = z.output<typeof database>;
export type SslMode = z.output<typeof sslmode>;
export type GuardConfig = z.output<typeof guard>;
export type PoolSettings = z.output<typeof poolSection>;
export type PoolOverride = z.output<typeof poolOverride>;
export type PolicyRuleConfig = z.output<typeof policyRule>;
export type { AuditSettings, AuditSinkSettings } from './audit-schema.js';
