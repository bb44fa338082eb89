/**
 * What a tapped session's server still owes an answer for, as the client sees it: its Queries,
 * Executes and Syncs in order. Like src/pool/requests.ts it allocates nothing per statement in the
 * steady state: entries are reused from a free list (DESIGN.md performance principles).
 */
import type { Classification } from './types.js';

export const Kind = {
  /** A simple Query (or a fastpath FunctionCall): its parts complete one by one, then ReadyForQuery. */
  Query: 1,
  /** An extended-protocol Execute: one CommandComplete, EmptyQueryResponse or PortalSuspended. */
  Execute: 2,
  /** A Sync: answered by ReadyForQuery; an error skips every Execute before it. */
  Sync: 3,
} as const;

export class Outstanding {
  kind = 0;
  statementId = 0;
  /** Query: parts completed so far. */
  sub = 0;
  c: Classification | null = null;
  /** Execute: the prepared statement's name. */
  name: string | undefined = undefined;
  params: (string | null)[] | undefined = undefined;
  /** performance.now() when sent, or when the previous part of the Query completed. */
  start = 0;
  /** The rule that refused it: the server's error for it is the refusal's own. */
  refused = '';
  /** Query: an error ended it; later parts did not run. */
  failed = false;

  reset(kind: number): this {
    this.kind = kind;
    this.statementId = 0;
    this.sub = 0;
    this.c = null;
    this.name = undefined;
    this.params = undefined;
    this.start = 0;
    this.refused = '';
    this.failed = false;
    return this;
  }
}

export class OutstandingQueue {
  readonly #items: Outstanding[] = [];
  #head = 0;
  readonly #free: Outstanding[] = [];

  get length(): number {
    return this.#items.length - this.#head;
  }

  get head(): Outstanding | undefined {
    return this.#items[this.#head];
  }

  push(kind: number): Outstanding {
    const e = (this.#free.pop() ?? new Outstanding()).reset(kind);
    this.#items.push(e);
    return e;
  }

  shift(): void {
    const e = this.#items[this.#head];
    if (!e) return;
    this.#head++;
    e.c = null;
    e.params = undefined;
    this.#free.push(e);
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    }
  }

  /** After an error in an extended batch: the server skips to the next Sync (left at the head). */
  dropUntilSync(): void {
    while (this.length > 0 && this.head!.kind !== Kind.Sync) this.shift();
  }

  /** A ReadyForQuery: everything up to and including the Query or Sync it answers is done. */
  popThroughReady(): void {
    while (this.length > 0) {
      const kind = this.head!.kind;
      this.shift();
      if (kind === Kind.Query || kind === Kind.Sync) return;
    }
  }
}
