/**
 * The one growable writer the encoders share. A message is written as type byte, a placeholder
 * length, then the body; {@link Writer.end} back-patches the length (it counts itself, not the type)
 * and returns a copy, so the scratch buffer is reused by the next message.
 */

export class Writer {
  #buf: Buffer = Buffer.allocUnsafe(1024);
  #pos = 0;
  #lengthAt = 0;

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + n) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.#buf.copy(grown, 0, 0, this.#pos);
    this.#buf = grown;
  }

  /** Start a typed message; `type` undefined starts an untyped startup-phase packet. */
  begin(type?: number): this {
    this.#pos = 0;
    if (type !== undefined) this.byte(type);
    this.#lengthAt = this.#pos;
    return this.int32(0);
  }

  byte(n: number): this {
    this.#ensure(1);
    this.#buf[this.#pos++] = n & 0xff;
    return this;
  }

  int16(n: number): this {
    this.#ensure(2);
    this.#pos = this.#buf.writeUInt16BE(n & 0xffff, this.#pos);
    return this;
  }

  /** An Int16 count of the items that follow; more than 65535 cannot be said. */
  count(n: number): this {
    if (n > 0xffff) throw new RangeError(`${n} items do not fit an Int16 count`);
    return this.int16(n);
  }

  int32(n: number): this {
    this.#ensure(4);
    this.#pos = this.#buf.writeUInt32BE(n >>> 0, this.#pos);
    return this;
  }

  bytes(b: Uint8Array): this {
    this.#ensure(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
    return this;
  }

  /** A NUL-terminated string. A NUL inside would silently cut it short on the other side, so it throws. */
  cstring(s: string): this {
    if (s.includes('\0')) throw new RangeError('protocol string contains a NUL byte');
    const n = Buffer.byteLength(s);
    this.#ensure(n + 1);
    this.#pos += this.#buf.write(s, this.#pos, 'utf8');
    this.#buf[this.#pos++] = 0;
    return this;
  }

  /** Back-patch the length and return the finished message as its own Buffer. */
  end(): Buffer {
    this.#buf.writeUInt32BE(this.#pos - this.#lengthAt, this.#lengthAt);
    return Buffer.from(this.#buf.subarray(0, this.#pos));
  }
}

/** The shared writer. Encoders are synchronous and never nest, so one instance serves them all. */
export const writer = new Writer();
