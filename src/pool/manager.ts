/**
 * The pools of one gateway: one per (database, user) in transaction and statement mode, the
 * max_client_conn count over every mode, the database and user caps on server connections, the
 * janitor and the snapshot the admin console reads. It emits typed events; it logs nothing itself.
 */
import type { Config, PoolSettings } from '../config/schema.js';
import { effectivePoolSettings } from './settings.js';
import type { GatewayEvents } from '../events.js';
import type { CancelRegistry } from '../session/cancel.js';
import { Pool } from './pool.js';
import { PooledClient, type PooledClientInfo } from './client.js';
import { StatementRegistry } from './prepared.js';
import type { ServerConn } from './server.js';
import type { UpstreamSecret, UpstreamTarget } from './server-login.js';
import { snapshotOf, type PoolSnapshot } from './snapshot.js';
import { SessionServers, type KeptOwner } from './session-servers.js';
import type { ServerLogin } from './server-login.js';
import { NativePlane } from './native-plane.js';

const JANITOR_MS = 250;

export class PoolManager {
  readonly pools = new Map<string, Pool>();
  readonly statements = new StatementRegistry();
  /** Session mode's idle servers, for the next client of the same key. */
  readonly sessionServers = new SessionServers();
  /** Authenticated clients in every mode, for max_client_conn. */
  clientCount = 0;
  #serverSeq = 0;
  #poolSeq = 0;
  #plane: NativePlane | null | undefined;
  #janitor: NodeJS.Timeout | null = null;

  /**
   * @param isPaused PAUSE [db] from the admin console: a paused database's pools give no server to
   *   a client until RESUME (clients in a transaction keep theirs, as in PgBouncer).
   */
  constructor(
    readonly events: GatewayEvents,
    readonly cancels: CancelRegistry,
    readonly isPaused: (database: string) => boolean = () => false,
    /** `transaction_engine`, read when a pool is created. */
    readonly transactionEngine: () => 'auto' | 'node' | 'native' = () => 'node',
  ) {}

  /**
   * A reload: every pool takes its new settings now (pool sizes, timeouts, mode for the next
   * transaction). Targets and credentials change when the next client of the pool logs in.
   */
  reconfigure(config: Config): void {
    for (const p of this.pools.values()) {
      p.settings = effectivePoolSettings(config, p.database, p.user);
      p.recallFromPlane();
      p.dispatch();
    }
  }

  /** RECONNECT [db]: idle servers close now, linked ones when released (PgBouncer's close_needed). */
  reconnect(database?: string): void {
    for (const p of this.pools.values()) if (database === undefined || p.database === database) p.reconnect();
    this.sessionServers.reconnect(database);
  }

  /**
   * A session-mode server whose client left it idle (`fd`, from the native relay): kept for the
   * next client of `key` after server_reset_query (`reply`: the relay ran it, this is its answer),
   * or closed (with a Terminate) when `close`.
   */
  keepSessionServer(key: string, owner: KeptOwner, fd: number, login: ServerLogin, connectedAt: number, settings: PoolSettings, close: boolean,
    reply?: Buffer): void {
    this.sessionServers.give(key, owner, fd, login, connectedAt, settings, close, reply);
    this.#janitor ??= setInterval(() => this.#sweep(), JANITOR_MS).unref();
  }

  /** Servers marked by RECONNECT that are still open (WAIT_CLOSE waits for none). */
  closeNeeded(database?: string): number {
    let n = 0;
    for (const p of this.pools.values()) {
      if (database !== undefined && p.database !== database) continue;
      for (const s of [...p.active, ...p.tested]) if (s.generation !== p.generation) n++;
    }
    return n;
  }

  /** RESUME: waiting clients of every pool may get servers again. */
  kickAll(): void {
    for (const p of this.pools.values()) p.dispatch();
  }

  /** Counts a client against max_client_conn; false (and not counted) when full. */
  admit(maxClientConn: number): boolean {
    if (this.clientCount >= maxClientConn) return false;
    this.clientCount++;
    return true;
  }

  leave(): void {
    this.clientCount--;
  }

  /** The pool for (database, user), created or updated with what this client brings. */
  poolFor(database: string, target: UpstreamTarget, settings: PoolSettings, secret: UpstreamSecret): Pool {
    const key = `${database}\0${target.user}`;
    let p = this.pools.get(key);
    if (p) p.update(target, settings, secret);
    else {
      p = new Pool(this, database, target.user, target, settings, ++this.#poolSeq);
      p.update(target, settings, secret);
      if (this.transactionEngine() !== 'node') p.plane = this.#openPlane();
      this.pools.set(key, p);
    }
    this.#janitor ??= setInterval(() => this.#sweep(), JANITOR_MS).unref();
    return p;
  }

  /** Creates a pooled client and starts it; resolves when it is gone. */
  serve(info: PooledClientInfo, pool: Pool, leftover: Buffer): PooledClient {
    const c = new PooledClient(info, pool, this.cancels);
    c.start(leftover);
    return c;
  }

  /** Room for a server under max_db_connections and max_user_connections. */
  mayOpen(pool: Pool): boolean {
    const st = pool.settings;
    if (st.max_db_connections > 0 && this.#count((p) => p.database === pool.database) >= st.max_db_connections) return false;
    if (st.max_user_connections > 0 && this.#count((p) => p.user === pool.user) >= st.max_user_connections) return false;
    return true;
  }

  /** A server closed: pools that share its database or user may open one now. */
  kick(pool: Pool): void {
    for (const p of this.pools.values()) if (p === pool || p.database === pool.database || p.user === pool.user) p.dispatch();
  }

  /** The native transaction plane, opened once (null without the native relay). */
  #openPlane(): NativePlane | null {
    if (this.#plane === undefined) this.#plane = NativePlane.open().plane;
    return this.#plane;
  }

  nextServerId(): number {
    return ++this.#serverSeq;
  }

  serverOpened(pool: Pool, s: ServerConn): void {
    this.events.emit('pool.server', { database: pool.database, user: pool.user, server: s.id, event: 'login', reason: '' });
  }

  serverClosed(pool: Pool, s: ServerConn, reason: string): void {
    this.events.emit('pool.server', { database: pool.database, user: pool.user, server: s.id, event: 'close', reason });
  }

  loginFailed(pool: Pool, reason: string): void {
    this.events.emit('pool.server', { database: pool.database, user: pool.user, server: 0, event: 'login_failed', reason });
  }

  clientReady(_c: PooledClient): void {
    // The connection event already went out; kept for the admin console's hooks.
  }

  parameterSetFailed(c: PooledClient, error: string): void {
    this.events.emit('pool.server', { database: c.pool.database, user: c.pool.user, server: c.server?.id ?? 0, event: 'set_failed', reason: error });
  }

  sessionState(c: PooledClient, hazards: string[], action: 'pin' | 'warn' | 'reject'): void {
    this.events.emit('pool.session_state', { session: c.info.id, user: c.info.user, database: c.info.database, hazards, action });
  }

  /** Everything the admin console shows about pools, clients and servers, in PgBouncer's terms. */
  snapshot(): PoolSnapshot {
    return snapshotOf(this, Date.now());
  }

  /** Closes every idle server and stops the janitor (shutdown). */
  close(): void {
    if (this.#janitor) clearInterval(this.#janitor);
    this.#janitor = null;
    for (const p of this.pools.values()) p.closeIdle();
    this.sessionServers.close();
  }

  #count(match: (p: Pool) => boolean): number {
    let n = 0;
    for (const p of this.pools.values()) if (match(p)) n += p.serverCount;
    return n;
  }

  #sweep(): void {
    const now = Date.now();
    for (const p of this.pools.values()) p.janitor(now);
    this.sessionServers.janitor(now);
  }
}
