/** What every sink does: open, write a batch of formatted lines in order, and let go after a failure. */
import type { AuditRecord } from '../format.js';

/** One line (or, in the pgaudit format, one log entry) ready for a sink. */
export interface Formatted {
  text: string;
  kind: AuditRecord['kind'];
  /** When the record was written (the syslog TIMESTAMP). */
  time: Date;
  /** Syslog severity (RFC 5424): 6 informational, 5 notice for refusals and failed logins. */
  severity: number;
}

export interface SinkDriver {
  /** The `sink` label in metrics and logs. */
  readonly name: string;
  readonly format: 'json' | 'pgaudit';
  /** Opens (or reopens after a failure). Rejects when the sink cannot take records. */
  open(): Promise<void>;
  /** Writes the batch, in order; resolves when the sink has taken all of it, rejects when it failed. */
  write(batch: readonly Formatted[]): Promise<void>;
  /** Drops handles after a failure, so the next open() starts clean. Never rejects. */
  reset(): Promise<void>;
  /** Optional: calls back when the sink breaks between writes (a syslog receiver hung up), so it is down at once, not at the next record. */
  watch?(onBroken: (e: Error) => void): void;
  /** Flushes and closes. */
  close(): Promise<void>;
}

/** A write that failed after its first `written` records were taken: only the rest is retried. */
export class PartialWriteError extends Error {
  constructor(readonly written: number, override readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}
