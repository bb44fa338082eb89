/**
 * Protocol-level prepared statements in transaction mode (PgBouncer 1.21's design, extended to the
 * unnamed statement as pg_doorman does). A client's statement names never reach a server: each
 * distinct (query text, parameter types) gets one server-side name `gh_<n>`, shared by every client
 * that prepares that text. Each server connection remembers which of them it holds, in an LRU.
 */
import * as fe from '../protocol/frontend/encode.js';

export interface PreparedStatement {
  id: number;
  /** The server-side name. */
  name: string;
  /** Parse ('P') of the text under the server-side name, ready to send. */
  parse: Buffer;
  /** Close ('C') of the server-side name, for LRU eviction. */
  close: Buffer;
}

/** `Parse "" ""`: costs the server nearly nothing and answers ParseComplete in order. */
export const noopParse: Buffer = fe.parse('', '');
/** `Close S ""`: closing a statement that does not exist is no error; answers CloseComplete in order. */
export const noopClose: Buffer = fe.close('S', '');

/** Statements by text, shared by every pool (the names are per server, the texts are global). */
export class StatementRegistry {
  readonly #byKey = new Map<string, PreparedStatement>();
  #next = 0;

  /**
   * The statement for a client Parse body; `nameEnd` is the index of the statement name's
   * terminating zero. The key is the rest of the body: query text and parameter types.
   */
  forParse(body: Buffer, nameEnd: number): PreparedStatement {
    const key = body.toString('latin1', nameEnd + 1);
    let s = this.#byKey.get(key);
    if (s) return s;
    const id = ++this.#next;
    const name = `gh_${id}`;
    const rest = body.subarray(nameEnd + 1);
    const parse = Buffer.allocUnsafe(1 + 4 + name.length + 1 + rest.length);
    parse[0] = 0x50;
    parse.writeInt32BE(parse.length - 1, 1);
    parse.write(name, 5, 'latin1');
    parse[5 + name.length] = 0;
    rest.copy(parse, 6 + name.length);
    s = { id, name, parse, close: fe.close('S', name) };
    this.#byKey.set(key, s);
    return s;
  }

  get size(): number {
    return this.#byKey.size;
  }
}

/** The statements one server connection holds, least recently used first. */
export class ServerStatements {
  readonly #held = new Map<number, PreparedStatement>();

  has(s: PreparedStatement): boolean {
    return this.#held.has(s.id);
  }

  /** Marks `s` most recently used. */
  touch(s: PreparedStatement): void {
    this.#held.delete(s.id);
    this.#held.set(s.id, s);
  }

  /** Adds `s`; returns the statement evicted to stay within `max`, if any. */
  add(s: PreparedStatement, max: number): PreparedStatement | null {
    this.#held.set(s.id, s);
    if (this.#held.size <= max) return null;
    const [id, oldest] = this.#held.entries().next().value as [number, PreparedStatement];
    this.#held.delete(id);
    return oldest;
  }

  /** The ids held, as u32s (native/txprep.h). */
  ids(): Buffer {
    const b = Buffer.allocUnsafe(4 * this.#held.size);
    let o = 0;
    for (const id of this.#held.keys()) o = b.writeUInt32LE(id, o);
    return b;
  }

  /**
   * Puts the statements in the order the native plane used them (u32 ids, least recently used
   * first, from `offset`); ids it does not hold are skipped.
   */
  reorder(ids: Buffer, offset = 0, count = (ids.length - offset) >>> 2): void {
    for (let i = 0; i < count; i++) {
      const id = ids.readUInt32LE(offset + 4 * i);
      const s = this.#held.get(id);
      if (!s) continue;
      this.#held.delete(id);
      this.#held.set(id, s);
    }
  }

  forget(id: number): void {
    this.#held.delete(id);
  }

  clear(): void {
    this.#held.clear();
  }

  get size(): number {
    return this.#held.size;
  }
}
