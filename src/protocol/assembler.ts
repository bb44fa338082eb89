/**
 * Collects the body of one message that straddles chunks. Memory follows the bytes that actually
 * arrived (a peer that declares a 1 GiB Query and sends 10 bytes costs about 10 bytes, not 1 GiB)
 * and never exceeds the declared length, which the caller has already checked against its cap.
 */

/** Bodies up to this size get their whole buffer at once; larger ones grow by doubling. */
const EAGER = 64 * 1024;

export class BodyAssembler {
  #buf: Buffer | null = null;
  #filled = 0;
  #total = 0;

  /** Start a body of `total` bytes (> 0). */
  begin(total: number): void {
    this.#buf = Buffer.allocUnsafe(Math.min(total, EAGER));
    this.#filled = 0;
    this.#total = total;
  }

  /** True between begin() and the call to add() that completes the body. */
  get active(): boolean {
    return this.#buf !== null;
  }

  /** Bytes copied so far. */
  get held(): number {
    return this.#filled;
  }

  /** Bytes still missing. */
  get missing(): number {
    return this.#total - this.#filled;
  }

  /** Copy up to `missing` bytes of `chunk` from `from`; returns how many were taken. */
  add(chunk: Buffer, from: number): number {
    const take = Math.min(this.#total - this.#filled, chunk.length - from);
    this.#reserve(this.#filled + take);
    chunk.copy(this.#buf as Buffer, this.#filled, from, from + take);
    this.#filled += take;
    return take;
  }

  /** The whole body once `missing` is 0; the assembler is empty afterwards. */
  take(): Buffer {
    const body = (this.#buf as Buffer).subarray(0, this.#filled);
    this.#buf = null;
    this.#filled = this.#total = 0;
    return body;
  }

  #reserve(n: number): void {
    const buf = this.#buf as Buffer;
    if (n <= buf.length) return;
    const grown = Buffer.allocUnsafe(Math.min(this.#total, Math.max(n, buf.length * 2)));
    buf.copy(grown, 0, 0, this.#filled);
    this.#buf = grown;
  }
}
