/**
 * Micro-benchmark of the relay hot path (not a test): StreamScanner against raw loops over the
 * same bytes. The stream mimics a server answering SELECTs, as in research/ecosystem.md §2:
 * RowDescription, 100 DataRows, CommandComplete, ReadyForQuery, repeated; fed in 64 KiB chunks.
 *
 *   node --import tsx bench/scanner.bench.ts
 *
 * Numbers are MB/s (10^6 bytes) of the median run. Compare ratios within one run, not across machines.
 */
import { BackendCode as B, backendMessageCap } from '../src/protocol/codes.js';
import { MessageFramer } from '../src/protocol/framer.js';
import { StreamScanner } from '../src/protocol/scanner.js';
import * as be from '../src/protocol/backend/encode.js';

const CHUNK = 64 * 1024;
const TARGET_BYTES = 64 * 1024 * 1024;
const RUNS = 15;

function buildStream(): { chunks: Buffer[]; bytes: number; messages: number } {
  const rows = Array.from({ length: 100 }, (_, i) => be.dataRow([String(i), `name-${i}`, i % 7 === 0 ? null : 'x'.repeat(20)]));
  const result = [be.rowDescription(['id', 'name', 'filler']), ...rows, be.commandComplete('SELECT 100'), be.readyForQueryIdle];
  const one = Buffer.concat(result);
  const repeats = Math.ceil(TARGET_BYTES / one.length);
  const all = Buffer.concat(Array.from({ length: repeats }, () => one));
  const chunks: Buffer[] = [];
  for (let at = 0; at < all.length; at += CHUNK) chunks.push(all.subarray(at, at + CHUNK));
  return { chunks, bytes: all.length, messages: repeats * result.length };
}

const { chunks, bytes, messages } = buildStream();

/** Baseline 1: touch every byte (what any per-byte pass over the data costs). */
function rawByteLoop(): number {
  let sum = 0;
  for (const c of chunks) for (let i = 0; i < c.length; i++) sum = (sum + (c[i] as number)) | 0;
  return sum;
}

/** Baseline 2: the least work that still finds every boundary: read each header, carry a remainder. */
function rawBoundaryWalk(): number {
  let remaining = 0;
  let count = 0;
  const header = new Uint8Array(5);
  let headerLength = 0;
  for (const c of chunks) {
    let pos = 0;
    if (remaining > 0) {
      pos = Math.min(remaining, c.length);
      remaining -= pos;
    }
    while (headerLength > 0 && pos < c.length) {
      header[headerLength++] = c[pos++] as number;
      if (headerLength === 5) {
        headerLength = 0;
        const len = ((header[1] as number) << 24) | ((header[2] as number) << 16) | ((header[3] as number) << 8) | (header[4] as number);
        count++;
        const available = c.length - pos;
        if (len - 4 > available) remaining = len - 4 - available;
        pos = Math.min(c.length, pos + len - 4);
      }
    }
    while (pos + 5 <= c.length) {
      const len = ((c[pos + 1] as number) << 24) | ((c[pos + 2] as number) << 16) | ((c[pos + 3] as number) << 8) | (c[pos + 4] as number);
      count++;
      const end = pos + 1 + len;
      if (end > c.length) {
        remaining = end - c.length;
        pos = c.length;
        break;
      }
      pos = end;
    }
    for (; pos < c.length; pos++) header[headerLength++] = c[pos] as number;
  }
  return count;
}

let inspected = 0;
const inspect = (): void => {
  inspected++;
};

function scannerServerLeg(): number {
  const scanner = new StreamScanner([B.ReadyForQuery, B.ErrorResponse, B.ParameterStatus, B.BackendKeyData], backendMessageCap);
  for (const c of chunks) scanner.scan(c, inspect);
  return scanner.messages;
}

function scannerNothingInteresting(): number {
  const scanner = new StreamScanner([], backendMessageCap);
  for (const c of chunks) scanner.scan(c, inspect);
  return scanner.messages;
}

function framerViews(): number {
  const framer = new MessageFramer(backendMessageCap);
  let count = 0;
  for (const c of chunks) {
    framer.push(c);
    while (framer.next()) count++;
  }
  return count;
}

function measure(name: string, fn: () => number, expect?: number): void {
  for (let i = 0; i < 3; i++) fn(); // warm up
  const times: number[] = [];
  let result = 0;
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    result = fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  if (expect !== undefined && result !== expect) throw new Error(`${name}: counted ${result}, expected ${expect}`);
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] as number;
  const mbps = bytes / 1e6 / median;
  const mmsgs = messages / 1e6 / median;
  console.log(`${name.padEnd(42)} ${mbps.toFixed(0).padStart(7)} MB/s ${mmsgs.toFixed(1).padStart(6)} M msg/s`);
}

console.log(`stream: ${(bytes / 1e6).toFixed(1)} MB, ${messages} messages, ${chunks.length} chunks of ${CHUNK} bytes; median of ${RUNS} runs`);
measure('raw loop: every byte', rawByteLoop);
measure('raw loop: boundaries only (no caps)', rawBoundaryWalk, messages);
measure('StreamScanner, nothing interesting', scannerNothingInteresting, messages);
measure('StreamScanner, server leg (Z E S K)', scannerServerLeg, messages);
measure('MessageFramer, a view per message', framerViews, messages);
console.log(`(inspect calls: ${inspected})`);
