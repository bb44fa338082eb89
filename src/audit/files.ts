/**
 * Audit files on disk: the names rotation gives (`<path>.<UTC time>`), finding a file's rotated
 * predecessors, and reading the last line of a file without reading all of it.
 */
import { open, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** `20261204T023000.123Z`: sorts in time order as text. */
export function rotationStamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '');
}

const STAMP = /^\d{8}T\d{6}\.\d{3}Z(?:-\d+)?$/;

/** The rotated predecessors of `path` (`<path>.<stamp>`, `<path>.<stamp>-N`), oldest first. */
export async function rotatedFiles(path: string): Promise<string[]> {
  const base = basename(path);
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch {
    return [];
  }
  const stamps = names.filter((n) => n.startsWith(`${base}.`) && STAMP.test(n.slice(base.length + 1)));
  return stamps.sort(compareStamped).map((n) => join(dirname(path), n));
}

/** `x.…123Z` before `x.…123Z-1` before `x.…123Z-2` … before `x.…123Z-10`. */
function compareStamped(a: string, b: string): number {
  const [sa, na] = splitSuffix(a);
  const [sb, nb] = splitSuffix(b);
  return sa < sb ? -1 : sa > sb ? 1 : na - nb;
}

function splitSuffix(name: string): [string, number] {
  const m = /^(.*Z)(?:-(\d+))?$/.exec(name);
  return m ? [m[1]!, Number(m[2] ?? 0)] : [name, 0];
}

/** The end of a file: its last complete line (no newline) and any bytes after the last newline. */
export interface FileTail {
  size: number;
  last: string | null;
  /** Bytes after the last newline: a record cut short by a crash or a full disk. */
  torn: Buffer | null;
}

const CHUNK = 64 * 1024;

/** Reads backwards from the end until the last complete line is found. A missing file is empty. */
export async function readTail(path: string): Promise<FileTail> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { size: 0, last: null, torn: null };
    throw e;
  }
  try {
    const { size } = await fh.stat();
    const chunks: Buffer[] = [];
    let pos = size;
    let newlines: number[] = [];
    // Collect chunks from the end until two newlines (or the file start) bound the last line.
    while (pos > 0) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, pos);
      chunks.unshift(buf);
      const all = Buffer.concat(chunks);
      newlines = indexesOf(all, 0x0a);
      if (newlines.length >= 2 || (newlines.length === 1 && all[all.length - 1] !== 0x0a)) break;
    }
    return splitTail(Buffer.concat(chunks), size, pos === 0);
  } finally {
    await fh.close();
  }
}

function splitTail(all: Buffer, size: number, fromStart: boolean): FileTail {
  if (all.length === 0) return { size, last: null, torn: null };
  const lastNl = all.lastIndexOf(0x0a);
  const torn = lastNl === all.length - 1 ? null : all.subarray(lastNl + 1);
  if (lastNl < 0) return { size, last: null, torn };
  const before = lastNl > 0 ? all.lastIndexOf(0x0a, lastNl - 1) : -1;
  if (before < 0 && !fromStart) throw new Error('internal: tail read stopped early');
  return { size, last: all.subarray(before + 1, lastNl).toString('utf8'), torn };
}

function indexesOf(buf: Buffer, byte: number): number[] {
  const out: number[] = [];
  for (let i = buf.indexOf(byte); i >= 0; i = buf.indexOf(byte, i + 1)) out.push(i);
  return out;
}
