/**
 * The gateway process: listeners, the live runtime state, reload and shutdown. It owns no
 * protocol logic; each accepted socket goes to serveConnection().
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { GatehouseError, wire, type WireError } from '../errors.js';
import { GatewayEvents } from '../events.js';
import { CancelRegistry } from '../session/cancel.js';
import { Guard } from '../net/guard/guard.js';
import { CidrList, canonicalSource } from '../net/guard/cidr.js';
import { readProxyHeader } from '../net/guard/proxy-header.js';
import { installAcceptScreen } from '../net/guard/accept-screen.js';
import { errorResponse } from '../protocol/backend/encode.js';
import { serveConnection, type Arrival, type ConsoleClient, type LiveSession, type SessionDeps } from '../session/session.js';
import { SessionCounters } from '../session/counters.js';
import { runConsole } from '../admin/console.js';
import type { GatewayView } from '../admin/view.js';
import { PoolManager } from '../pool/manager.js';
import { describeChanges, loadRuntimeState, type RuntimeState } from './state.js';
import { AdmissionGate } from './admission.js';
import { STATS_PERIOD_MS, StatsBook } from './stats.js';
import { SessionModeView } from './view.js';
import { MemoryRelease } from './memory.js';
import { AuditLog } from '../audit/log.js';
import type { Logger } from 'pino';
import { Classifier, loadClassifier } from '../audit/classify.js';

export interface ListenAddress {
  kind: 'tcp' | 'unix';
  /** host:port or socket path */
  where: string;
}

export class Gateway {
  readonly events = new GatewayEvents();
  readonly cancels = new CancelRegistry();
  readonly live = new Set<LiveSession>();
  /** PAUSE / KILL hold new clients here. */
  readonly gate = new AdmissionGate();
  /** Per-database statistics (SHOW STATS, metrics). */
  readonly stats = new StatsBook();
  /** What the admin console and the metrics see. */
  readonly view: GatewayView = new SessionModeView(this);
  /** Resolves once shutdown() has finished, whoever started it (a signal or the console's SHUTDOWN). */
  readonly stopped: Promise<void>;
  private resolveStopped!: () => void;
  private readonly statsTimer: NodeJS.Timeout;
  /** Pools of transaction- and statement-mode clients, and the max_client_conn count. */
  readonly pools: PoolManager;
  private readonly handshakes = new Set<Socket>();
  private readonly servers: Server[] = [];
  private current: RuntimeState;
  private sessionSeq = 0;
  private stopping = false;
  /** Allow/deny lists, bans and caps at accept time (invariant 2); the admin console's BAN/UNBAN. */
  readonly guard: Guard;
  private proxyTrusted: CidrList;
  private readonly sessionDeps: SessionDeps;
  /**
   * The audit record writer (docs/audit-log.md). A disabled one (records nothing) until
   * {@link openAudit} has run. Read it at use (`gateway.audit`), not once: openAudit replaces it.
   */
  audit: AuditLog = AuditLog.disabled();
  /** Gives memory back once a burst of connections is over (`release_memory_after`). */
  private readonly memory: MemoryRelease;
  /** The statement classifier (libpg-query), loaded by listen(). */
  private classifier: Classifier | undefined;

  /** Loads the config and every file it names; throws GatehouseError on any failure. */
  constructor(readonly configPath: string) {
    this.current = loadRuntimeState(configPath);
    this.guard = new Guard(this.current.config.guard, this.events);
    this.proxyTrusted = new CidrList(this.current.config.listen.proxy_trusted);
    this.guard.configure(this.current.config.guard, this.proxyTrusted);
    this.events.on('connection', (e) => this.guard.onConnection(e));
    this.pools = new PoolManager(this.events, this.cancels, (db) => this.gate.isPaused(db), () => this.current.config.transaction_engine);
    this.sessionDeps = {
      pools: this.pools,
      state: () => this.current,
      events: this.events,
      cancels: this.cancels,
      live: this.live,
      handshaking: this.handshakes,
      nextId: () => ++this.sessionSeq,
      roleLocked: (user) => this.guard.roleLocked(user),
      gate: this.gate,
      console: (c) => this.serveConsole(c),
      audit: () => this.audit,
    };
    this.stopped = new Promise((r) => (this.resolveStopped = r));
    this.events.on('connection', (e) => {
      if (e.outcome === 'success' && e.database !== undefined) this.stats.noteConnect(e.database, e.user ?? '');
    });
    this.events.on('session.end', (e) => {
      if (e.counters) this.stats.fold(e.database, e.counters);
    });
    this.statsTimer = setInterval(() => this.stats.roll(this.stats.current(this.live)), STATS_PERIOD_MS).unref();
    this.memory = new MemoryRelease(() => this.current.config.release_memory_after, this.events);
  }

  /** Connections still in their handshake. */
  get handshakeCount(): number {
    return this.handshakes.size;
  }

  get state(): RuntimeState {
    return this.current;
  }

  /**
   * Opens the audit sinks of `audit:` (before listen(), so the first connection is recorded).
   * Rejects with GH_AUDIT_* when a sink, the key or a file's chain cannot be used.
   */
  async openAudit(logger: Logger): Promise<void> {
    const next = await AuditLog.open(this.current.config.audit, this.events, logger);
    const previous = this.audit;
    this.audit = next;
    await previous.close();
  }

  /** Starts every listener; rejects when one cannot bind (nothing is left listening then). */
  async listen(): Promise<ListenAddress[]> {
    const { listen } = this.current.config;
    const out: ListenAddress[] = [];
    // Before the first client: policy and statement records need it (a reload may add either, so it is always loaded).
    await loadClassifier();
    this.classifier ??= new Classifier();
    this.sessionDeps.classifier = this.classifier;
    this.guard.start();
    this.memory.start();
    try {
      for (const addr of listen.addresses) out.push(await this.listenTcp(addr, listen.port));
      if (listen.unix_socket_dir) out.push(await this.listenUnix(listen.unix_socket_dir, listen.port, listen.unix_socket_mode));
    } catch (e) {
      await this.closeListeners();
      await this.guard.close();
      throw e;
    }
    return out;
  }

  /**
   * Re-reads config, hba, ident, auth file and certificates. Either all of it takes effect or
   * none of it does (invariant 6). Listener addresses and ports need a restart.
   */
  reload(): { ok: boolean; error?: string } {
    try {
      const next = loadRuntimeState(this.configPath, this.current);
      const changed = describeChanges(this.current, next);
      this.current = next;
      this.proxyTrusted = new CidrList(next.config.listen.proxy_trusted);
      this.guard.configure(next.config.guard, this.proxyTrusted);
      this.pools.reconfigure(next.config);
      this.audit.reconfigure(next.config.audit);
      this.events.emit('reload', { ok: true, changed });
      return { ok: true };
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      this.events.emit('reload', { ok: false, error });
      return { ok: false, error };
    }
  }

  /**
   * smart (SIGTERM): stop accepting, let sessions finish for shutdown_timeout, then end them.
   * fast (SIGINT): end every session now with 57P01, as PostgreSQL's fast shutdown does.
   */
  async shutdown(mode: 'smart' | 'fast'): Promise<void> {
    if (this.stopping && mode === 'smart') return;
    this.stopping = true;
    await this.closeListeners();
    for (const s of this.handshakes) s.destroy();
    if (mode === 'smart') await this.waitForSessions(this.current.config.shutdown_timeout);
    this.terminateAll(wire.adminShutdown());
    this.gate.reject(wire.adminShutdown());
    await this.waitForSessions(2000);
    this.pools.close();
    this.current.authQuery?.close();
    await this.guard.close();
    // Last: the session ends above are records too.
    await this.audit.close();
    await this.classifier?.close();
    clearInterval(this.statsTimer);
    this.memory.stop();
    this.resolveStopped();
  }

  terminateAll(error?: WireError): void {
    for (const s of this.live) s.terminate(error);
  }

  /** An admin-console client: a live session without a server until it leaves. */
  private async serveConsole(c: ConsoleClient): Promise<void> {
    const key = this.cancels.issue();
    const live: LiveSession = {
      id: c.id, kind: 'console', origin: c.origin, user: c.user, database: c.database, startedAt: c.startedAt,
      replication: 'none', applicationName: c.applicationName, tls: c.tls, local: { address: '', port: 0 },
      counters: new SessionCounters(), server: null,
      terminate: (error) => {
        if (c.socket.destroyed) return;
        if (error) c.socket.end(errorResponse(error));
        else c.socket.end();
        setTimeout(() => c.socket.destroy(), 1000).unref();
      },
    };
    this.live.add(live);
    try {
      const reason = await runConsole({
        socket: c.socket, leftover: c.leftover, user: c.user, database: c.database, view: this.view,
        config: () => this.current.config, cancelKey: key,
        onError: (e) => this.events.emit('console.error', { session: c.id, sqlstate: e.code, message: e.message }),
      });
      this.events.emit('session.end', {
        session: c.id, client: c.origin, user: c.user, database: c.database, duration_ms: Date.now() - c.startedAt,
        bytes_in: 0, bytes_out: 0, reason,
      });
    } finally {
      this.live.delete(live);
      this.cancels.release(key.pid);
      if (!c.socket.destroyed) c.socket.end(() => c.socket.destroy());
    }
  }


  /**
   * The guard runs before a byte is read (DESIGN.md "accept ─► guard"). Behind a trusted proxy the
   * PROXY header is read first, because the client's address is in it.
   */
  private accept(socket: Socket, isUnix: boolean): void {
    socket.on('error', () => undefined);
    if (this.stopping) return void socket.destroy();
    this.memory.arrived();
    const acceptedAt = Date.now();
    if (isUnix) return this.admit(socket, true, { text: '[local]', addr: null }, { acceptedAt });
    const peer = canonicalSource(socket.remoteAddress ?? '');
    const version = this.current.config.listen.proxy_protocol;
    if (version !== 'off' && this.proxyTrusted.has(peer.addr)) return void this.acceptProxied(socket, peer, version, acceptedAt);
    const proxyRefusal = version === 'off' ? 'PROXY protocol header received but listen.proxy_protocol is off' : 'PROXY protocol header from an untrusted peer';
    this.admit(socket, false, peer, { acceptedAt, proxyRefusal });
  }

  /** A trusted proxy must send the header (as HAProxy's accept-proxy requires); a missing or broken one closes the connection. */
  private async acceptProxied(socket: Socket, peer: ReturnType<typeof canonicalSource>, version: 'v1' | 'v2', acceptedAt: number): Promise<void> {
    this.handshakes.add(socket);
    try {
      const h = await readProxyHeader(socket, version, this.current.config.authentication_timeout);
      const source = h.source ? canonicalSource(h.source.address) : peer;
      const origin = { socket: 'tcp' as const, address: source.text, port: h.source?.port ?? socket.remotePort };
      this.admit(socket, false, source, { acceptedAt, origin, head: h.rest });
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      this.events.emit('connection', {
        session: ++this.sessionSeq, client: { socket: 'tcp', address: peer.text, port: socket.remotePort }, outcome: 'failure',
        ...(reason.startsWith('timeout') ? {} : { sqlstate: '08P01' }), reason, duration_ms: Date.now() - acceptedAt,
      });
      socket.destroy();
    } finally {
      this.handshakes.delete(socket);
    }
  }

  private admit(socket: Socket, isUnix: boolean, source: ReturnType<typeof canonicalSource>, arrival: Omit<Arrival, 'admitted'>): void {
    const a = this.guard.admit(source.text, source.addr);
    if (!a.ok) return refuse(socket, a.fatal);
    socket.once('close', a.ticket.closed);
    void serveConnection(socket, isUnix, this.sessionDeps, { ...arrival, admitted: a.ticket.admitted });
  }

  private listenTcp(address: string, port: number): Promise<ListenAddress> {
    const server = createServer({ noDelay: true }, (s) => this.accept(s, false));
    const host = address === '*' ? '::' : address;
    return new Promise((resolve, reject) => {
      server.once('error', (e) => reject(new GatehouseError('GH_LISTEN', `could not listen on ${address}:${port}: ${e.message}`, 'listen.addresses')));
      server.listen({ host, port, ipv6Only: false }, () => {
        installAcceptScreen(server, {
          refuses: (source, addr) => this.guard.refusesOutright(source, addr),
          bypass: (addr) => this.current.config.listen.proxy_protocol !== 'off' && this.proxyTrusted.has(addr),
        });
        this.servers.push(server);
        resolve({ kind: 'tcp', where: `${address}:${port}` });
      });
    });
  }

  private async listenUnix(dir: string, port: number, mode: string): Promise<ListenAddress> {
    const path = join(dir, `.s.PGSQL.${port}`);
    if (existsSync(path)) {
      if (await socketInUse(path)) throw new GatehouseError('GH_LISTEN', `socket ${path} is in use by another server`, 'listen.unix_socket_dir');
      unlinkSync(path);
    }
    const server = createServer((s) => this.accept(s, true));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new GatehouseError('GH_LISTEN', `could not listen on ${path}: ${e.message}`, 'listen.unix_socket_dir')));
      server.listen(path, () => resolve());
    });
    chmodSync(path, parseInt(mode, 8));
    this.servers.push(server);
    return { kind: 'unix', where: path };
  }

  /** Stops accepting at once. net.Server.close() calls back only when every connection has closed, so it is not awaited. */
  private closeListeners(): Promise<void> {
    for (const s of this.servers.splice(0)) s.close();
    return Promise.resolve();
  }

  private async waitForSessions(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (this.live.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A refused connection. Lists and bans: reset at once with no byte sent (an RST also leaves no
 * TIME_WAIT behind under a flood). Caps: a 53300 FATAL, as PostgreSQL sends "sorry, too many
 * clients already", without reading anything; libpq shows it in answer to its startup packet
 * (or, newer libpq, reports an error response during SSL negotiation).
 */
function refuse(socket: Socket, fatal?: WireError): void {
  if (!fatal) return void socket.resetAndDestroy();
  socket.resume();
  socket.end(errorResponse(fatal));
  setTimeout(() => socket.destroy(), 1000).unref();
}

function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect({ path });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}
