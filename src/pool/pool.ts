/**
 * One pool: the server connections of one (database, user) pair in transaction or statement mode,
 * and the clients waiting for one, served first in, first out. A connection's state is the list
 * it sits on (STYLE.md): `idle`, `active` (linked to a client), `tested` (running the check query
 * or the reset query), plus logins in flight.
 */
import { GatehouseError, WireError, wire } from '../errors.js';
import type { PoolSettings } from '../config/schema.js';
import { loginUpstream, UpstreamRefused, type UpstreamSecret, type UpstreamTarget } from './server-login.js';
import { ServerConn, type ServerOwner } from './server.js';
import type { PooledClient } from './client.js';
import type { PoolManager } from './manager.js';
import type { NativePlane } from './native-plane.js';
import { checkDue, lifetimeOver } from './settings.js';
import { SharedVars, SignatureTable } from './signatures.js';

/** Parameters tracked for every client (PgBouncer's list plus search_path and client_encoding). */
export const TRACKED_PARAMETERS = ['application_name', 'DateStyle', 'TimeZone', 'IntervalStyle',
  'standard_conforming_strings', 'search_path', 'client_encoding'];

/** Cumulative counters, in PgBouncer's SHOW STATS terms (times in microseconds). */
export interface PoolCounters {
  xact_count: number;
  query_count: number;
  bytes_received: number;
  bytes_sent: number;
  xact_time: number;
  query_time: number;
  wait_time: number;
  /** Session-state events in transaction mode (by on_session_state). */
  session_state_events: number;
}

export class Pool implements ServerOwner {
  readonly idle: ServerConn[] = [];
  readonly active = new Set<ServerConn>();
  readonly tested = new Set<ServerConn>();
  readonly clients = new Set<PooledClient>();
  /** FIFO; a client that left is skipped (its `waiting` is false). */
  #waiters: PooledClient[] = [];
  #waitHead = 0;
  logins = 0;
  secret: UpstreamSecret | null = null;
  /** Parameter names tracked in this pool: the fixed list, track_extra_parameters and any a client sent. */
  readonly tracked = new Set<string>(TRACKED_PARAMETERS);
  /** What a fresh server reports (its defaults), from the first login. */
  defaults: Map<string, string | null> | null = null;
  lastLoginError: { at: number; wire: WireError } | null = null;
  /** Bumped when the target changes; servers of an older generation are closed on release. */
  generation = 0;
  readonly counters: PoolCounters = {
    xact_count: 0, query_count: 0, bytes_received: 0, bytes_sent: 0, xact_time: 0, query_time: 0, wait_time: 0, session_state_events: 0,
  };
  /** The native transaction plane (`transaction_engine: native`, src/pool/native-plane.ts), or null. */
  plane: NativePlane | null = null;
  /** Servers lent to the plane (idle there or linked by it), by id. */
  readonly lent = new Map<number, ServerConn>();
  /** Clients the plane carries now: idle servers are lent only while there are some. */
  nativeClients = 0;
  /** Clients waiting on the plane asked for servers (TX_EV_NEED) and none is opened yet. */
  #nativeNeed = 0;
  #planeSent = '';
  readonly #signatures = new SignatureTable();
  /** Clients' parameter maps, shared while equal (PooledClient copies before a change). */
  readonly sharedVars = new SharedVars();

  constructor(
    readonly manager: PoolManager,
    /** The client's database name (the `databases` key it matched). */
    readonly database: string,
    readonly user: string,
    public target: UpstreamTarget,
    public settings: PoolSettings,
    /** The plane's number for this pool. */
    readonly planeId = 0,
  ) {
    for (const p of settings.track_extra_parameters) this.tracked.add(p);
  }

  /** Takes the latest target, settings and credentials a logging-in client brought. */
  update(target: UpstreamTarget, settings: PoolSettings, secret: UpstreamSecret): void {
    if (targetKey(target) !== targetKey(this.target)) {
      this.generation++;
      this.closeIdle();
    }
    this.target = target;
    this.settings = settings;
    for (const p of settings.track_extra_parameters) this.tracked.add(p);
    if (secret.kind !== 'none' || this.secret === null) this.secret = secret;
  }

  get serverCount(): number {
    return this.idle.length + this.active.size + this.tested.size + this.logins + this.lent.size;
  }

  get waiting(): number {
    let n = 0;
    for (let i = this.#waitHead; i < this.#waiters.length; i++) if (this.#waiters[i]!.waiting) n++;
    return n;
  }

  /** Oldest wait in ms, for SHOW POOLS maxwait. */
  maxWait(now: number): number {
    const c = this.#firstWaiter();
    return c ? now - c.waitSince : 0;
  }

  /** Queues a client for a server; it is linked as soon as one is free. */
  enqueue(c: PooledClient): void {
    c.waiting = true;
    c.waitSince = Date.now();
    this.#waiters.push(c);
    this.dispatch();
  }

  /** Servers of the current generation stay; the others close now (idle) or when released. */
  reconnect(): void {
    this.generation++;
    this.closeIdle();
  }

  /** Whether the native plane may carry this pool's clients: transaction mode, nothing reset on every release. */
  get lendable(): boolean {
    return this.settings.mode === 'transaction' && !this.settings.server_reset_query_always;
  }

  /**
   * After a reload: if the plane may no longer carry this pool (statement mode,
   * server_reset_query_always), its clients come back (idle ones now, linked ones once answered,
   * with their servers) and so do its idle servers.
   */
  recallFromPlane(): void {
    if (!this.plane || this.lendable) return;
    if (this.nativeClients > 0) this.plane.recall(this);
    for (let s = this.#takeLent(); s; s = this.#takeLent()) this.#toIdle(s);
  }

  /** Closes every idle server, the plane's included (RECONNECT, a new target, shutdown). */
  closeIdle(): void {
    for (const s of this.idle.splice(0)) s.close();
    for (let s = this.#takeLent(); s; s = this.#takeLent()) s.close();
  }

  /**
   * The interned number for a parameter signature (every tracked parameter's value, as a client
   * wants them or a server has them): the plane links only equal numbers.
   */
  signature(vars: ReadonlyMap<string, string | null>, fallback: ReadonlyMap<string, string | null> | null): number {
    return this.#signatures.of(this.tracked, vars, fallback);
  }

  /** Gives free servers to waiting clients, checking stale ones first, and opens new ones if allowed. */
  dispatch(): void {
    this.#dispatch();
    if (!this.plane) return;
    this.#openForPlane();
    this.#lendIdle();
    this.#syncPlane();
  }

  /** The plane's clients wait for servers (txplane.h tx_acquire): open up to `waiting` more if allowed. */
  nativeNeed(waiting: number): void {
    this.#nativeNeed = waiting;
    this.#planeSent = '';
    this.dispatch();
  }

  /** A client was lent to the plane: so are the idle servers now. */
  clientLent(): void {
    this.nativeClients++;
    if (this.nativeClients === 1) this.dispatch();
  }

  /** A server the plane gave back for JavaScript's waiters. */
  fromNative(s: ServerConn): void {
    this.#toIdle(s);
  }

  #dispatch(): void {
    if (this.manager.isPaused(this.database)) return;
    for (;;) {
      const c = this.#firstWaiter();
      if (!c) return;
      const s = this.idle.pop() ?? this.#takeLent();
      if (s) {
        if (this.#needsCheck(s)) this.#check(s);
        else this.#give(c, s);
        continue;
      }
      const pending = this.logins + this.tested.size;
      if (pending >= this.waiting || !this.#mayOpen(c)) return;
      if (this.#loginFailingRecently()) {
        this.#failWaiters(wire.poolerError('server login has been failing, try again later (server_login_retry)'));
        return;
      }
      this.#login();
    }
  }

  #takeLent(): ServerConn | null {
    return this.plane && this.lent.size > 0 ? this.plane.takeServer(this) : null;
  }

  #openForPlane(): void {
    if (this.#nativeNeed <= 0 || this.manager.isPaused(this.database)) return;
    while (this.#nativeNeed > this.logins && this.secret && this.#mayOpen(null) && !this.#loginFailingRecently()) this.#login();
    this.#nativeNeed = 0;
  }

  /** Idle servers go to the plane when no JavaScript client waits for one (and none must be reset on every release). */
  #lendIdle(): void {
    const plane = this.plane;
    // Without clients on the plane, lending would only make JavaScript's clients take each server back.
    if (!plane || this.nativeClients === 0 || !this.lendable || this.#firstWaiter()) return;
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const s = this.idle[i]!;
      if (s.generation !== this.generation || !plane.lendServer(this, s, this.signature(s.vars, null))) continue;
      this.idle.splice(i, 1);
      this.lent.set(s.id, s);
    }
  }

  /** What the plane must know: PAUSE, JavaScript's waiters (released servers come back to them), room for more servers. */
  #syncPlane(): void {
    const paused = this.manager.isPaused(this.database);
    const jsWaiting = this.waiting;
    const canGrow = this.serverCount < this.settings.default_pool_size && this.manager.mayOpen(this);
    const key = `${paused} ${jsWaiting} ${canGrow}`;
    if (key === this.#planeSent) return;
    this.#planeSent = key;
    this.plane!.setPool(this, paused, jsWaiting, canGrow);
  }

  /** A client is done with its server. */
  release(s: ServerConn): void {
    s.client = null;
    this.active.delete(s);
    if (s.closed) return;
    const st = this.settings;
    if (s.generation !== this.generation || lifetimeOver(st, s.connectTime, Date.now())) {
      s.close();
      return;
    }
    if (st.server_reset_query_always && st.server_reset_query) {
      s.state = 'tested';
      this.tested.add(s);
      s.sendInternal(st.server_reset_query, (b) => s.socket.write(b));
      return;
    }
    this.#toIdle(s);
  }

  /** Closes a server a client held in an unknown state. */
  discard(s: ServerConn): void {
    s.client = null;
    this.active.delete(s);
    s.close();
  }

  // ServerOwner
  onServerClosed(s: ServerConn, reason: string): void {
    this.lent.delete(s.id);
    const i = this.idle.indexOf(s);
    if (i >= 0) this.idle.splice(i, 1);
    this.active.delete(s);
    this.tested.delete(s);
    this.manager.serverClosed(this, s, reason);
    const c = s.client as PooledClient | null;
    s.client = null;
    c?.onServerLost();
    this.manager.kick(this);
  }

  onServerChecked(s: ServerConn, failed: string | null): void {
    this.tested.delete(s);
    if (failed) {
      this.manager.serverClosed(this, s, `check or reset query failed: ${failed}`);
      s.close();
      this.dispatch();
      return;
    }
    if (this.settings.server_reset_query_always) {
      // DISCARD ALL (or a custom reset) drops statements and session parameters.
      s.statements.clear();
      if (this.defaults) for (const [k, v] of this.defaults) s.vars.set(k, v);
    }
    this.#toIdle(s);
  }

  countBytes(n: number): void {
    this.counters.bytes_sent += n;
  }

  /** Timeouts, lifetimes and min_pool_size, run by the manager's janitor. */
  janitor(now: number): void {
    const st = this.settings;
    // A Set may lose members while it is iterated (a client that times out leaves it): no copy needed.
    // forEach, not for…of: this runs too seldom to be optimized, and each step's iterator result would be garbage.
    // A client on the plane does nothing here without its row: scan() gives it that.
    this.clients.forEach((c) => c.janitor(now, st));
    if (this.plane && (this.lent.size > 0 || this.nativeClients > 0)) {
      this.plane.scan(this, (c, row) => c.janitor(now, st, row), (id, client, idleSince) => this.#lentServerJanitor(now, st, id, client, idleSince));
    }
    for (const s of [...this.idle]) {
      const tooOld = lifetimeOver(st, s.connectTime, now);
      const tooIdle = st.server_idle_timeout > 0 && now - s.idleSince > st.server_idle_timeout && this.serverCount > st.min_pool_size;
      if (tooOld || tooIdle) s.close();
    }
    if (this.secret && this.serverCount < st.min_pool_size && !this.#loginFailingRecently() && this.manager.mayOpen(this)) this.#login();
    this.dispatch();
  }

  /** A lent server, by its state on the thread: taken back when idle past its time, its lifetime or a reload, or due for server_check_query. */
  #lentServerJanitor(now: number, st: PoolSettings, id: number, client: number | null, idleSince: number): void {
    const s = this.lent.get(id);
    if (!s || client !== null) return;
    const tooIdle = st.server_idle_timeout > 0 && now - idleSince > st.server_idle_timeout && this.serverCount > st.min_pool_size;
    // The plane gives servers out without server_check_query: the janitor checks those idle past server_check_delay (and a second).
    const check = checkDue(st, idleSince, now) && now - idleSince > 1000;
    if (s.generation === this.generation && !lifetimeOver(st, s.connectTime, now) && !tooIdle && !check) return;
    const back = this.plane!.takeServer(this, id);
    if (!back) return;
    if (!check || tooIdle || back.generation !== this.generation || lifetimeOver(st, back.connectTime, now)) back.close();
    else this.#check(back);
  }

  /** Unlinks a waiting client that went away or timed out. */
  forget(c: PooledClient): void {
    c.waiting = false;
    if (this.#waitHead > 64 && this.#waitHead * 2 > this.#waiters.length) {
      this.#waiters = this.#waiters.slice(this.#waitHead);
      this.#waitHead = 0;
    }
  }

  #firstWaiter(): PooledClient | null {
    while (this.#waitHead < this.#waiters.length) {
      const c = this.#waiters[this.#waitHead]!;
      if (c.waiting) return c;
      this.#waitHead++;
    }
    if (this.#waitHead > 0) {
      this.#waiters.length = 0;
      this.#waitHead = 0;
    }
    return null;
  }

  #give(c: PooledClient, s: ServerConn): void {
    c.waiting = false;
    this.counters.wait_time += (Date.now() - c.waitSince) * 1000;
    s.state = 'active';
    this.active.add(s);
    c.link(s);
  }

  #toIdle(s: ServerConn): void {
    s.state = 'idle';
    s.idleSince = Date.now();
    this.idle.push(s);
    this.dispatch();
  }

  #needsCheck(s: ServerConn): boolean {
    return checkDue(this.settings, s.idleSince, Date.now());
  }

  #check(s: ServerConn): void {
    s.state = 'tested';
    this.tested.add(s);
    s.sendInternal(this.settings.server_check_query, (b) => s.socket.write(b));
  }

  /** Room for one more server: pool size (plus the reserve once a client waited long enough) and the database/user caps. */
  #mayOpen(head: PooledClient | null): boolean {
    const st = this.settings;
    let size = st.default_pool_size;
    if (head && st.reserve_pool_size > 0 && Date.now() - head.waitSince > st.reserve_pool_timeout) size += st.reserve_pool_size;
    return this.serverCount < size && this.manager.mayOpen(this);
  }

  #loginFailingRecently(): boolean {
    const e = this.lastLoginError;
    return e !== null && Date.now() - e.at < this.settings.server_login_retry;
  }

  #login(): void {
    this.logins++;
    const generation = this.generation;
    const target = { ...this.target, connectTimeoutMs: this.settings.server_connect_timeout };
    loginUpstream(target, this.secret ?? { kind: 'none' }, new Map()).then((login) => {
      this.logins--;
      this.lastLoginError = null;
      const s = new ServerConn(this.manager.nextServerId(), login, this, { host: target.host, port: target.port }, generation);
      this.defaults ??= new Map(s.vars);
      this.manager.serverOpened(this, s);
      this.#toIdle(s);
    }, (e: unknown) => {
      this.logins--;
      const w = loginFailureWire(e);
      this.lastLoginError = { at: Date.now(), wire: w.wire };
      this.manager.loginFailed(this, w.log);
      this.#failWaiters(w.wire);
    });
  }

  #failWaiters(w: WireError): void {
    for (let c = this.#firstWaiter(); c; c = this.#firstWaiter()) {
      this.forget(c);
      c.fail(w);
    }
  }
}

const targetKey = (t: UpstreamTarget): string => `${t.host}\0${t.port}\0${t.database}\0${t.user}\0${t.sslmode}\0${t.sslrootcert ?? ''}`;

/** The FATAL a client gets for a failed server login, and what the log says. */
function loginFailureWire(e: unknown): { wire: WireError; log: string } {
  if (e instanceof UpstreamRefused) return { wire: e.wire, log: `server refused login: ${e.wire.code} ${e.wire.message}` };
  if (e instanceof GatehouseError) return { wire: wire.upstreamUnavailable(), log: e.message };
  return { wire: wire.internal(), log: String((e as Error)?.message ?? e) };
}
