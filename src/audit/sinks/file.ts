/**
 * The file sink: append-only (O_APPEND, mode 0600), fsync by policy, rotation by size and age.
 * Rotation renames the full file to `<path>.<UTC time>` and opens a new one between two batches,
 * so no record is split or lost, and the chain simply continues in the new file.
 */
import { open, rename, stat, type FileHandle } from 'node:fs/promises';
import type { AuditSinkSettings } from '../../config/audit-schema.js';
import { readTail, rotationStamp, type FileTail } from '../files.js';
import { PartialWriteError, type Formatted, type SinkDriver } from './driver.js';

type FileSettings = Extract<AuditSinkSettings, { type: 'file' }>;

export class FileSink implements SinkDriver {
  readonly name: string;
  readonly format: 'json' | 'pgaudit';
  readonly path: string;
  /** The file's end as found by the first open(): where the chain resumes, and a torn line if any. */
  tail: FileTail | null = null;
  private fh: FileHandle | null = null;
  private size = 0;
  private createdAt = 0;
  /** The size before a batch that failed: bytes past it are a partial write, removed on reopen. */
  private sizeBeforeFailure: number | null = null;
  private dirty = false;
  private syncError: Error | null = null;
  private readonly syncTimer: NodeJS.Timeout | null;

  constructor(private readonly s: FileSettings, private readonly now: () => number = Date.now) {
    this.name = s.name ?? `file:${s.path}`;
    this.path = s.path;
    this.format = s.format;
    this.syncTimer = s.fsync === 'interval' && s.fsync_interval > 0 ? setInterval(() => this.syncNow(), s.fsync_interval).unref() : null;
  }

  async open(): Promise<void> {
    const fh = await open(this.s.path, 'a', 0o600);
    try {
      const st = await fh.stat();
      let size = st.size;
      if (this.sizeBeforeFailure !== null && st.isFile() && size > this.sizeBeforeFailure) {
        // Our own failed write left part of a batch: cut it, the batch is written again whole.
        await fh.truncate(this.sizeBeforeFailure);
        size = this.sizeBeforeFailure;
      }
      if (this.tail === null) {
        this.tail = await readTail(this.s.path);
        // A line cut short by a crash is kept (append-only) but ended, so the next record starts on its own line.
        if (this.tail.torn) size += await writeAll(fh, Buffer.from('\n'));
      }
      this.sizeBeforeFailure = null;
      this.size = size;
      this.createdAt = size === 0 || !(st.birthtimeMs > 0) ? this.now() : st.birthtimeMs;
      this.fh = fh;
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e;
    }
  }

  async write(batch: readonly Formatted[]): Promise<void> {
    if (this.syncError) throw this.takeSyncError();
    if (!this.fh) throw new Error('file is not open');
    this.sizeBeforeFailure = this.size;
    // Rotation falls between records: a batch is cut where the next record would pass rotate_size.
    let chunk: string[] = [];
    let pending = 0;
    let done = 0;
    try {
      for (const f of batch) {
        const bytes = Buffer.byteLength(f.text) + 1;
        if (this.dueForRotation(pending, bytes)) {
          done += await this.flushChunk(chunk, pending);
          await this.rotate();
          [chunk, pending] = [[], 0];
        }
        chunk.push(f.text);
        pending += bytes;
      }
      done += await this.flushChunk(chunk, pending);
      if (this.s.fsync === 'always') await this.fh!.sync();
      else this.dirty = true;
    } catch (e) {
      // Records already in a rotated-away file must not be written again.
      throw done > 0 ? new PartialWriteError(done, e) : e;
    }
    this.sizeBeforeFailure = null;
  }

  /** Writes whole records (`bytes`: their UTF-8 length, newlines included); returns how many. */
  private async flushChunk(chunk: string[], bytes: number): Promise<number> {
    if (chunk.length === 0) return 0;
    // Encoded straight into one buffer: no joined string to build and copy again.
    const buf = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (const text of chunk) {
      at += buf.write(text, at);
      buf[at++] = 0x0a;
    }
    this.size += await writeAll(this.fh!, buf.subarray(0, at));
    this.sizeBeforeFailure = this.size;
    return chunk.length;
  }

  async reset(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    await fh?.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.syncTimer) clearInterval(this.syncTimer);
    const fh = this.fh;
    this.fh = null;
    if (!fh) return;
    try {
      if (this.s.fsync !== 'never') await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /** Before adding `next` bytes to `pending` ones: rotate now? Never an empty file. */
  private dueForRotation(pending: number, next: number): boolean {
    if (this.size + pending === 0) return false;
    if (this.s.rotate_size > 0 && this.size + pending + next > this.s.rotate_size) return true;
    return this.s.rotate_interval > 0 && this.now() - this.createdAt >= this.s.rotate_interval;
  }

  /** Renames the full file to `<path>.<stamp>` (`-N` added if taken) and starts a new one. */
  private async rotate(): Promise<void> {
    const fh = this.fh!;
    this.fh = null;
    await fh.sync();
    await fh.close();
    const stamp = `${this.s.path}.${rotationStamp(new Date(this.now()))}`;
    let target = stamp;
    for (let n = 1; await exists(target); n++) target = `${stamp}-${n}`;
    await rename(this.s.path, target);
    this.fh = await open(this.s.path, 'a', 0o600);
    this.size = 0;
    this.sizeBeforeFailure = 0;
    this.createdAt = this.now();
  }

  private syncNow(): void {
    if (!this.dirty || !this.fh) return;
    this.dirty = false;
    // A failed fsync means written records may not be on disk: the next write reports the sink as failed.
    this.fh.sync().catch((e: unknown) => (this.syncError = e instanceof Error ? e : new Error(String(e))));
  }

  private takeSyncError(): Error {
    const e = this.syncError!;
    this.syncError = null;
    return new Error(`fsync failed: ${e.message}`);
  }
}

/** fs writes may be short; loop until the whole buffer is in. */
async function writeAll(fh: FileHandle, buf: Buffer): Promise<number> {
  let off = 0;
  while (off < buf.length) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
  return buf.length;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}
