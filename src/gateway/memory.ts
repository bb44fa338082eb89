/**
 * Memory given back after a burst of connections (`release_memory_after`; docs/pooling.md,
 * "Memory per idle client").
 *
 * A burst of logins grows two things that an idle process then keeps:
 * - V8's young generation. Scavenges during the burst grow its semi-spaces (up to 16 MB each).
 *   V8's memory reducer shrinks them, but it is armed by a major collection, which a burst of
 *   short-lived garbage does not cause: the process can hold them for as long as it stays quiet.
 * - glibc's heap. The sockets' and reads' freed buffers stay resident, scattered between live
 *   allocations, until malloc_trim.
 *
 * Once no connection has arrived for `release_memory_after` and the main thread was idle over the
 * last check, one full collection and one malloc_trim give both back, once per burst. On the 2-core
 * benchmark machine, the harness's idle test (900 pgbench clients in transaction mode, at rest) went
 * from 17.2 KB of RSS a client to 7.4 with this alone (bench/README.md, session 15).
 *
 * A large burst is not left for that long. Once RSS stands {@link LARGE_BURST_KB} above what the
 * last release left, {@link QUICK_QUIET_MS} of quiet is enough: 1,000 logins grow RSS by 17 to 24 MB,
 * which an idle process would otherwise hold for `release_memory_after` (the reference harness
 * reads RSS 1 s after the last one: 18 to 24 KB a client before, 2 to 5 after; bench/README.md,
 * session 20). Smaller bursts wait for `release_memory_after`, so a trickle of connections does
 * not pay a collection each.
 *
 * The collection is V8's critical memory-pressure notification where the native addon is loaded
 * (native/memory.cc): a full collection with V8's reduce-memory flag, which shrinks the young
 * generation at once. A plain `gc()` (the fallback) shrinks it only when allocation has been slow
 * over the last seconds, which right after a burst it has not been; V8's memory reducer then
 * shrinks it about 8 s later. The event's young_after_kb says which happened.
 * The collection stops the main thread (25 to 90 ms for a 25 MB heap: V8 may collect twice); the
 * native relay's thread, which carries plaintext and native-TLS sessions, does not stop, and the
 * main thread was idle.
 *
 * Startup counts as the first burst. Loading the modules and the parser grows the young generation
 * to its largest (16 MB semi-spaces) before any client arrives, and a process that then stays quiet
 * would hold it: about 100 MB of RSS idle instead of about 80 (measured on the benchmark machine).
 */
import { performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { GatewayEvents } from '../events.js';
import { loadedAddon } from '../session/native-relay.js';

/** How often the quiet is checked, and the window the main thread's idleness is measured over. */
export const CHECK_MS = 250;
/** RSS this far above what the last release left (or what startup had) makes a burst large. */
export const LARGE_BURST_KB = 8192;
/** The quiet after which a large burst is released (or `release_memory_after`, if shorter). */
export const QUICK_QUIET_MS = 250;
/** The main thread counts as idle below this share of busy time over the last check. */
export const IDLE_UTILIZATION = 0.05;

export interface Reclaimers {
  /** A full garbage collection that also shrinks V8's young generation where it can; null where none can be asked for. */
  collect: (() => void) | null;
  /** malloc_trim; true when pages went back (false without the native addon loaded). Null: none. */
  trim: (() => boolean) | null;
}

/** What {@link MemoryRelease.check} reads; the real ones unless a test gives its own. */
export interface MemoryProbe {
  now(): number;
  /** The main thread's busy share since the previous call (0..1). */
  busy(): number;
  rssKb(): number;
  youngKb(): number;
}

export interface MemoryReleaseEvent {
  /** What ended: the process's startup (the first release, when no connection came before it) or a burst of connections. */
  after: 'startup' | 'burst';
  /** Connections since the previous release. */
  connections: number;
  /** Whether RSS stood LARGE_BURST_KB above the last release's, so the quiet needed was QUICK_QUIET_MS. */
  large: boolean;
  rss_before_kb: number;
  rss_after_kb: number;
  young_before_kb: number;
  young_after_kb: number;
  /** How long the main thread was stopped, in milliseconds. */
  pause_ms: number;
}

/** A full collection, asked for as `node --expose-gc` would allow, without exposing `gc` to the process's own global. */
function collector(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

/**
 * The memory-pressure collection and the trim run through the native addon when something already
 * loaded it (an engine that uses it: the defaults do where it is built); loading it only for this
 * would start its relay thread. Without it, a plain full collection.
 */
export function defaultReclaimers(): Reclaimers {
  const gc = collector();
  return {
    collect: () => {
      if (!loadedAddon()?.memoryPressure()) gc?.();
    },
    trim: () => loadedAddon()?.trimMemory() ?? false,
  };
}

function defaultProbe(): MemoryProbe {
  let mark = performance.eventLoopUtilization();
  return {
    now: Date.now,
    busy: () => {
      const next = performance.eventLoopUtilization();
      const u = performance.eventLoopUtilization(next, mark).utilization;
      mark = next;
      return u;
    },
    rssKb: () => Math.round(process.memoryUsage.rss() / 1024),
    youngKb: () => Math.round((getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0) / 1024),
  };
}

export class MemoryRelease {
  #connections = 0;
  #lastArrival = 0;
  /** Startup, not yet followed by a release. */
  #startup = false;
  /** RSS (KB) when the checks started or the last release ended; a burst is large from LARGE_BURST_KB above it. */
  #baselineKb = Infinity;
  #timer: NodeJS.Timeout | null = null;

  /** `afterMs` is read at every check (a reload may change it); 0 turns the release off. */
  constructor(
    private readonly afterMs: () => number,
    private readonly events: GatewayEvents,
    private readonly reclaim: Reclaimers = defaultReclaimers(),
    private readonly probe: MemoryProbe = defaultProbe(),
  ) {}

  /** Whether anything can be given back here (a collection or a trim). */
  get available(): boolean {
    return this.reclaim.collect !== null || this.reclaim.trim !== null;
  }

  /** Starts the checks; the quiet before the first release is counted from here (startup is a burst). */
  start(): void {
    if (this.#timer || !this.available) return;
    this.#startup = true;
    this.#lastArrival = this.probe.now();
    this.#baselineKb = this.probe.rssKb();
    this.#timer = setInterval(() => this.check(), CHECK_MS).unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** A connection was accepted. */
  arrived(): void {
    this.#connections++;
    this.#lastArrival = this.probe.now();
  }

  /** Releases when a burst has been followed by quiet on an idle main thread; returns what was done, or null. */
  check(): MemoryReleaseEvent | null {
    const busy = this.probe.busy();
    const after = this.afterMs();
    if (after <= 0 || (this.#connections === 0 && !this.#startup) || busy >= IDLE_UTILIZATION) return null;
    const rssBefore = this.probe.rssKb();
    this.#baselineKb = Math.min(this.#baselineKb, rssBefore); // a fallback gc()'s young generation shrinks later
    const large = rssBefore - this.#baselineKb >= LARGE_BURST_KB;
    if (this.probe.now() - this.#lastArrival < (large ? Math.min(after, QUICK_QUIET_MS) : after)) return null;
    const youngBefore = this.probe.youngKb();
    const t0 = performance.now();
    this.reclaim.collect?.();
    this.reclaim.trim?.();
    const e: MemoryReleaseEvent = {
      after: this.#startup && this.#connections === 0 ? 'startup' : 'burst', connections: this.#connections, large, rss_before_kb: rssBefore, rss_after_kb: this.probe.rssKb(),
      young_before_kb: youngBefore, young_after_kb: this.probe.youngKb(), pause_ms: Math.round((performance.now() - t0) * 10) / 10,
    };
    this.#connections = 0;
    this.#startup = false;
    this.#baselineKb = e.rss_after_kb;
    this.events.emit('memory.release', e);
    return e;
  }
}
