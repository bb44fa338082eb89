/**
 * The guard at the door (DESIGN.md "accept ─► guard"): before a connection's first byte is read,
 * in this order, allow/deny lists, active bans, then per-source rate and concurrency caps and the
 * global handshake cap. It learns from failed connections (fail2ban semantics, src/net/guard/bans.ts)
 * and, with a Redis store, shares what it learns with the other instances.
 *
 * Every decision is made from local memory: the accept path never waits for the store.
 */
import { WireError, wire } from '../../errors.js';
import type { ConnectionEvent, GatewayEvents } from '../../events.js';
import type { GuardConfig } from '../../config/schema.js';
import type { IpAddress } from '../../hba/ip.js';
import type { BanRow, GuardControl } from '../../admin/view.js';
import { BanBook, type Ban } from './bans.js';
import { CidrList, canonicalSource, parseCidr } from './cidr.js';
import { classifyFailure, type FailureKind } from './classify.js';
import { Counters, TokenBuckets } from './limits.js';
import { readStateFile, writeStateFile } from './state-file.js';
import { RedisGuardStore } from './redis-store.js';

/** Why the guard closed a connection; the `reason` label of gatehouse_guard_rejected_total. */
export type GuardReason = 'denied' | 'not allowed' | 'banned' | 'rate' | 'connections' | 'handshakes' | 'global handshakes';

/** A connection the guard let through; the gateway reports when it is admitted and when it closes. */
export interface GuardTicket {
  /** Authentication succeeded: the connection stops counting as a handshake. */
  admitted(): void;
  /** The socket closed. Idempotent. */
  closed(): void;
}

export type Admission =
  | { ok: true; ticket: GuardTicket }
  /** `fatal` is sent (53300) before closing; without it the socket is destroyed with no byte sent. */
  | { ok: false; reason: GuardReason; fatal?: WireError };


const ROLE_PREFIX = 'role:';

export class Guard implements GuardControl {
  private cfg!: GuardConfig;
  private allow!: CidrList;
  private deny!: CidrList;
  private ignore!: CidrList;
  private trustedProxies = new CidrList([]);
  readonly book: BanBook;
  private readonly buckets = new TokenBuckets(0, 0);
  private readonly conns = new Counters();
  private readonly handshakes = new Counters();
  /** Sources over the fleet-wide rate this second (from the store), until the given time. */
  private readonly fleetLimited = new Map<string, number>();
  private readonly roles: BanBook;
  private store: RedisGuardStore | null = null;
  private timer: NodeJS.Timeout | null = null;
  private dirty = false;
  /** The state file is written only between start() and close(): a guard that never loaded it must not overwrite it. */
  private started = false;

  constructor(cfg: GuardConfig, private readonly events: GatewayEvents, private readonly now: () => number = Date.now) {
    this.book = new BanBook(policyOf(cfg));
    this.roles = new BanBook(policyOf(cfg));
    this.configure(cfg);
  }

  /** Applies reloadable settings (a reload swaps the whole guard section). */
  configure(cfg: GuardConfig, trustedProxies?: CidrList): void {
    this.cfg = cfg;
    if (trustedProxies) this.trustedProxies = trustedProxies;
    this.allow = new CidrList(cfg.allow);
    this.deny = new CidrList(cfg.deny);
    this.ignore = new CidrList(cfg.ignore);
    this.book.setPolicy(policyOf(cfg));
    this.roles.setPolicy({ ...policyOf(cfg), maxretry: cfg.lock_role_after, bantime_increment: false });
    this.buckets.set(cfg.max_connections_per_second, cfg.connection_burst || Math.ceil(cfg.max_connections_per_second));
  }

  /** Loads the state file (throws GH_GUARD_STATE when it is damaged) and connects the store. */
  start(): void {
    if (this.started) return;
    if (this.cfg.state_file) {
      const now = this.now();
      const state = readStateFile(this.cfg.state_file);
      for (const o of state.offenses) this.book.restoreOffense(o.source, o.count, o.lastUntil);
      for (const b of state.bans) (b.source.startsWith(ROLE_PREFIX) ? this.roles : this.book).merge(b, now);
    }
    if (this.cfg.store !== 'memory') {
      this.store = new RedisGuardStore(this.cfg.store, this.events, {
        policy: () => this.cfg,
        localBans: () => this.book.list(this.now()),
        mergeBan: (b) => this.book.merge(b, this.now()) && this.changed(),
        dropBan: (source, at) => this.book.dropIfNotNewer(source, at, this.now()) && this.changed(),
        fleetLimit: (source, until) => this.fleetLimited.set(source, until),
      }, this.now);
      this.store.start();
    }
    this.timer = setInterval(() => this.housekeeping(), 1000);
    this.timer.unref();
    this.started = true;
  }

  /** Writes the state file one last time and disconnects the store. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.persist(true);
    this.started = false;
    await this.store?.close();
    this.store = null;
  }

  /** Handshakes in progress, for the concurrency gauge. */
  get handshakesInProgress(): number {
    return this.handshakes.total;
  }

  /**
   * The outright refusals only (deny and allow lists, active bans), with no side effect: the accept
   * screen (src/net/guard/accept-screen.ts) asks this before Node builds a socket for the
   * connection, which halves what a refused connection costs under a flood. A refusal is reported
   * as admit() reports it.
   */
  refusesOutright(source: string, addr: IpAddress): GuardReason | null {
    const reason = this.deny.has(addr) ? 'denied'
      : !this.allow.empty && !this.allow.has(addr) ? 'not allowed'
      : this.book.banOf(source, this.now()) ? 'banned'
      : null;
    if (reason) this.events.emit('guard', { client: source, reason });
    return reason;
  }

  /** Decides at accept time, before any byte is read. `addr` is null for the Unix socket. */
  admit(source: string, addr: IpAddress | null): Admission {
    const now = this.now();
    const refused = this.screen(source, addr, now);
    if (refused) {
      this.events.emit('guard', { client: source, reason: refused.reason, ...(refused.limit !== undefined ? { limit: refused.limit } : {}) });
      return { ok: false, reason: refused.reason, ...(refused.fatal ? { fatal: refused.fatal } : {}) };
    }
    this.conns.add(source);
    this.handshakes.add(source);
    this.store?.countAccept(source, now);
    let handshaking = true;
    let open = true;
    const endHandshake = (): void => {
      if (!handshaking) return;
      handshaking = false;
      this.handshakes.remove(source);
    };
    return {
      ok: true,
      ticket: {
        admitted: endHandshake,
        closed: () => {
          endHandshake();
          if (open) this.conns.remove(source);
          open = false;
        },
      },
    };
  }

  /** The checks in order; the first that refuses wins. */
  private screen(source: string, addr: IpAddress | null, now: number): { reason: GuardReason; limit?: number; fatal?: WireError } | null {
    const c = this.cfg;
    if (addr) {
      if (this.deny.has(addr)) return { reason: 'denied' };
      if (!this.allow.empty && !this.allow.has(addr)) return { reason: 'not allowed' };
      if (this.book.banOf(source, now)) return { reason: 'banned' };
    }
    const host = addr ? `from host "${source}"` : 'on the local socket';
    if (!this.buckets.take(source, now) || (this.fleetLimited.get(source) ?? 0) > now) {
      return { reason: 'rate', limit: c.max_connections_per_second, fatal: wire.tooManyConnections(`too many connection attempts ${host}`) };
    }
    if (c.max_connections_per_source > 0 && this.conns.get(source) >= c.max_connections_per_source) {
      return { reason: 'connections', limit: c.max_connections_per_source, fatal: wire.tooManyConnections(`too many connections ${host}`) };
    }
    if (this.handshakes.get(source) >= c.max_handshakes_per_source) {
      return { reason: 'handshakes', limit: c.max_handshakes_per_source, fatal: wire.tooManyConnections(`too many unauthenticated connections ${host}`) };
    }
    if (this.handshakes.total >= c.max_handshakes) {
      return { reason: 'global handshakes', limit: c.max_handshakes, fatal: wire.tooManyConnections('sorry, too many clients already') };
    }
    return null;
  }

  /** Learns from a connection's outcome (subscribed to the `connection` event). */
  onConnection(e: ConnectionEvent): void {
    const kind = classifyFailure(e);
    if (!kind || !this.counts(kind) || e.client.socket !== 'tcp') return;
    const source = e.client.address;
    const reason = `${kind}: ${e.reason ?? e.sqlstate ?? 'failure'}`;
    if (kind === 'auth' && e.user !== undefined) this.failRole(e.user, reason);
    // Never ban the ignore list, nor a trusted load balancer (a broken health check would lock everyone out).
    const addr = canonicalAddr(source);
    if (this.ignore.has(addr) || this.trustedProxies.has(addr)) return;
    const now = this.now();
    const ban = this.book.fail(source, reason, now);
    if (ban) return this.announce(ban, 'failures');
    void this.store?.reportFailure(source, now).then((shared) => {
      if (shared === null || shared < this.cfg.maxretry || this.cfg.maxretry <= 0) return;
      const t = this.now();
      if (!this.book.banOf(source, t)) this.announce(this.book.ban(source, reason, t, undefined, shared), 'failures');
    });
  }

  private counts(kind: FailureKind): boolean {
    if (kind === 'auth') return this.cfg.count_auth_failures;
    if (kind === 'hba') return this.cfg.count_hba_rejections;
    return this.cfg.count_protocol_violations;
  }

  private failRole(user: string, reason: string): void {
    if (this.cfg.lock_role_after <= 0) return;
    const lock = this.roles.fail(ROLE_PREFIX + user, reason, this.now());
    if (lock) this.announce(lock, 'failures');
  }

  /** lock_role_after: is this role name locked now? */
  roleLocked(user: string): boolean {
    return this.cfg.lock_role_after > 0 && this.roles.banOf(ROLE_PREFIX + user, this.now()) !== null;
  }

  /** SHOW BANS: active bans and role locks, soonest to expire first. */
  bans(): BanRow[] {
    const now = this.now();
    return [...this.book.list(now), ...this.roles.list(now)].map((b) => ({
      source: b.source, reason: b.reason, failures: b.failures, banned_until: b.until,
    }));
  }

  /** BAN source [duration]: `source` is an address (canonicalised) or `role:<name>`. Throws on anything else. */
  ban(source: string, durationMs?: number): BanRow {
    const now = this.now();
    const key = keyOf(source);
    const book = key.startsWith(ROLE_PREFIX) ? this.roles : this.book;
    const b = book.ban(key, 'admin', now, durationMs ?? this.cfg.bantime);
    this.announce(b, 'admin');
    return { source: b.source, reason: b.reason, failures: b.failures, banned_until: b.until };
  }

  /** UNBAN source: false when it was not banned. */
  unban(source: string): boolean {
    const key = keyOf(source);
    const now = this.now();
    const had = (key.startsWith(ROLE_PREFIX) ? this.roles : this.book).unban(key, now);
    this.fleetLimited.delete(key);
    if (!key.startsWith(ROLE_PREFIX)) this.store?.publishUnban(key, now);
    if (had) {
      this.events.emit('guard.unban', { source: key, by: 'admin' });
      this.changed();
    }
    return had;
  }

  private announce(b: Ban, by: 'failures' | 'admin'): void {
    this.events.emit('guard.ban', { source: b.source, reason: b.reason, failures: b.failures, until: b.until, offense: b.offense, by });
    if (!b.source.startsWith(ROLE_PREFIX)) this.store?.publishBan(b);
    this.changed();
  }

  private changed(): true {
    this.dirty = true;
    queueMicrotask(() => this.persist(false));
    return true;
  }

  private persist(force: boolean): void {
    if (!this.started || !this.cfg.state_file || (!this.dirty && !force)) return;
    this.dirty = false;
    const now = this.now();
    try {
      writeStateFile(this.cfg.state_file, {
        version: 1,
        bans: [...this.book.list(now), ...this.roles.list(now)],
        offenses: this.book.offenseList(now),
      });
    } catch (e) {
      this.events.emit('guard.store', { state: 'error', store: 'state_file', error: (e as Error).message });
    }
  }

  private housekeeping(): void {
    const now = this.now();
    const before = this.book.list(now).length;
    this.book.prune(now);
    this.roles.prune(now);
    this.buckets.prune(now);
    for (const [s, until] of this.fleetLimited) if (until <= now) this.fleetLimited.delete(s);
    if (this.book.list(now).length !== before) this.changed();
  }
}

function policyOf(c: GuardConfig): ConstructorParameters<typeof BanBook>[0] {
  return { maxretry: c.maxretry, findtime: c.findtime, bantime: c.bantime, bantime_increment: c.bantime_increment, bantime_factor: c.bantime_factor, bantime_max: c.bantime_max };
}

function canonicalAddr(source: string): IpAddress | null {
  return canonicalSource(source).addr;
}

/** The key a source is banned under: the canonical address, or `role:<name>`. */
function keyOf(source: string): string {
  if (source.startsWith(ROLE_PREFIX)) return source;
  const b = parseCidr(source);
  if (!b || source.includes('/')) throw new Error(`"${source}" is not an IP address (or role:<name>)`);
  return canonicalSource(source).text;
}
