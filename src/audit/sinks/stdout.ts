/** The stdout sink: one line a record, for containers whose runtime collects stdout. */
import type { Writable } from 'node:stream';
import type { AuditSinkSettings } from '../../config/audit-schema.js';
import type { Formatted, SinkDriver } from './driver.js';

type StdoutSettings = Extract<AuditSinkSettings, { type: 'stdout' }>;

export class StdoutSink implements SinkDriver {
  readonly name: string;
  readonly format: 'json' | 'pgaudit';

  constructor(s: StdoutSettings, private readonly out: Writable = process.stdout) {
    this.name = s.name ?? 'stdout';
    this.format = s.format;
  }

  open(): Promise<void> {
    return this.out.writable ? Promise.resolve() : Promise.reject(new Error('stdout is closed'));
  }

  write(batch: readonly Formatted[]): Promise<void> {
    const text = batch.map((f) => `${f.text}\n`).join('');
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.out.once('error', onError);
      this.out.write(text, (e) => {
        this.out.off('error', onError);
        if (e) reject(e);
        else resolve();
      });
    });
  }

  reset(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
