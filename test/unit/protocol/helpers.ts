/** Shared helpers for the codec tests: feeding bytes in every split, and checking ProtocolErrors. */
import { strict as assert } from 'node:assert';
import { MessageFramer, type Frame } from '../../../src/protocol/framer.js';
import { StreamScanner } from '../../../src/protocol/scanner.js';
import { ProtocolError } from '../../../src/protocol/errors.js';
import type { LengthCap } from '../../../src/protocol/codes.js';

/** Every way the tests cut `bytes` into chunks: whole, two pieces at each position, one byte at a time. */
export function* splits(bytes: Buffer): Generator<{ label: string; chunks: Buffer[] }> {
  yield { label: 'whole', chunks: [bytes] };
  for (let at = 0; at <= bytes.length; at++) {
    // Fresh copies, so a view that outlives its chunk would show up as a wrong result.
    yield { label: `split at ${at}`, chunks: [Buffer.from(bytes.subarray(0, at)), Buffer.from(bytes.subarray(at))] };
  }
  yield { label: 'byte by byte', chunks: [...bytes].map((b) => Buffer.from([b])) };
}

/** Push the chunks one by one, draining after each push, and return copies of every frame. */
export function frameAll(cap: LengthCap, chunks: Buffer[]): { type: number; body: Buffer }[] {
  const framer = new MessageFramer(cap);
  const out: Frame[] = [];
  for (const chunk of chunks) {
    framer.push(chunk);
    for (let f = framer.next(); f; f = framer.next()) out.push({ type: f.type, body: Buffer.from(f.body) });
  }
  assert.equal(framer.bufferedBytes, 0, 'nothing left over');
  return out;
}

/** Scan the chunks and return copies of the bodies passed to inspect, plus the counters. */
export function scanAll(cap: LengthCap, interesting: number[], chunks: Buffer[]) {
  const scanner = new StreamScanner(interesting, cap);
  const seen: { type: number; body: Buffer }[] = [];
  for (const chunk of chunks) scanner.scan(chunk, (type, body) => seen.push({ type, body: Buffer.from(body) }));
  assert.equal(scanner.bufferedBytes, 0, 'nothing held after the last message');
  return { seen, messages: scanner.messages, bytes: scanner.bytes };
}

/** Assert `fn` throws a ProtocolError whose wire error has this SQLSTATE and (optionally) message. */
export function throwsProtocol(fn: () => unknown, code = '08P01', message?: string | RegExp): ProtocolError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ProtocolError, `expected ProtocolError, got ${String(caught)}`);
  assert.equal(caught.code, 'GH_PROTOCOL');
  assert.equal(caught.wire.code, code);
  assert.equal(caught.wire.severity, 'FATAL');
  if (typeof message === 'string') assert.equal(caught.wire.message, message);
  else if (message) assert.match(caught.wire.message, message);
  return caught;
}

/** A typed message from parts, independent of the encoders under test. */
export function frame(type: string, ...parts: (Buffer | string | number[])[]): Buffer {
  const body = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
  const head = Buffer.alloc(5);
  head[0] = type.charCodeAt(0);
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/** The body of an encoded typed message. */
export const bodyOf = (message: Buffer): Buffer => message.subarray(5);
