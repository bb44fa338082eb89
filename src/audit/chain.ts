/**
 * The tamper-evident chain of JSON records (docs/audit-log.md, "The chain").
 *
 * Each line is one JSON object whose first two fields are `seq` (1, 2, …) and `prev`, the SHA-256
 * (lower-case hex) of the previous line's exact UTF-8 bytes without its newline; the first
 * record's `prev` is 64 zeros. With a key, the line is sealed: take the JSON text of the record
 * without `hmac` (`{"seq":…}`), compute HMAC-SHA-256 over those exact bytes, and write it as the
 * last field, so the line is the unsealed text minus its closing `}` followed by
 * `,"hmac":"<64 hex>"}`. Removing that suffix and putting the `}` back gives the signed bytes,
 * so no JSON canonicalisation is needed to check it.
 */
import * as crypto from 'node:crypto';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const GENESIS = '0'.repeat(64);
const HMAC_SUFFIX = /,"hmac":"([0-9a-f]{64})"\}$/;

/** crypto.hash (Node ≥ 20.12): a one-shot digest without a Hash object, about twice as fast for a record-sized line. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string | Buffer, encoding: 'hex') => string }).hash;
export const sha256Hex = oneShot
  ? (line: string | Buffer): string => oneShot('sha256', line, 'hex')
  : (line: string | Buffer): string => createHash('sha256').update(line).digest('hex');
const hmacHex = (key: Buffer, text: string): string => createHmac('sha256', key).update(text).digest('hex');

/** The position a new record continues from. */
export interface ChainHead {
  /** seq of the last record written (0 before the first). */
  seq: number;
  /** SHA-256 of the last line, or GENESIS. */
  hash: string;
}

export class Chain {
  private head: ChainHead;

  constructor(head: ChainHead = { seq: 0, hash: GENESIS }, private readonly key?: Buffer) {
    this.head = { ...head };
  }

  get position(): ChainHead {
    return { ...this.head };
  }

  /** The next line (no newline) for these fields; `seq` and `prev` come first, `hmac` last. */
  append(fields: Record<string, unknown>): string {
    return this.appendJson(JSON.stringify(fields));
  }

  /**
   * The next line for a record already serialised as a JSON object (`{"time":…}`, no `seq` or
   * `prev` of its own): the writer serialises each record once and the chain fields go in front.
   */
  appendJson(fieldsJson: string): string {
    const seq = this.head.seq + 1;
    const rest = fieldsJson.length > 2 ? `,${fieldsJson.slice(1)}` : '}';
    const body = `{"seq":${seq},"prev":"${this.head.hash}"${rest}`;
    const line = this.key ? `${body.slice(0, -1)},"hmac":"${hmacHex(this.key, body)}"}` : body;
    this.head = { seq, hash: sha256Hex(line) };
    return line;
  }

  /**
   * `count` lines built elsewhere (native/auditline.h) exactly as appendJson() would: `build` gets
   * the first one's seq, the hash before it and the key, and returns the lines and the last one's
   * hash. If it throws, the chain is as it was.
   */
  appendBuilt<T>(count: number, build: (seq: number, prev: string, key: Buffer | undefined) => [T, string]): T {
    const [text, last] = build(this.head.seq + 1, this.head.hash, this.key);
    this.head = { seq: this.head.seq + count, hash: last };
    return text;
  }
}

/** What one line says about the chain, or why it cannot say. */
export type LineCheck =
  | { ok: true; seq: number; prev: string; hash: string; record: Record<string, unknown> }
  | { ok: false; problem: string };

/** Parses a line and checks its own seal (not its place in the chain). `key` undefined: `hmac` is not checked. */
export function checkLine(line: string, key?: Buffer): LineCheck {
  let rec: unknown;
  try {
    rec = JSON.parse(line);
  } catch {
    return { ok: false, problem: 'not a JSON record (a torn or edited line)' };
  }
  if (!rec || typeof rec !== 'object' || Array.isArray(rec)) return { ok: false, problem: 'not a JSON object' };
  const r = rec as Record<string, unknown>;
  if (!Number.isSafeInteger(r.seq) || (r.seq as number) < 1) return { ok: false, problem: 'no valid "seq" field' };
  if (typeof r.prev !== 'string' || !/^[0-9a-f]{64}$/.test(r.prev)) return { ok: false, problem: 'no valid "prev" field' };
  if (key) {
    const m = HMAC_SUFFIX.exec(line);
    if (!m) return { ok: false, problem: `seq ${String(r.seq)}: no "hmac" field as the last field` };
    const expected = Buffer.from(hmacHex(key, `${line.slice(0, m.index)}}`), 'hex');
    if (!timingSafeEqual(expected, Buffer.from(m[1]!, 'hex'))) {
      return { ok: false, problem: `seq ${String(r.seq)}: hmac does not match (the record was changed, or the key is not the writer's)` };
    }
  }
  return { ok: true, seq: r.seq as number, prev: r.prev, hash: sha256Hex(line), record: r };
}

/** Reads an HMAC key file: its bytes without trailing CR/LF; at least 32 bytes. */
export function parseHmacKey(bytes: Buffer): Buffer | string {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
  if (end < 32) return `the key is ${end} bytes; use at least 32 (for example: openssl rand -hex 32 > audit.key)`;
  return bytes.subarray(0, end);
}
