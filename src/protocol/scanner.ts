/**
 * The relay hot path. The session forwards each chunk as it came; StreamScanner walks the message
 * boundaries in it (Byte1 type, Int32 length; protocol-message-formats) so that gatehouse sees the
 * few messages it must (ReadyForQuery status, Query/Parse text, ErrorResponse…) and nothing else.
 *
 * Skipped messages cost a table lookup and a length read: no copy, no allocation, even when a body
 * spans many chunks (a `remaining` counter runs it down). An interesting message inside one chunk
 * is passed as a `subarray` view; one that straddles chunks is assembled (copied) first.
 */
import { BodyAssembler } from './assembler.js';
import type { LengthCap } from './codes.js';
import { violation } from './errors.js';

/** Called for each interesting message; `body` is only valid during the call unless copied. */
export type Inspect = (type: number, body: Buffer) => void;

const HEADER = 5;
const EMPTY = Buffer.alloc(0);

/** Cap tables by cap function: building one calls the function 256 times, refusals throwing. */
const capTables = new WeakMap<LengthCap, Int32Array>();

function capTable(cap: LengthCap): Int32Array {
  let caps = capTables.get(cap);
  if (caps) return caps;
  caps = new Int32Array(256);
  for (let type = 0; type < 256; type++) {
    try {
      caps[type] = cap(type);
    } catch {
      caps[type] = -1;
    }
  }
  capTables.set(cap, caps);
  return caps;
}

const interestTables = new Map<string, Uint8Array>();

/** The 256-entry table of interesting types, shared by every scanner that asks for the same set (one per session would cost 0.5 KB each). */
function interestTable(types: Iterable<number>): Uint8Array {
  const list = [...types].map((t) => t & 0xff);
  const key = list.join(',');
  let t = interestTables.get(key);
  if (!t) {
    t = new Uint8Array(256);
    for (const type of list) t[type] = 1;
    interestTables.set(key, t);
  }
  return t;
}

export class StreamScanner {
  readonly #interesting: Uint8Array;
  /** Length caps per type, read once from the cap function; -1 marks a type the cap refuses. */
  readonly #caps: Int32Array;
  readonly #cap: LengthCap;
  /** Body bytes of a skipped message still to pass. */
  #remaining = 0;
  /** A header split across chunks (1 to 4 bytes of it so far). */
  readonly #header = Buffer.alloc(HEADER);
  #headerLength = 0;
  /** An interesting message that straddles chunks. */
  #type = 0;
  readonly #body = new BodyAssembler();
  #messages = 0;
  #bytes = 0;

  /**
   * @param interesting the message types to pass to `inspect`, e.g. `[Z, E, S, K]` on the server leg.
   * @param cap the same per-type length caps the framer applies (throwing for forbidden types).
   *   It is read once here, so it must not depend on connection state.
   */
  constructor(interesting: Iterable<number>, cap: LengthCap) {
    this.#interesting = interestTable(interesting);
    this.#cap = cap;
    this.#caps = capTable(cap);
  }

  /** No message is part-way through: dropping this scanner loses nothing. */
  get atBoundary(): boolean {
    return this.#remaining === 0 && this.#headerLength === 0 && !this.#body.active;
  }

  /** Messages whose header has been read. */
  get messages(): number {
    return this.#messages;
  }

  /** Bytes scanned. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Bytes held between chunks: a partial header and a partial interesting body. */
  get bufferedBytes(): number {
    return this.#headerLength + this.#body.held;
  }

  /** Walk one forwarded chunk. Throws ProtocolError when a length breaks its cap. */
  scan(chunk: Buffer, inspect: Inspect): void {
    const n = chunk.length;
    this.#bytes += n;
    let pos = 0;
    if (this.#remaining > 0) {
      pos = Math.min(this.#remaining, n);
      this.#remaining -= pos;
    } else if (this.#body.active) {
      pos = this.#body.add(chunk, 0);
      if (this.#body.missing > 0) return;
      inspect(this.#type, this.#body.take());
    } else if (this.#headerLength > 0) {
      pos = this.#finishHeader(chunk, inspect);
    }
    while (pos + HEADER <= n) {
      const type = chunk[pos] as number;
      const len = ((chunk[pos + 1] as number) << 24) | ((chunk[pos + 2] as number) << 16)
        | ((chunk[pos + 3] as number) << 8) | (chunk[pos + 4] as number);
      if (len < 4 || len > (this.#caps[type] as number)) this.#reject(type);
      this.#messages++;
      const end = pos + 1 + len;
      if (this.#interesting[type] === 1) {
        if (end > n) return this.#startBody(type, chunk, pos + HEADER, len - 4);
        inspect(type, chunk.subarray(pos + HEADER, end));
      } else if (end > n) {
        this.#remaining = end - n;
        return;
      }
      pos = end;
    }
    if (pos < n) {
      chunk.copy(this.#header, 0, pos, n);
      this.#headerLength = n - pos;
    }
  }

  /** Complete a split header from the start of `chunk`; returns where the walk continues. */
  #finishHeader(chunk: Buffer, inspect: Inspect): number {
    const take = Math.min(HEADER - this.#headerLength, chunk.length);
    chunk.copy(this.#header, this.#headerLength, 0, take);
    this.#headerLength += take;
    if (this.#headerLength < HEADER) return take;
    this.#headerLength = 0;
    const type = this.#header[0] as number;
    const len = this.#header.readInt32BE(1);
    if (len < 4 || len > (this.#caps[type] as number)) this.#reject(type);
    this.#messages++;
    const bodyLength = len - 4;
    const available = chunk.length - take;
    if (this.#interesting[type] !== 1) {
      if (bodyLength <= available) return take + bodyLength;
      this.#remaining = bodyLength - available;
      return chunk.length;
    }
    if (bodyLength <= available) {
      inspect(type, bodyLength === 0 ? EMPTY : chunk.subarray(take, take + bodyLength));
      return take + bodyLength;
    }
    this.#startBody(type, chunk, take, bodyLength);
    return chunk.length;
  }

  #startBody(type: number, chunk: Buffer, from: number, bodyLength: number): void {
    this.#type = type;
    this.#body.begin(bodyLength);
    this.#body.add(chunk, from);
  }

  /** The cap function's own error for a refused type, else pq_getmessage()'s. */
  #reject(type: number): never {
    if (this.#caps[type] === -1) this.#cap(type);
    throw violation('invalid message length');
  }
}
