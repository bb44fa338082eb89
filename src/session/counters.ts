/**
 * Per-session statistics, kept on the session object and read by SHOW STATS and the metrics
 * collector at scrape time: nothing is emitted per message. The server leg's chunks are walked by
 * a StreamScanner that looks only at ReadyForQuery ('Z') and ErrorResponse ('E') headers, so the
 * cost is a header read per message, as DESIGN.md's performance principles allow.
 *
 * What session mode counts (PgBouncer's definitions, as the relay can see them):
 * - a query is one ReadyForQuery from the server (a simple Query, or an extended-protocol batch up
 *   to Sync); its time runs from the first client chunk after the server was idle to that
 *   ReadyForQuery, so pipelined queries share one measured duration;
 * - a transaction ends with a ReadyForQuery 'I'; its time runs from the start of its first query;
 * - wait time is the time from the end of the client's authentication to its server being ready
 *   (a PAUSE wait plus the upstream connect and login).
 */
import { BackendCode } from '../protocol/codes.js';
import { backendMessageCap } from '../protocol/codes.js';
import { StreamScanner } from '../protocol/scanner.js';

/** Histogram bucket upper bounds, in seconds (Prometheus `le`), shared with the metrics collector. */
export const DURATION_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** A plain array of doubles: an idle client holds a few of these, and a typed array costs about 500 bytes more each (its ArrayBuffer and backing store). */
const zeros = (): number[] => new Array<number>(DURATION_BUCKETS.length + 1).fill(0);
const NO_COUNTS: readonly number[] = Object.freeze(zeros());

/**
 * Non-cumulative bucket counts (the last slot is +Inf) plus sum and count. The buckets are
 * allocated at the first observation, and SessionCounters makes each of its three histograms at
 * its first observation too: an idle client that never ran a query pays for none (issue 4's idle row).
 */
export class Histogram {
  #counts: number[] | null = null;
  sum = 0;
  count = 0;

  /** The bucket counts (all zero until the first observation; read-only). */
  get counts(): readonly number[] {
    return this.#counts ?? NO_COUNTS;
  }

  observe(seconds: number): void {
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > (DURATION_BUCKETS[i] as number)) i++;
    const counts = (this.#counts ??= zeros());
    counts[i] = (counts[i] as number) + 1;
    this.sum += seconds;
    this.count++;
  }

  /** Replaces the contents (a native relay's copy of this histogram). */
  load(counts: ArrayLike<number>, sum: number, count: number): void {
    const mine = (this.#counts ??= zeros());
    for (let i = 0; i < mine.length; i++) mine[i] = counts[i] ?? 0;
    this.sum = sum;
    this.count = count;
  }

  add(other: Histogram): void {
    this.addCounts(other.counts, other.sum, other.count);
  }

  /** Adds observations counted elsewhere (the native transaction plane's since it was last asked). */
  addCounts(theirs: ArrayLike<number>, sum: number, count: number): void {
    if (count === 0) return;
    const counts = (this.#counts ??= zeros());
    for (let i = 0; i < counts.length; i++) counts[i] = (counts[i] as number) + (theirs[i] ?? 0);
    this.sum += sum;
    this.count += count;
  }
}

/** What a session with no observation yet reads: empty, and frozen so that nothing writes into it. */
const NO_DURATIONS = Object.freeze(new Histogram()) as Histogram;

export type DurationKind = 'query' | 'xact' | 'wait';

const Z = BackendCode.ReadyForQuery;
const E = BackendCode.ErrorResponse;
const IDLE = 0x49; // 'I'

/** What counts a session while a native relay or the native plane carries it: asked to bring the fields up to date. */
export interface CounterSource {
  pullCounters(): void;
}

/** Called for each ErrorResponse the server relays, with its SQLSTATE (rare: not the hot path). */
export type ServerErrorHook = (sqlstate: string) => void;

export class SessionCounters {
  bytesIn = 0;
  bytesOut = 0;
  queries = 0;
  xacts = 0;
  /** Microseconds. */
  queryTime = 0;
  xactTime = 0;
  waitTime = 0;
  /** performance.now() of the last request (the first client chunk while the server was idle). */
  #lastRequest = performance.now();
  /** Made at their first observation: an idle client that never ran a query holds none (issue 4's idle row). */
  #query: Histogram | null = null;
  #xact: Histogram | null = null;
  #wait: Histogram | null = null;
  /** performance.now() when the server went busy (0: idle) and when the open transaction began. */
  #busySince = 0;
  #xactSince = 0;
  /** Made at the first server chunk (and again after park()); null once the stream could not be followed. */
  #scanner: StreamScanner | null | undefined = undefined;
  /** The scanner's callback, made with the first scanner (the native relays and the plane count in C and never need it). */
  #onMessage: ((type: number, body: Buffer) => void) | null = null;
  /** Set while a native relay keeps these counters (src/session/native-relay.ts): refreshes the fields. */
  #source: CounterSource | null = null;

  constructor(private readonly onServerError?: ServerErrorHook) {}

  /** The histograms, read-only (a shared empty one until the first observation). */
  get queryDurations(): Histogram {
    return this.#query ?? NO_DURATIONS;
  }

  get xactDurations(): Histogram {
    return this.#xact ?? NO_DURATIONS;
  }

  get waitDurations(): Histogram {
    return this.#wait ?? NO_DURATIONS;
  }

  #durations(kind: DurationKind): Histogram {
    if (kind === 'query') return (this.#query ??= new Histogram());
    if (kind === 'xact') return (this.#xact ??= new Histogram());
    return (this.#wait ??= new Histogram());
  }

  /** Adds observations counted elsewhere (the native transaction plane's since it was last asked). */
  addDurations(kind: DurationKind, counts: ArrayLike<number>, sum: number, count: number): void {
    if (count > 0) this.#durations(kind).addCounts(counts, sum, count);
  }

  /** Replaces a histogram with a native relay's copy of it. */
  loadDurations(kind: DurationKind, counts: ArrayLike<number>, sum: number, count: number): void {
    const mine = kind === 'query' ? this.#query : kind === 'xact' ? this.#xact : this.#wait;
    // Nothing observed there yet, and nothing here: it stays the shared empty one.
    if (mine !== null || count > 0) this.#durations(kind).load(counts, sum, count);
  }

  /** Epoch milliseconds of the last request (SHOW CLIENTS request_time). */
  get lastRequest(): number {
    this.sync();
    return performance.timeOrigin + this.#lastRequest;
  }

  set lastRequest(epochMs: number) {
    this.#lastRequest = epochMs - performance.timeOrigin;
  }

  /**
   * Counting moved elsewhere (the native relay counts in its own thread): `pull` copies its
   * values into these fields, and every reader calls sync() first. Null detaches it again.
   */
  attachSource(source: CounterSource | null): void {
    this.#source = source;
  }

  /** Brings the fields up to date; readers (SHOW STATS, metrics, the end-of-session fold) call it. */
  sync(): void {
    this.#source?.pullCounters();
  }

  /** Counting moves elsewhere for a while (the native transaction plane): the scanner goes, if it is between messages. */
  park(): void {
    if (this.#scanner?.atBoundary) this.#scanner = undefined;
  }

  /** An ErrorResponse seen by a relay that does its own framing (the native relay). */
  serverError(sqlstate: string): void {
    this.onServerError?.(sqlstate);
  }

  /** The wait before the server was linked, in milliseconds. */
  recordWait(ms: number): void {
    this.waitTime += ms * 1000;
    this.#durations('wait').observe(ms / 1000);
  }

  /** A chunk forwarded from the client to the server. */
  fromClient(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    if (this.#busySince === 0) this.#lastRequest = this.#busySince = performance.now();
  }

  /** A chunk forwarded from the server to the client. */
  fromServer(chunk: Buffer): void {
    this.bytesOut += chunk.length;
    let scanner = this.#scanner;
    if (scanner === null) return;
    scanner ??= this.#scanner = new StreamScanner([Z, E], backendMessageCap);
    try {
      scanner.scan(chunk, (this.#onMessage ??= (type, body) => this.#message(type, body)));
    } catch {
      // A stream the scanner cannot follow is still relayed; only the counting stops.
      this.#scanner = null;
    }
  }

  #message(type: number, body: Buffer): void {
    if (type === E) return this.#error(body);
    const now = performance.now();
    this.queries++;
    const start = this.#busySince === 0 ? now : this.#busySince;
    this.#busySince = 0;
    const ms = now - start;
    this.queryTime += ms * 1000;
    this.#durations('query').observe(ms / 1000);
    if (this.#xactSince === 0) this.#xactSince = start;
    if (body[0] !== IDLE) return;
    const xms = now - this.#xactSince;
    this.#xactSince = 0;
    this.xacts++;
    this.xactTime += xms * 1000;
    this.#durations('xact').observe(xms / 1000);
  }

  /** ErrorResponse: the 'C' field holds the SQLSTATE. */
  #error(body: Buffer): void {
    if (!this.onServerError) return;
    let pos = 0;
    while (pos < body.length && body[pos] !== 0) {
      const field = body[pos];
      const end = body.indexOf(0, pos + 1);
      if (end < 0) return;
      if (field === 0x43) return this.onServerError(body.toString('latin1', pos + 1, end));
      pos = end + 1;
    }
  }
}
