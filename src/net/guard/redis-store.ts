/**
 * The guard's shared store (`guard.store: redis://…`): failure counts, bans and per-second
 * connection counters shared by every gatehouse instance on one Redis.
 *
 * - A ban is written to a hash and published; every instance also re-reads the hash each second,
 *   so a ban is enforced fleet-wide within a second even if a message is lost.
 * - Nothing on the accept path waits for Redis: the guard decides from its local state, which this
 *   store updates. Commands fail at once while Redis is unreachable (no offline queue).
 * - While Redis is down the guard keeps its local counts and bans (never "no limits", never
 *   "nobody gets in"); when Redis returns, local bans are pushed back and the shared ones pulled.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { GatewayEvents } from '../../events.js';
import type { GuardConfig } from '../../config/schema.js';
import type { Ban } from './bans.js';

const PREFIX = 'gatehouse:guard:';
const BANS = `${PREFIX}bans`;
const UNBANS = `${PREFIX}unbans`;
const CHANNEL = `${PREFIX}events`;
const SYNC_MS = 1000;
const RATE_FLUSH_MS = 200;
/** Unban tombstones outlive any ban they could cancel. */
const UNBAN_TTL_MS = 86_400_000;

/** What the store reads from and writes into the guard. */
export interface StoreSink {
  policy(): GuardConfig;
  localBans(): Ban[];
  /** Takes a ban from the fleet; true when it changed what is enforced here. */
  mergeBan(ban: Ban): boolean;
  /** Drops a local ban made at or before `at` (an unban elsewhere); true when one was dropped. */
  dropBan(source: string, at: number): boolean;
  /** The fleet has gone over the per-second rate for `source` until `until`. */
  fleetLimit(source: string, until: number): void;
}

type Message =
  | { op: 'ban'; ban: Ban; from: string }
  | { op: 'unban'; source: string; at: number; from: string }
  /** A source went over the fleet-wide rate; refuse it until `until` (the end of that second). */
  | { op: 'rate'; source: string; until: number; from: string };

export class RedisGuardStore {
  private readonly id = randomUUID();
  private readonly cmd: Redis;
  private readonly sub: Redis;
  /** null until the first connect succeeds or fails, so that a Redis down at start is logged too. */
  private up: boolean | null = null;
  private seq = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  /** Accepted connections per source not yet added to the shared per-second counters. */
  private pendingRates = new Map<string, { second: number; n: number }>();

  constructor(url: string, private readonly events: GatewayEvents, private readonly sink: StoreSink, private readonly now: () => number) {
    const opts = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 1000,
      commandTimeout: 1000,
      retryStrategy: (attempt: number) => Math.min(100 * attempt, 1000),
    };
    this.cmd = new Redis(url, opts);
    // Subscriptions are re-made by ioredis after a reconnect; they may queue while it is down.
    this.sub = new Redis(url, { ...opts, enableOfflineQueue: true, commandTimeout: undefined });
  }

  start(): void {
    this.cmd.on('ready', () => this.setUp(true));
    this.cmd.on('error', (e: Error) => this.setUp(false, e.message));
    this.cmd.on('close', () => this.setUp(false, 'connection closed'));
    this.sub.on('error', () => undefined);
    this.sub.on('message', (_channel: string, text: string) => this.onMessage(text));
    this.cmd.connect().catch(() => undefined);
    this.sub.connect().then(() => this.sub.subscribe(CHANNEL)).catch(() => undefined);
    this.timers.push(setInterval(() => void this.sync(), SYNC_MS), setInterval(() => void this.flushRates(), RATE_FLUSH_MS));
    for (const t of this.timers) t.unref();
  }

  async close(): Promise<void> {
    for (const t of this.timers.splice(0)) clearInterval(t);
    this.cmd.removeAllListeners('close');
    this.cmd.disconnect();
    this.sub.disconnect();
    return Promise.resolve();
  }

  get connected(): boolean {
    return this.up === true;
  }

  private setUp(up: boolean, error?: string): void {
    if (up === this.up) return;
    this.up = up;
    this.events.emit('guard.store', { state: up ? 'up' : 'down', store: 'redis', ...(error ? { error } : {}) });
    if (up) void this.sync();
  }

  private failed(e: unknown): null {
    this.events.emit('guard.store', { state: 'error', store: 'redis', error: (e as Error)?.message ?? String(e) });
    return null;
  }

  /** Adds a failure to the shared window; resolves to the fleet-wide count, or null when Redis is unreachable. */
  async reportFailure(source: string, at: number): Promise<number | null> {
    if (!this.up) return null;
    const key = `${PREFIX}fail:${source}`;
    const findtime = this.sink.policy().findtime;
    try {
      const r = await this.cmd.multi()
        .zadd(key, at, `${at}:${this.id}:${++this.seq}`)
        .zremrangebyscore(key, '-inf', at - findtime)
        .zcard(key)
        .pexpire(key, Math.max(1, findtime))
        .exec();
      const card = r?.[2]?.[1];
      return typeof card === 'number' ? card : null;
    } catch (e) {
      return this.failed(e);
    }
  }

  publishBan(ban: Ban): void {
    if (!this.up) return;
    this.cmd.multi().hset(BANS, ban.source, JSON.stringify(ban)).hdel(UNBANS, ban.source)
      .publish(CHANNEL, JSON.stringify({ op: 'ban', ban, from: this.id } satisfies Message)).exec().catch((e) => this.failed(e));
  }

  publishUnban(source: string, at: number): void {
    if (!this.up) return;
    this.cmd.multi().hdel(BANS, source).hset(UNBANS, source, String(at)).del(`${PREFIX}fail:${source}`)
      .publish(CHANNEL, JSON.stringify({ op: 'unban', source, at, from: this.id } satisfies Message)).exec().catch((e) => this.failed(e));
  }

  /** Counts an accepted connection toward the fleet-wide per-second rate (sent in batches). */
  countAccept(source: string, at: number): void {
    if (this.sink.policy().max_connections_per_second <= 0) return;
    const second = Math.floor(at / 1000);
    const p = this.pendingRates.get(source);
    if (p && p.second === second) p.n++;
    else this.pendingRates.set(source, { second, n: 1 });
  }

  private async flushRates(): Promise<void> {
    if (this.pendingRates.size === 0) return;
    const batch = this.pendingRates;
    this.pendingRates = new Map();
    if (!this.up) return;
    const c = this.sink.policy();
    const limit = Math.max(c.connection_burst, c.max_connections_per_second);
    const entries = [...batch];
    const pipe = this.cmd.pipeline();
    for (const [source, { second, n }] of entries) pipe.incrby(`${PREFIX}rate:${source}:${second}`, n).expire(`${PREFIX}rate:${source}:${second}`, 2);
    try {
      const r = (await pipe.exec()) ?? [];
      entries.forEach(([source, { second }], i) => {
        const total = r[i * 2]?.[1];
        if (typeof total !== 'number' || total <= limit) return;
        // The instance whose increment crossed the limit tells the others, which may have added theirs earlier.
        const until = (second + 1) * 1000;
        this.sink.fleetLimit(source, until);
        if (total - batch.get(source)!.n <= limit) {
          this.cmd.publish(CHANNEL, JSON.stringify({ op: 'rate', source, until, from: this.id } satisfies Message)).catch((e) => this.failed(e));
        }
      });
    } catch (e) {
      this.failed(e);
    }
  }

  private onMessage(text: string): void {
    let m: Message;
    try {
      m = JSON.parse(text) as Message;
    } catch {
      return;
    }
    if (m.from === this.id) return;
    if (m.op === 'ban' && this.sink.mergeBan(m.ban)) this.announceBan(m.ban);
    if (m.op === 'unban' && this.sink.dropBan(m.source, m.at)) this.events.emit('guard.unban', { source: m.source, by: 'store' });
    if (m.op === 'rate') this.sink.fleetLimit(m.source, m.until);
  }

  private announceBan(b: Ban): void {
    this.events.emit('guard.ban', { source: b.source, reason: b.reason, failures: b.failures, until: b.until, offense: b.offense, by: 'store' });
  }

  /**
   * Once a second (and when Redis comes back): pull the fleet's bans and unbans, push local bans
   * that Redis lacks (it restarted, or was down when they were made), drop expired entries.
   */
  private async sync(): Promise<void> {
    if (!this.up) return;
    try {
      const [bans, unbans] = await Promise.all([this.cmd.hgetall(BANS), this.cmd.hgetall(UNBANS)]);
      const now = this.now();
      const pipe = this.cmd.pipeline();
      for (const [source, at] of Object.entries(unbans)) {
        if (now - Number(at) > UNBAN_TTL_MS) pipe.hdel(UNBANS, source);
        else if (this.sink.dropBan(source, Number(at))) this.events.emit('guard.unban', { source, by: 'store' });
      }
      const remote = new Map<string, Ban>();
      for (const [source, json] of Object.entries(bans)) {
        const b = parseBan(json);
        if (!b || b.until <= now) pipe.hdel(BANS, source);
        else remote.set(source, b);
      }
      for (const b of remote.values()) if (this.sink.mergeBan(b)) this.announceBan(b);
      for (const b of this.sink.localBans()) {
        const r = remote.get(b.source);
        const cancelled = unbans[b.source] !== undefined && Number(unbans[b.source]) >= b.bannedAt;
        if (!cancelled && (!r || r.until < b.until)) pipe.hset(BANS, b.source, JSON.stringify(b));
      }
      if (pipe.length > 0) await pipe.exec();
    } catch (e) {
      this.failed(e);
    }
  }
}

function parseBan(json: string): Ban | null {
  try {
    const b = JSON.parse(json) as Ban;
    return typeof b.source === 'string' && typeof b.until === 'number' && typeof b.bannedAt === 'number' ? b : null;
  } catch {
    return null;
  }
}
