/**
 * fail2ban's jail, built in: failures per source within `findtime`; `maxretry` of them ban the
 * source for `bantime`, and a repeat offender's bantime grows by `bantime_factor` per earlier ban
 * up to `bantime_max` (fail2ban's bantime.increment). Pure: time is passed in, nothing is I/O.
 */

/** What the book needs from the config (durations in ms). */
export interface BanPolicy {
  maxretry: number;
  findtime: number;
  bantime: number;
  bantime_increment: boolean;
  bantime_factor: number;
  bantime_max: number;
}

/** One active ban. `offense` is 1 for a first ban, 2 for the next one, and so on. */
export interface Ban {
  source: string;
  reason: string;
  failures: number;
  bannedAt: number;
  until: number;
  offense: number;
}

/** Earlier bans are remembered this long after the last one ends (fail2ban's dbpurgeage default, 1 day). */
export const OFFENSE_MEMORY_MS = 86_400_000;
/** Sources with failures on record; past it the oldest record is forgotten, so a spray of addresses cannot exhaust memory. */
export const MAX_TRACKED_SOURCES = 100_000;

interface Offenses {
  count: number;
  lastUntil: number;
}

export class BanBook {
  private readonly failures = new Map<string, number[]>();
  private readonly active = new Map<string, Ban>();
  private readonly offenses = new Map<string, Offenses>();

  constructor(private policy: BanPolicy) {}

  setPolicy(policy: BanPolicy): void {
    this.policy = policy;
  }

  /** The source's ban, if one is in force at `now` (an expired one is dropped). */
  banOf(source: string, now: number): Ban | null {
    const b = this.active.get(source);
    if (!b) return null;
    if (b.until > now) return b;
    this.active.delete(source);
    return null;
  }

  /** Failures on record within findtime. */
  failuresOf(source: string, now: number): number {
    return this.recent(source, now).length;
  }

  /** Records one failure; returns the ban it triggers, if any. `shared` is a fleet-wide count that may exceed ours. */
  fail(source: string, reason: string, now: number, shared = 0): Ban | null {
    if (this.policy.maxretry <= 0 || this.banOf(source, now)) return null;
    const list = this.recent(source, now);
    list.push(now);
    this.failures.delete(source);
    this.failures.set(source, list);
    this.evictOldest(this.failures);
    const count = Math.max(list.length, shared);
    return count >= this.policy.maxretry ? this.ban(source, reason, now, undefined, count) : null;
  }

  /** Bans a source (an admin's BAN or a failure count). `duration` overrides the computed bantime. */
  ban(source: string, reason: string, now: number, duration?: number, failures = this.failuresOf(source, now)): Ban {
    const prior = this.offenses.get(source);
    const offense = prior && now - prior.lastUntil < OFFENSE_MEMORY_MS ? prior.count + 1 : 1;
    const until = now + (duration ?? this.bantimeFor(offense));
    const ban: Ban = { source, reason, failures, bannedAt: now, until, offense };
    this.active.set(source, ban);
    this.offenses.delete(source);
    this.offenses.set(source, { count: offense, lastUntil: until });
    this.evictOldest(this.offenses);
    this.failures.delete(source);
    return ban;
  }

  /** fail2ban's bantime.increment: bantime × factor^(offense−1), capped at bantime_max. */
  bantimeFor(offense: number): number {
    const { bantime, bantime_increment, bantime_factor, bantime_max } = this.policy;
    if (!bantime_increment || offense <= 1) return Math.min(bantime, Math.max(bantime, bantime_max));
    return Math.min(bantime * bantime_factor ** (offense - 1), Math.max(bantime, bantime_max));
  }

  /** Lifts a ban and forgets the source's failures; false when it was not banned. */
  unban(source: string, now: number): boolean {
    const had = this.banOf(source, now) !== null;
    this.active.delete(source);
    this.failures.delete(source);
    return had;
  }

  /**
   * Takes a ban made elsewhere (the state file, another instance through the store). The later
   * `until` wins; returns true when it changed what is enforced here.
   */
  merge(ban: Ban, now: number): boolean {
    if (ban.until <= now) return false;
    const mine = this.banOf(ban.source, now);
    if (mine && mine.until >= ban.until) return false;
    this.active.set(ban.source, { ...ban });
    const prior = this.offenses.get(ban.source);
    if (!prior || prior.count < ban.offense) this.offenses.set(ban.source, { count: ban.offense, lastUntil: ban.until });
    return true;
  }

  /** Drops a ban made at or before `bannedAt` (an unban made elsewhere). */
  dropIfNotNewer(source: string, unbannedAt: number, now: number): boolean {
    const b = this.banOf(source, now);
    if (!b || b.bannedAt > unbannedAt) return false;
    this.active.delete(source);
    return true;
  }

  /** Active bans, soonest to expire first. */
  list(now: number): Ban[] {
    for (const s of [...this.active.keys()]) this.banOf(s, now);
    return [...this.active.values()].sort((a, b) => a.until - b.until || a.source.localeCompare(b.source));
  }

  /** Earlier-offense counts still remembered, for the state file. */
  offenseList(now: number): { source: string; count: number; lastUntil: number }[] {
    const out: { source: string; count: number; lastUntil: number }[] = [];
    for (const [source, o] of this.offenses) if (now - o.lastUntil < OFFENSE_MEMORY_MS) out.push({ source, ...o });
    return out;
  }

  restoreOffense(source: string, count: number, lastUntil: number): void {
    this.offenses.set(source, { count, lastUntil });
  }

  /** Forgets failures older than findtime and expired bans; called on a timer. */
  prune(now: number): void {
    for (const s of [...this.failures.keys()]) if (this.recent(s, now).length === 0) this.failures.delete(s);
    for (const s of [...this.active.keys()]) this.banOf(s, now);
    for (const [s, o] of [...this.offenses]) if (now - o.lastUntil >= OFFENSE_MEMORY_MS) this.offenses.delete(s);
  }

  private recent(source: string, now: number): number[] {
    const list = this.failures.get(source);
    if (!list) return [];
    const from = now - this.policy.findtime;
    let i = 0;
    while (i < list.length && list[i]! <= from) i++;
    if (i > 0) list.splice(0, i);
    return list;
  }

  private evictOldest(map: Map<string, unknown>): void {
    while (map.size > MAX_TRACKED_SOURCES) map.delete(map.keys().next().value!);
  }
}
