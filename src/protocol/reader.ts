/**
 * A cursor over one message body for the decoders. Every read is bounds-checked and fails with
 * PostgreSQL's own pqformat.c wording (08P01), so a decoder never throws RangeError.
 */
import { violation } from './errors.js';

export class BodyReader {
  #buf: Buffer = Buffer.alloc(0);
  #pos = 0;

  /** Start reading `body`. Decoders share one reader per module: they are synchronous. */
  reset(body: Buffer): this {
    this.#buf = body;
    this.#pos = 0;
    return this;
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.#buf.length - this.#pos;
  }

  #need(n: number): number {
    // pq_copymsgbytes(): "insufficient data left in message"
    if (n < 0 || n > this.#buf.length - this.#pos) throw violation('insufficient data left in message');
    const at = this.#pos;
    this.#pos += n;
    return at;
  }

  byte(): number {
    return this.#buf[this.#need(1)] ?? 0;
  }

  int16(): number {
    return this.#buf.readInt16BE(this.#need(2));
  }

  /** pq_getmsgint(msg, 2) is unsigned: counts of formats, parameters and columns. */
  uint16(): number {
    return this.#buf.readUInt16BE(this.#need(2));
  }

  int32(): number {
    return this.#buf.readInt32BE(this.#need(4));
  }

  uint32(): number {
    return this.#buf.readUInt32BE(this.#need(4));
  }

  /** A view of the next `n` bytes. */
  bytes(n: number): Buffer {
    const at = this.#need(n);
    return this.#buf.subarray(at, at + n);
  }

  /** A view of everything left. */
  rest(): Buffer {
    return this.bytes(this.remaining);
  }

  /** A NUL-terminated string; pq_getmsgstring(): "invalid string in message" when unterminated. */
  cstring(): string {
    const end = this.#buf.indexOf(0, this.#pos);
    if (end < 0) throw violation('invalid string in message');
    const s = this.#buf.toString('utf8', this.#pos, end);
    this.#pos = end + 1;
    return s;
  }

  /** pq_getmsgend(): leftover bytes are "invalid message format". */
  end(): void {
    if (this.#pos !== this.#buf.length) throw violation('invalid message format');
  }
}

/** A message with no body (Sync, Flush, Terminate, CopyDone, EmptyQueryResponse, NoData…). */
export function decodeEmpty(body: Buffer): void {
  if (body.length !== 0) throw violation('invalid message format');
}
