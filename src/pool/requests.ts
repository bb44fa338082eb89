/**
 * The outstanding-request queue of one server connection (PgBouncer 1.21+ keeps the same): what
 * the server still owes an answer for, in the order it will answer. Responses are matched to the
 * head: ParseComplete to a Parse entry, CloseComplete to a Close entry, ReadyForQuery to a Sync,
 * Query or internal entry. Entries the pooler added itself (a Parse injected before a Bind, a Close
 * of an evicted statement, a SET or check query) are answered to the pooler, not forwarded.
 *
 * A ring of two typed arrays: pushing and shifting allocate nothing (DESIGN.md performance).
 */

/** Entry kinds. The first three end with a ReadyForQuery. */
export const Req = {
  /** The client's Sync. */
  Sync: 1,
  /** The client's Query or FunctionCall. */
  Query: 2,
  /** A query gatehouse sent (SET of tracked parameters, check or reset query): everything up to its ReadyForQuery is swallowed. */
  Internal: 3,
  /** The client's Parse (possibly rewritten): its ParseComplete is forwarded. */
  Parse: 4,
  /** A Parse gatehouse injected before a Bind or Describe: its ParseComplete is swallowed. */
  ParseInjected: 5,
  /** The client's Close: its CloseComplete is forwarded. */
  Close: 6,
  /** A Close of a statement evicted from the server's LRU: its CloseComplete is swallowed. */
  CloseInjected: 7,
  /** The client's CopyDone or CopyFail: not answered itself, it marks where copy-in mode ends. */
  CopyEnd: 8,
} as const;

export const isRfqKind = (kind: number): boolean => kind <= Req.Internal && kind > 0;

export class RequestQueue {
  #kinds = new Uint8Array(16);
  #stmts = new Int32Array(16);
  #head = 0;
  #length = 0;
  /** Entries that end with a ReadyForQuery. */
  rfqPending = 0;

  get length(): number {
    return this.#length;
  }

  push(kind: number, stmt = 0): void {
    if (this.#length === this.#kinds.length) this.#grow();
    const i = (this.#head + this.#length) & (this.#kinds.length - 1);
    this.#kinds[i] = kind;
    this.#stmts[i] = stmt;
    this.#length++;
    if (isRfqKind(kind)) this.rfqPending++;
  }

  /** The head's kind, 0 when empty. */
  get headKind(): number {
    return this.#length === 0 ? 0 : (this.#kinds[this.#head] as number);
  }

  get headStmt(): number {
    return this.#stmts[this.#head] as number;
  }

  shift(): void {
    if (this.#length === 0) return;
    if (isRfqKind(this.#kinds[this.#head] as number)) this.rfqPending--;
    this.#head = (this.#head + 1) & (this.#kinds.length - 1);
    this.#length--;
  }

  /** Kind of the n-th entry from the head. */
  kindAt(n: number): number {
    return this.#kinds[(this.#head + n) & (this.#kinds.length - 1)] as number;
  }

  /**
   * The server entered copy-in mode: it ignores Sync (and Flush) until the client's CopyDone or
   * CopyFail (protocol-flow "COPY Operations"). Drops the Sync entries queued before that marker
   * (and the marker). Returns false when the client has not sent the marker yet, so later Syncs
   * must be dropped as they come.
   */
  dropSyncsUntilCopyEnd(): boolean {
    const kinds: number[] = [];
    const stmts: number[] = [];
    let found = false;
    // A Query that started the copy stays (its ReadyForQuery still comes); Syncs after it go.
    for (let n = 0; n < this.#length; n++) {
      const k = this.kindAt(n);
      const s = this.#stmts[(this.#head + n) & (this.#kinds.length - 1)] as number;
      if (!found && k === Req.CopyEnd) {
        found = true;
        continue;
      }
      if (!found && k === Req.Sync) continue;
      kinds.push(k);
      stmts.push(s);
    }
    this.clear();
    for (let i = 0; i < kinds.length; i++) this.push(kinds[i] as number, stmts[i] as number);
    return found;
  }

  clear(): void {
    this.#head = 0;
    this.#length = 0;
    this.rfqPending = 0;
  }

  #grow(): void {
    const n = this.#kinds.length;
    const kinds = new Uint8Array(n * 2);
    const stmts = new Int32Array(n * 2);
    for (let i = 0; i < this.#length; i++) {
      kinds[i] = this.#kinds[(this.#head + i) & (n - 1)] as number;
      stmts[i] = this.#stmts[(this.#head + i) & (n - 1)] as number;
    }
    this.#kinds = kinds;
    this.#stmts = stmts;
    this.#head = 0;
  }
}
