/**
 * Cuts a byte stream of typed messages (Byte1 type, Int32 length counting itself, body; see
 * protocol-message-formats) into whole frames. Used wherever gatehouse reads messages one by one:
 * the client during authentication and the server during login. The relay uses StreamScanner.
 */
import type { LengthCap } from './codes.js';
import { BodyAssembler } from './assembler.js';
import { violation } from './errors.js';

/** One message. `body` is a view into a pushed chunk unless the message straddled chunks. */
export interface Frame {
  type: number;
  body: Buffer;
}

const EMPTY = Buffer.alloc(0);
const HEADER = 5;

/** pqcomm.c pq_getmessage(): `len < 4 || len > maxlen` is "invalid message length". */
export function checkLength(type: number, len: number, cap: LengthCap): void {
  const max = cap(type);
  if (len < 4 || len > max) throw violation('invalid message length');
}

/**
 * Frames typed messages. The declared length is checked against `cap(type)` as soon as the 5
 * header bytes are known, before any body byte is buffered. A frame inside one chunk is returned
 * as a `subarray` view (no copy); only a frame that straddles chunks is copied, as it arrives.
 * Call {@link next} until it returns null after each {@link push}; then the framer holds at most
 * one partial frame, which is never more than its cap.
 */
export class MessageFramer {
  readonly #cap: LengthCap;
  /** Pushed chunks not yet consumed; `#pos` is the offset into the first. */
  #queue: Buffer[] = [];
  #pos = 0;
  #queued = 0;
  /** A header split across chunks. */
  readonly #header = Buffer.alloc(HEADER);
  #headerLength = 0;
  /** The type and body of a frame that straddles chunks. */
  #type = 0;
  readonly #body = new BodyAssembler();

  /** @param cap the largest length word allowed per type; it may throw for a forbidden type. */
  constructor(cap: LengthCap) {
    this.#cap = cap;
  }

  /** Queue bytes from the socket. The chunk is kept by reference: don't reuse it. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#queue.push(chunk);
    this.#queued += chunk.length;
  }

  /** Bytes held and not yet returned in a frame. */
  get bufferedBytes(): number {
    return this.#queued - this.#pos + this.#headerLength + this.#body.held;
  }

  /** The next whole frame, or null until more bytes arrive. Throws ProtocolError on a bad length. */
  next(): Frame | null {
    for (;;) {
      const chunk = this.#queue[0];
      if (!chunk) return null;
      if (this.#pos === chunk.length) {
        this.#shift();
        continue;
      }
      if (this.#body.active) {
        const frame = this.#continueBody(chunk);
        if (frame) return frame;
        continue;
      }
      if (this.#headerLength === 0 && chunk.length - this.#pos >= HEADER) {
        const frame = this.#frameAt(chunk);
        if (frame) return frame;
        continue;
      }
      const frame = this.#continueHeader(chunk);
      if (frame) return frame;
    }
  }

  /**
   * Everything not yet returned, as the bytes arrived (a partial frame's header included), e.g. to
   * forward once a session switches to relaying. The framer is empty afterwards.
   */
  remainder(): Buffer {
    const parts: Buffer[] = [];
    if (this.#body.active) {
      const header = Buffer.alloc(HEADER);
      header[0] = this.#type;
      header.writeUInt32BE(this.#body.held + this.#body.missing + 4, 1);
      parts.push(header, this.#body.take());
    } else if (this.#headerLength > 0) {
      parts.push(Buffer.from(this.#header.subarray(0, this.#headerLength)));
    }
    const [first, ...others] = this.#queue;
    if (first) parts.push(first.subarray(this.#pos), ...others);
    this.#queue = [];
    this.#queued = this.#pos = this.#headerLength = 0;
    return Buffer.concat(parts);
  }

  #shift(): void {
    const done = this.#queue.shift();
    this.#queued -= done?.length ?? 0;
    this.#pos = 0;
  }

  /** Fast path: a whole header at `#pos`. Returns the frame if its body is in this chunk too. */
  #frameAt(chunk: Buffer): Frame | null {
    const type = chunk[this.#pos] ?? 0;
    const len = chunk.readInt32BE(this.#pos + 1);
    checkLength(type, len, this.#cap);
    const start = this.#pos + HEADER;
    const end = start + len - 4;
    if (end <= chunk.length) {
      this.#pos = end;
      return { type, body: chunk.subarray(start, end) };
    }
    this.#pos = start;
    return this.#startBody(type, len - 4);
  }

  /** Collect header bytes split across chunks. */
  #continueHeader(chunk: Buffer): Frame | null {
    const take = Math.min(HEADER - this.#headerLength, chunk.length - this.#pos);
    chunk.copy(this.#header, this.#headerLength, this.#pos, this.#pos + take);
    this.#headerLength += take;
    this.#pos += take;
    if (this.#headerLength < HEADER) return null;
    this.#headerLength = 0;
    const type = this.#header[0] ?? 0;
    const len = this.#header.readInt32BE(1);
    checkLength(type, len, this.#cap);
    return this.#startBody(type, len - 4);
  }

  #startBody(type: number, bodyLength: number): Frame | null {
    if (bodyLength === 0) return { type, body: EMPTY };
    this.#type = type;
    this.#body.begin(bodyLength);
    return null;
  }

  /** Copy this chunk's share of a straddling body; return the frame once it is whole. */
  #continueBody(chunk: Buffer): Frame | null {
    this.#pos += this.#body.add(chunk, this.#pos);
    return this.#body.missing > 0 ? null : { type: this.#type, body: this.#body.take() };
  }
}
