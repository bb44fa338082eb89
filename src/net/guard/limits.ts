/**
 * Per-source rate and concurrency counters for the accept path. Pure and synchronous: the accept
 * path decides from these alone, never from a network round trip.
 */
import { MAX_TRACKED_SOURCES } from './bans.js';

/** New connections per second per source: a token bucket of `burst` tokens refilled at `rate` a second. */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private rate: number, private burst: number) {}

  set(rate: number, burst: number): void {
    this.rate = rate;
    this.burst = burst;
  }

  /** Takes one token; false when the source is over its rate. Always true when the rate is 0 (off). */
  take(source: string, now: number): boolean {
    if (this.rate <= 0) return true;
    const b = this.buckets.get(source);
    const capacity = Math.max(1, this.burst);
    const tokens = b ? Math.min(capacity, b.tokens + ((now - b.at) / 1000) * this.rate) : capacity;
    if (tokens < 1) {
      if (b) Object.assign(b, { tokens, at: now });
      return false;
    }
    this.buckets.delete(source);
    this.buckets.set(source, { tokens: tokens - 1, at: now });
    if (this.buckets.size > MAX_TRACKED_SOURCES) this.buckets.delete(this.buckets.keys().next().value!);
    return true;
  }

  /** Forgets buckets that have refilled (they would start full anyway). */
  prune(now: number): void {
    const capacity = Math.max(1, this.burst);
    for (const [s, b] of [...this.buckets]) if (this.rate <= 0 || b.tokens + ((now - b.at) / 1000) * this.rate >= capacity) this.buckets.delete(s);
  }
}

/** Counts per key that go up and down (concurrent connections, handshakes). */
export class Counters {
  private readonly counts = new Map<string, number>();
  total = 0;

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  add(key: string): void {
    this.counts.set(key, this.get(key) + 1);
    this.total++;
  }

  remove(key: string): void {
    const left = this.get(key) - 1;
    if (left <= 0) this.counts.delete(key);
    else this.counts.set(key, left);
    this.total--;
  }
}
