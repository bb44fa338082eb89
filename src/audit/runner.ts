/**
 * One sink's queue and its failure handling (`audit.on_sink_failure`, docs/audit-log.md "When a sink
 * fails"). Records are written in order, in batches of what queued while the previous batch was
 * being written (a group commit). When a write fails the sink is down:
 * - `block`: the queue is kept and retried, head first, with a backoff of 100 ms doubling to 5 s;
 *   the sink is up again only once the head batch has been written, so nothing is lost or reordered;
 * - `drop_and_count`: the queue and every record that arrives while down are dropped and counted.
 * Either way the queue is bounded by `audit.queue_limit`; over it records are dropped and counted.
 * Transitions are logged once each (down, up), never once per record.
 */
import type { Logger } from 'pino';
import type { GatewayEvents } from '../events.js';
import { PartialWriteError, type Formatted, type SinkDriver } from './sinks/driver.js';

export type FailureMode = 'block' | 'drop_and_count';

/** Lines a write takes at most: a sink that fell behind catches up in large writes. */
const MAX_BATCH = 4096;
/**
 * How long a record waits for company before an idle sink writes it. Every write is a round trip
 * through libuv's thread pool (or a syscall for a socket); at thousands of statements a second,
 * writing each event-loop turn's one or two records alone cost more CPU than the records
 * (bench/README.md, "Audit"). A queue of LINGER_LINES writes at once.
 */
const LINGER_MS = 2;
const LINGER_LINES = 256;
/**
 * A queue this long has company enough to be written at the end of this event-loop turn
 * (setImmediate) rather than after LINGER_MS: a native relay's mirror hand-over brings a few
 * milliseconds of records at once, and waiting for a timer after it cost the event loop one more
 * wake-up per hand-over.
 */
const BURST_LINES = 16;
const MIN_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;

export interface RunnerHooks {
  events: GatewayEvents;
  logger: Logger;
  /** Called on every up/down transition (AuditLog recomputes `accepting`). */
  changed(): void;
}

export class SinkRunner {
  private queue: Formatted[] = [];
  private up = true;
  private busy = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private lingerTimer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  /** A retry in flight (close() waits for it rather than opening the sink a second time). */
  private retrying: Promise<void> | null = null;
  private retryMs = MIN_RETRY_MS;
  private droppedWhileDown = 0;
  private overflowing = false;
  private closing = false;
  private idle: (() => void)[] = [];

  constructor(readonly driver: SinkDriver, private mode: FailureMode, private readonly limit: number, private readonly hooks: RunnerHooks) {
    driver.watch?.((e) => {
      // Mid-write, the write itself reports the failure; idle, nothing else would.
      if (this.up && !this.busy && !this.closing) void this.failIdle(e);
    });
  }

  private async failIdle(e: Error): Promise<void> {
    this.busy = true;
    try {
      await this.fail(e);
    } finally {
      this.busy = false;
    }
  }

  get isUp(): boolean {
    return this.up;
  }

  /** Records waiting to be written. */
  get pending(): number {
    return this.queue.length;
  }

  setMode(mode: FailureMode): void {
    this.mode = mode;
  }

  push(f: Formatted): void {
    if (this.closing) return this.drop(1);
    if (!this.up && this.mode === 'drop_and_count') return this.drop(1);
    if (this.queue.length >= this.limit) return this.overflow();
    this.queue.push(f);
    if (!this.up || this.busy) return;
    if (this.queue.length >= LINGER_LINES) void this.pump();
    else this.linger();
  }

  /** Writes what is queued at the end of this turn (BURST_LINES queued) or in LINGER_MS, unless a write is already due. */
  private linger(): void {
    if (this.immediate) return;
    if (this.queue.length < BURST_LINES) {
      this.lingerTimer ??= setTimeout(() => void this.pump(), LINGER_MS);
      return;
    }
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
    this.immediate = setImmediate(() => void this.pump());
  }

  private async pump(): Promise<void> {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    if (this.immediate) clearImmediate(this.immediate);
    this.lingerTimer = null;
    this.immediate = null;
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.up && this.queue.length > 0) {
        const n = Math.min(this.queue.length, MAX_BATCH);
        try {
          await this.driver.write(this.queue.slice(0, n));
        } catch (e) {
          if (e instanceof PartialWriteError) this.written(e.written);
          await this.fail(e);
          break;
        }
        this.written(n);
        // What queued during that write waits for company too, unless there is plenty already.
        if (this.queue.length > 0 && this.queue.length < LINGER_LINES && !this.closing) {
          this.linger();
          break;
        }
      }
    } finally {
      this.busy = false;
      if (this.queue.length === 0 || !this.up) for (const r of this.idle.splice(0)) r();
    }
  }

  private written(n: number): void {
    this.queue.splice(0, n);
    this.retryMs = MIN_RETRY_MS;
    this.hooks.events.emit('audit.sink', { sink: this.driver.name, event: 'written', count: n });
  }

  private async fail(e: unknown): Promise<void> {
    const error = e instanceof Error ? e.message : String(e);
    this.up = false;
    // At once, before anything awaits: a mirrored session (src/session/tap-mirror.ts) stops reading its client now.
    this.hooks.changed();
    this.hooks.events.emit('audit.sink', { sink: this.driver.name, event: 'error', error });
    this.hooks.events.emit('audit.sink', { sink: this.driver.name, event: 'down', error });
    this.hooks.logger.error({ event: 'audit.sink', sink: this.driver.name, error, on_sink_failure: this.mode, queued: this.queue.length },
      this.mode === 'block' ? 'audit sink failed: sessions hold new statements until it recovers' : 'audit sink failed: its records are dropped and counted until it recovers');
    await this.driver.reset();
    if (this.mode === 'drop_and_count') this.drop(this.queue.splice(0).length);
    this.hooks.changed();
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closing) return;
    // Not unref'd: a down sink is work still to do; close() clears it.
    this.retryTimer = setTimeout(() => {
      this.retrying = this.retry().finally(() => (this.retrying = null));
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }

  /** Reopens, then writes the head batch: only a write that succeeds brings the sink back up. */
  private async retry(): Promise<void> {
    this.retryTimer = null;
    try {
      await this.driver.open();
      const n = Math.min(this.queue.length, MAX_BATCH);
      if (n > 0) await this.driver.write(this.queue.slice(0, n));
      if (n > 0) this.written(n);
    } catch (e) {
      if (e instanceof PartialWriteError) this.written(e.written);
      await this.driver.reset();
      this.hooks.events.emit('audit.sink', { sink: this.driver.name, event: 'error', error: e instanceof Error ? e.message : String(e) });
      if (this.mode === 'drop_and_count') this.drop(this.queue.splice(0).length);
      this.scheduleRetry();
      return;
    }
    this.up = true;
    this.overflowing = false;
    this.hooks.events.emit('audit.sink', { sink: this.driver.name, event: 'up' });
    this.hooks.logger.warn({ event: 'audit.sink', sink: this.driver.name, dropped: this.droppedWhileDown }, 'audit sink recovered');
    this.droppedWhileDown = 0;
    this.hooks.changed();
    if (!this.busy) void this.pump();
  }

  private drop(n: number): void {
    if (n === 0) return;
    this.droppedWhileDown += n;
    this.hooks.events.emit('audit.sink', { sink: this.driver.name, event: 'dropped', count: n });
  }

  private overflow(): void {
    if (!this.overflowing) {
      this.overflowing = true;
      this.hooks.logger.error({ event: 'audit.sink', sink: this.driver.name, queue_limit: this.limit },
        'audit sink queue is full: records are dropped and counted until the sink catches up');
    }
    this.drop(1);
  }

  /**
   * Writes what is queued (one last attempt if the sink is down), then closes the sink. Records
   * still unwritten after `timeoutMs` are counted as dropped and logged.
   */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if ((this.lingerTimer || this.immediate) && this.up) void this.pump();
    await this.retrying;
    if (!this.up && this.queue.length > 0) await this.lastAttempt();
    if (this.up && (this.busy || this.queue.length > 0)) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((r) => this.idle.push(r)), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
    }
    const left = this.queue.splice(0).length;
    if (left > 0) {
      this.drop(left);
      this.hooks.logger.error({ event: 'audit.sink', sink: this.driver.name, dropped: left }, 'audit records could not be written before shutdown');
    }
    await this.driver.close().catch((e: unknown) =>
      this.hooks.logger.error({ event: 'audit.sink', sink: this.driver.name, error: e instanceof Error ? e.message : String(e) }, 'audit sink did not close cleanly'));
  }

  private async lastAttempt(): Promise<void> {
    try {
      await this.driver.open();
      this.up = true;
    } catch {
      await this.driver.reset();
      return;
    }
    void this.pump();
  }
}
