/**
 * One client connection, end to end: negotiate → startup → hba → auth → server → relay → close
 * (DESIGN.md "One connection, end to end"). No client byte reaches a server, and no server byte
 * reaches the client, before the client's authentication has succeeded (invariant 1): the server
 * connection is opened only after authenticateClient() returns.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { GatehouseError, WireError, wire } from '../errors.js';
import type { ClientOrigin, ConnectionEvent, GatewayEvents } from '../events.js';
import type { HbaAttempt, HbaRule } from '../hba/index.js';
import { evaluateHba, resolveClientHostname } from '../hba/index.js';
import * as be from '../protocol/backend/encode.js';
import * as fe from '../protocol/frontend/encode.js';
import { ProtocolError } from '../protocol/errors.js';
import type { RuntimeState } from '../gateway/state.js';
import { lookupSecret } from '../gateway/secrets.js';
import { loginUpstream, UpstreamRefused, type ServerLogin, type UpstreamTarget } from '../pool/server-login.js';
import { chooseUpstreamSecret, resolveUpstream } from '../pool/upstream.js';
import { authenticateClient, type AuthOutcome } from './authenticate.js';
import { CancelRegistry, sendCancel } from './cancel.js';
import { HandshakeFatal, negotiate, type StartupMessagePacket, type TlsInfo } from './negotiate.js';
import { ConnectionClosedError } from './reader.js';
import { startRelay, type RelayHandle } from './relay.js';
import { startTappedRelay } from './tapped-relay.js';
import { tapFor, type SessionAuditLog } from '../audit/door.js';
import type { StatementClassifier, StatementTap, TapOptions } from '../audit/tap.js';
import { attachNativeTls, startNativeRelay, type NativeRelayHandle } from './native-relay.js';
import { TapMirror } from './tap-mirror.js';
import { parsePgBool } from '../pg-bool.js';
import { looksLikeProxyHeader } from '../protocol/proxy.js';
import { SessionCounters } from './counters.js';
import type { PooledClient } from '../pool/client.js';
import { linkedServer, liveSession, localOf, pooledServer, tlsText, type ConsoleClient, type LinkedServer, type LiveSession } from './live.js';
import type { AdmissionGate } from '../gateway/admission.js';
import { consoleAccess, isConsoleDatabase } from '../admin/access.js';
import type { ConsoleAccess } from '../admin/commands/types.js';

import type { PoolManager } from '../pool/manager.js';
import type { Pool } from '../pool/pool.js';
import { effectivePoolSettings } from '../pool/settings.js';
import { sessionServerKey } from '../pool/session-servers.js';
import type { PoolSettings } from '../config/schema.js';

export type { ConsoleClient, LinkedServer, LiveSession };

/** What a session needs from the gateway. */
export interface SessionDeps {
  /** The current runtime state; a session takes one snapshot when its startup packet arrives. */
  state(): RuntimeState;
  events: GatewayEvents;
  cancels: CancelRegistry;
  /** Pools for transaction and statement mode, and the max_client_conn count. */
  pools: PoolManager;
  /** Live sessions, for shutdown and (later) the admin console. */
  live: Set<LiveSession>;
  /** Sockets still in their handshake (not yet admitted); shutdown closes these outright. */
  handshaking: Set<Socket>;
  nextId(): number;
  /** guard.lock_role_after: the role name is locked; it fails as a wrong password would. */
  roleLocked?: (user: string) => boolean;
  /** PAUSE/KILL: holds new clients of a paused database before their server is opened. */
  gate: AdmissionGate;
  /** The audit record writer (src/audit/log.ts). */
  audit?(): SessionAuditLog;
  /** The statement classifier (src/audit/classify.ts), loaded by serve when `policy` or `audit.log` needs it. */
  classifier?: StatementClassifier;
  /** Serves an authenticated admin-console client until it leaves (src/admin/console.ts). */
  console(client: ConsoleClient): Promise<void>;
}

/**
 * What the listener knows of one accepted connection (gateway.ts). It is apart from SessionDeps,
 * which every session shares: a per-connection copy of those (an object spread) cost each idle
 * pooled client a hidden class of its own, kept alive by its session's end handler (issue 4's idle row).
 */
export interface Arrival {
  /** When the socket was accepted: authentication_timeout counts from here (a PROXY header read included). */
  acceptedAt: number;
  /** Called once when the client is admitted (its handshake no longer counts against caps). */
  admitted: () => void;
  /** The client's address from a trusted PROXY header (else the socket's peer). */
  origin?: ClientOrigin;
  /** Bytes already read after a PROXY header. */
  head?: Buffer;
  /** A PROXY header from this peer is a protocol violation; the reason to log. */
  proxyRefusal?: string;
}

/** Serves one accepted socket until it closes. Never throws. */
export async function serveConnection(raw: Socket, isUnix: boolean, deps: SessionDeps, arrival: Arrival): Promise<void> {
  const id = deps.nextId();
  const started = Date.now();
  const origin = arrival.origin ?? originOf(raw, isUnix);
  raw.setNoDelay?.(true);
  raw.on('error', ignoreError);
  deps.handshaking.add(raw);
  const ev: ConnectionEvent = { session: id, client: origin, outcome: 'failure', duration_ms: 0 };
  // The state this connection is judged by: a reload during its handshake does not change it.
  const state = deps.state();
  let authDone = false;
  let admitted = false;
  let client: Duplex = raw;
  // authentication_timeout bounds the whole handshake. PostgreSQL sends nothing to the client
  // when it fires during authentication (postgres.c sets whereToSendOutput = DestNone).
  const deadline = setTimeout(() => {
    if (authDone) return;
    ev.reason = wire.authTimeout().message;
    ev.sqlstate = '57014';
    raw.destroy();
    client.destroy();
  }, state.config.authentication_timeout - (started - arrival.acceptedAt));
  try {
    const first = arrival.head?.length ? arrival.head : await firstChunk(raw);
    if (arrival.proxyRefusal && looksLikeProxyHeader(first)) {
      Object.assign(ev, { sqlstate: '08P01', reason: arrival.proxyRefusal });
      return void raw.destroy();
    }
    const n = await negotiate(raw, first, state.tls, isUnix);
    if (n.kind === 'closed') {
      ev.reason = n.reason;
      return void raw.destroy();
    }
    if (n.kind === 'cancel') {
      ev.outcome = 'cancel';
      return void (await handleCancel(n.cancel.pid, n.cancel.key, origin, deps, raw));
    }
    client = n.socket;
    if (n.tls) ev.tls = { version: n.tls.version, cipher: n.tls.cipher, direct: n.tls.direct };
    const startup = readStartupParams(n.startup, client);
    Object.assign(ev, { user: startup.user, database: startup.database, application_name: startup.params.get('application_name') });
    if (startup.replication !== 'none') ev.replication = startup.replication;
    if (n.startup.minor > 0 || n.startup.protocolOptions.length > 0) {
      client.write(be.negotiateProtocolVersion(0, n.startup.protocolOptions));
    }
    // PgBouncer checks max_client_conn right after the startup packet (client.c decide_startup_pool).
    if (!deps.pools.admit(state.config.pool.max_client_conn)) {
      throw new HandshakeFatal(wire.poolerError('no more connections allowed (max_client_conn)'), client);
    }
    admitted = true;
    const isMember = await membershipOf(state, startup.user);
    const rule = await decideHba(state, origin, n.tls, startup, client, isMember);
    ev.hba = { file: rule.file, line: rule.line };
    ev.method = rule.method;
    if (deps.roleLocked?.(startup.user)) throw new HandshakeFatal(wire.passwordFailed(startup.user), client, 'role is locked (guard.lock_role_after)');
    const auth = await authenticateClient({
      socket: client,
      reader: n.reader,
      user: startup.user,
      rule,
      tls: n.tls,
      lookupSecret: (u) => lookupSecret(state, u),
      ident: state.ident,
      isMember,
      passwordEncryption: state.config.auth.password_encryption,
      certHash: state.tls?.certHash ?? null,
    });
    ev.authenticated = true;
    // Authenticated: no longer an unauthenticated handshake for the guard's caps, even while it waits (PAUSE, server login).
    arrival.admitted();
    const access = consoleAccessOf(state, startup, client);
    client.write(be.authenticationOk);
    // SCRAM's AuthenticationSASLFinal was held for this (authenticate.ts): both go in one write.
    while (client.writableCorked > 0) client.uncork();
    const admit = (): void => {
      authDone = true;
      clearTimeout(deadline);
      deps.handshaking.delete(raw);
      arrival.admitted();
      ev.outcome = 'success';
      ev.duration_ms = Date.now() - started;
      deps.events.emit('connection', { ...ev });
    };
    const info = { id, origin, startedAt: started, tls: tlsText(n.tls), applicationName: startup.params.get('application_name') ?? '' };
    if (access) {
      admit();
      return void (await deps.console({ ...info, socket: client, leftover: n.reader.detach(), user: startup.user, database: startup.database, access }));
    }
    const target = resolveUpstream(state.config, startup.database, startup.user, client);
    const waitStart = performance.now();
    if (deps.gate.isPaused(startup.database)) {
      clearTimeout(deadline);
      await deps.gate.wait({ ...info, connectedAt: started, since: Date.now(), user: startup.user, database: startup.database,
        local: localOf(raw, isUnix), replication: startup.replication }, client);
    }
    // Replication connections speak the replication protocol's commands (IDENTIFY_SYSTEM, START_REPLICATION), not SQL: not tapped.
    const tap = startup.replication !== 'none' ? null : tapFor(state.config, deps.audit?.() ?? null, deps.classifier, { session: id, user: startup.user, database: startup.database,
      client: { address: origin.address, ...(origin.port !== undefined ? { port: origin.port } : {}) }, application_name: info.applicationName },
    policyReporter(deps.events, id, startup.user, startup.database));
    const settings = effectivePoolSettings(state.config, startup.database, startup.user);
    if (settings.mode !== 'session' && startup.replication === 'none') {
      rejectUnpoolableParams(startup, client);
      const pool = deps.pools.poolFor(startup.database, target, settings, await chooseUpstreamSecret(state, target, auth));
      admit();
      const counters = countersFor(deps.events, id);
      const makeLive = (server: () => LinkedServer | null): LiveSession => liveSession(info, startup, localOf(raw, isUnix), counters, server);
      // serveConnection returns here: an idle pooled client keeps its PooledClient and LiveSession,
      // not this function's suspended frame and everything the handshake needed (DESIGN.md memory).
      runPooledSession(client, pool, n.reader.detach(), startup, makeLive, deps, tap);
      admitted = false; // the pooled session leaves the pool's client count when it ends
      return;
    }
    // A server an earlier client of the same key left idle (session-servers.ts), else a new login.
    const keep = startup.replication === 'none' && state.config.relay_engine !== 'node'
      ? { key: sessionServerKey(startup.database, startup.user, target, startup.params), settings, connectedAt: Date.now() } : null;
    const reused = keep ? await deps.pools.sessionServers.take(keep.key) : null;
    if (keep && reused) keep.connectedAt = reused.connectedAt;
    const server = reused?.login ?? await loginServer(target, state, auth, startup);
    admit();
    const counters = countersFor(deps.events, id);
    counters.recordWait(performance.now() - waitStart);
    const leftover = n.reader.detach();
    const live = liveSession(info, startup, localOf(raw, isUnix), counters, linkedServer(target, server, keep?.connectedAt));
    await runSession(client, server, target, leftover, live, deps, tap, n.tls?.native ?? null, keep);
  } catch (e) {
    const used = handleFailure(e, client, ev);
    // Like PostgreSQL, close right after the FATAL; the TLS layer does not close the socket it wraps.
    const closeRaw = (): void => void raw.destroy();
    if (used.destroyed) closeRaw();
    else {
      used.once('close', closeRaw);
      setTimeout(() => used.destroy(), 1000).unref();
    }
  } finally {
    clearTimeout(deadline);
    if (admitted) deps.pools.leave();
    deps.handshaking.delete(raw);
    if (ev.outcome === 'failure' || ev.outcome === 'abandoned') {
      ev.duration_ms = Date.now() - started;
      deps.events.emit('connection', ev);
    }
  }
}

interface StartupInfo {
  user: string;
  database: string;
  replication: 'none' | 'physical' | 'logical';
  /** Parameters to forward to the server: everything but user, database and _pq_ options. */
  params: Map<string, string>;
}

function readStartupParams(p: StartupMessagePacket, client: Duplex): StartupInfo {
  const user = p.params.get('user') ?? '';
  const database = p.params.get('database') || user;
  const params = new Map(p.params);
  params.delete('user');
  params.delete('database');
  const replication = parseReplication(p.params.get('replication'), client);
  return { user, database, replication, params };
}

/** postmaster.c: replication=database is logical; a boolean true is physical. */
function parseReplication(v: string | undefined, client: Duplex): StartupInfo['replication'] {
  if (v === undefined) return 'none';
  if (v === 'database') return 'logical';
  const b = parsePgBool(v);
  if (b === null) {
    throw new HandshakeFatal(new WireError('FATAL', '22023', `invalid value for parameter "replication": "${v}"`, undefined,
      'Valid values are: "false", 0, "true", 1, "database".'), client);
  }
  return b ? 'physical' : 'none';
}

/**
 * Role membership for `+role` and `samerole` lines and ident maps. With auth_query the server is
 * asked (only when the rules need it); without it a role is a member of itself alone.
 */
async function membershipOf(state: RuntimeState, user: string): Promise<(role: string) => boolean> {
  if (!state.hba.needsMembership || !state.authQuery) return (role) => role === user;
  const roles = await state.authQuery.memberships(user);
  return (role) => roles.has(role);
}

async function decideHba(state: RuntimeState, origin: ClientOrigin, tls: TlsInfo | null, s: StartupInfo, client: Duplex,
  isMember: (role: string) => boolean): Promise<HbaRule> {
  const attempt: HbaAttempt = {
    socket: origin.socket === 'unix' ? 'local' : 'host',
    ssl: tls !== null,
    address: origin.socket === 'unix' ? undefined : origin.address,
    database: s.database,
    user: s.user,
    replication: s.replication,
    isMember,
  };
  if (state.hba.needsHostname && attempt.address) attempt.hostname = await resolveClientHostname(attempt.address);
  const rule = evaluateHba(state.hba, attempt);
  const enc = tls ? 'SSL encryption' : 'no encryption';
  const repl = s.replication === 'physical';
  if (!rule) throw new HandshakeFatal(wire.noHbaEntry(origin.address, s.user, s.database, enc, repl), client);
  if (rule.method === 'reject') throw new HandshakeFatal(wire.hbaRejects(origin.address, s.user, s.database, enc, repl), client);
  return rule;
}

async function loginServer(target: UpstreamTarget, state: RuntimeState, auth: AuthOutcome, s: StartupInfo): Promise<ServerLogin> {
  const secret = await chooseUpstreamSecret(state, target, auth);
  return loginUpstream(target, secret, s.params);
}

/** Null for an ordinary database; for a console database, the role's access or the FATAL "not allowed". */
function consoleAccessOf(state: RuntimeState, s: StartupInfo, client: Duplex): ConsoleAccess | null {
  if (!isConsoleDatabase(s.database)) return null;
  const access = consoleAccess(state.config, s.user);
  if (!access) throw new HandshakeFatal(wire.consoleNotAllowed(), client);
  return access;
}

/**
 * `door`: the client's native TLS door (tls_engine: native), which the native relay takes over; else null.
 * `keep`: where the server goes when the client leaves it idle (session-mode reuse); null: it closes.
 */
async function runSession(
  client: Duplex, server: ServerLogin, target: UpstreamTarget, leftover: Buffer, live: LiveSession, deps: SessionDeps, tap: StatementTap | null,
  door: number | null, keep: { key: string; settings: PoolSettings; connectedAt: number } | null,
): Promise<void> {
  const { id, origin, user, database, startedAt: started, counters } = live;
  const key = deps.cancels.issue();
  if (server.backendKey) deps.cancels.route(key.pid, { host: target.host, port: target.port, ...server.backendKey });
  const head: Buffer[] = [...server.notices];
  for (const [name, value] of server.params) head.push(be.parameterStatus(name, value));
  head.push(be.backendKeyData(key.pid, key.key), be.readyForQueryIdle);
  client.write(Buffer.concat(head));
  let relay: RelayHandle | null = null;
  let native: NativeRelayHandle | null = null;
  live.terminate = (error) => {
    const bytes = error ? be.errorResponse(error) : undefined;
    // The native relay owns the client's socket: the error goes out through it.
    if (native) return native.close(bytes);
    if (bytes) client.write(bytes);
    relay?.close();
  };
  deps.live.add(live);
  try {
    // The native relay carries every session no policy rule governs; a recorded one is mirrored to
    // its tap (tap-mirror.ts). A session under policy stays here: a refusal must come first.
    const mirror = tap?.mirrorable ? new TapMirror(tap) : null;
    // A native TLS client's session is relayed from its TLS connection, not through the socketpair.
    const useNative = (!tap || mirror) && deps.state().config.relay_engine !== 'node';
    // The relay's thread runs server_reset_query when the client leaves (native/reuse.h), not JavaScript.
    const reset = keep?.settings.server_reset_query;
    const reuse = keep ? { reset: reset ? fe.query(reset) : undefined, resetMs: keep.settings.server_connect_timeout } : null;
    native = !useNative ? null
      : door !== null ? attachNativeTls(door, client, server.socket, leftover, counters, mirror, reuse)
        : startNativeRelay(client, server.socket, leftover, counters, mirror, reuse);
    if (!native) void mirror?.ended(); // the tapped relay below takes the tap itself
    relay = native ?? (tap ? startTappedRelay(client, server.socket, tap, leftover, counters) : startRelay(client, server.socket, leftover, undefined, counters));
    const reason = await relay.done;
    const kept = native?.keptServerFd ?? -1;
    if (kept >= 0 && keep) {
      // RECONNECT or RELOAD marked it while the client had it: it closes instead (PgBouncer's close_needed).
      deps.pools.keepSessionServer(keep.key, { database, user, serverUser: target.user, host: target.host, port: target.port }, kept, server, keep.connectedAt, keep.settings,
        live.server?.closeNeeded === true, native?.keptReply);
    }
    deps.events.emit('session.end', {
      session: id, client: origin, user, database,
      duration_ms: Date.now() - started, bytes_in: relay.stats.bytesIn, bytes_out: relay.stats.bytesOut, reason, counters,
    });
  } finally {
    deps.live.delete(live);
    deps.cancels.release(key.pid);
  }
}

/** PgBouncer refuses `options` in pooled modes: its -c settings could not be re-applied per transaction. */
function rejectUnpoolableParams(s: StartupInfo, client: Duplex): void {
  if (s.params.has('options')) throw new HandshakeFatal(wire.poolerError('unsupported startup parameter: options'), client);
}

/**
 * A transaction- or statement-mode client: its server is whichever one it holds right now (SHOW
 * SERVERS). Returns once the client is served; its end (session.end, the live list, the cancel key,
 * the pool's client count) is handled when `done` settles. Nothing here closes over the caller.
 */
function runPooledSession(client: Duplex, pool: Pool, leftover: Buffer, s: StartupInfo,
  makeLive: (server: () => LinkedServer | null) => LiveSession, deps: SessionDeps, tap: StatementTap | null): void {
  const key = deps.cancels.issue();
  // The record asks for the client's server only when read (SHOW SERVERS), after `c` exists.
  const live = makeLive(() => pooledServer(pool, c));
  const c: PooledClient = deps.pools.serve({
    id: live.id, socket: client, user: s.user, database: s.database, address: live.origin.address, port: live.origin.port,
    cancelPid: key.pid, cancelKey: key.key, startupParams: s.params, counters: live.counters, tap,
  }, pool, leftover);
  live.terminate = (error) => c.fail(error ?? wire.adminShutdown());
  deps.live.add(live);
  // What `end` reads is the live record and the pid, not `s` or `key`: an idle client's closure keeps no more.
  const pid = key.pid;
  const end = (reason: string): void => {
    try {
      deps.events.emit('session.end', {
        session: live.id, client: live.origin, user: live.user, database: live.database,
        duration_ms: Date.now() - live.startedAt, bytes_in: c.bytesIn, bytes_out: c.bytesOut, reason, counters: live.counters,
      });
    } finally {
      deps.live.delete(live);
      deps.cancels.release(pid);
      deps.pools.leave();
    }
  };
  c.onEnd(end);
}

/** Module-level, so a long-lived listener does not keep serveConnection's closure context alive. */
function ignoreError(): void {}

/** The session's counters, reporting server errors as events (outside serveConnection for the same reason). */
function countersFor(events: GatewayEvents, session: number): SessionCounters {
  return new SessionCounters((sqlstate) => events.emit('server.error', { session, sqlstate }));
}

/** The tap's refusal callback (outside serveConnection for the same reason). */
function policyReporter(events: GatewayEvents, session: number, user: string, database: string): NonNullable<TapOptions['onRefused']> {
  return (e) => void events.emit('policy.refused', { session, user, database, ...e });
}

async function handleCancel(pid: number, key: Buffer, origin: ClientOrigin, deps: SessionDeps, raw: Socket): Promise<void> {
  raw.destroy();
  const target = deps.cancels.resolve(pid, key);
  deps.events.emit('cancel', { client: origin, forwarded: target !== null });
  if (target) await sendCancel(target);
}

/** Records the failure, sends the FATAL if there is one, and returns the socket it went out on. */
function handleFailure(e: unknown, client: Duplex, ev: ConnectionEvent): Duplex {
  const w = toWire(e);
  if (w) {
    ev.sqlstate = w.wire.code;
    ev.reason = w.log ?? w.wire.message;
    const to = e instanceof HandshakeFatal ? e.socket : client;
    if (!to.destroyed) to.end(be.errorResponse(w.wire), () => to.destroy());
    return to;
  }
  // A client that hangs up mid-handshake (psql does, to prompt for a password) has not failed.
  if (e instanceof ConnectionClosedError && ev.reason === undefined) {
    ev.outcome = 'abandoned';
    ev.reason = 'client closed the connection during the handshake';
  }
  ev.reason ??= String((e as Error)?.message ?? e);
  client.destroy();
  return client;
}

/** The FATAL to send for a failure, and what to log when it differs. */
function toWire(e: unknown): { wire: WireError; log?: string } | null {
  if (e instanceof HandshakeFatal) return e.log ? { wire: e.wire, log: e.log } : { wire: e.wire };
  if (e instanceof ProtocolError) return { wire: e.wire };
  if (e instanceof UpstreamRefused) return { wire: e.wire, log: `server refused login: ${e.wire.code} ${e.wire.message}` };
  if (e instanceof WireError) return { wire: e };
  if (e instanceof GatehouseError && (e.code === 'GH_UPSTREAM' || e.code === 'GH_UPSTREAM_TLS' || e.code === 'GH_AUTH_QUERY')) {
    return { wire: wire.upstreamUnavailable(), log: e.message };
  }
  if (e instanceof GatehouseError && e.code === 'GH_NO_CLASSIFIER') return { wire: wire.internal(), log: e.message };
  return null;
}

function firstChunk(s: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const onData = (c: Buffer): void => {
      cleanup();
      s.pause();
      resolve(c);
    };
    const onEnd = (): void => {
      cleanup();
      reject(new ConnectionClosedError());
    };
    const cleanup = (): void => {
      s.off('data', onData);
      s.off('end', onEnd);
      s.off('close', onEnd);
    };
    s.on('data', onData);
    s.once('end', onEnd);
    s.once('close', onEnd);
  });
}

/** The client's address as PostgreSQL prints it: `[local]` for the Unix socket, IPv4 without the ::ffff: prefix. */
function originOf(s: Socket, isUnix: boolean): ClientOrigin {
  if (isUnix) return { socket: 'unix', address: '[local]' };
  const a = s.remoteAddress ?? '';
  return { socket: 'tcp', address: a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a, port: s.remotePort };
}
