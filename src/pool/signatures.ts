/**
 * Parameter signatures: a number per distinct set of tracked parameter values (every tracked
 * parameter's value, as a client wants them or a server has them). The transaction plane links a
 * client only to a server with an equal number (native/txplane.h, tx_acquire); a client whose
 * number no idle server has goes back to JavaScript, which sends the SETs that make one match.
 *
 * The table is bounded. Clients that each set their own application_name would otherwise add a
 * key per connection for as long as the process lives. Past MAX_SIGNATURES keys it starts again
 * empty, and numbers are never reused: a client and a server that got theirs on either side of
 * that point just do not match (one SET round trip), and two different sets of values never
 * share a number.
 */
export const MAX_SIGNATURES = 10_000;

/** What a missing value is written as in a key (no parameter value can hold it: they are C strings). */
const UNSET = '\u0001';

export class SignatureTable {
  readonly #numbers = new Map<string, number>();
  #last = 0;

  constructor(private readonly max = MAX_SIGNATURES) {}

  /** Keys held now. */
  get size(): number {
    return this.#numbers.size;
  }

  /** The number for these values of `tracked` (each from `vars`, else `fallback`). */
  of(tracked: Iterable<string>, vars: ReadonlyMap<string, string | null>, fallback: ReadonlyMap<string, string | null> | null): number {
    let key = '';
    for (const name of tracked) key += `${name}\0${vars.get(name) ?? fallback?.get(name) ?? UNSET}\0`;
    let n = this.#numbers.get(key);
    if (n === undefined) {
      if (this.#numbers.size >= this.max) this.#numbers.clear();
      this.#numbers.set(key, (n = ++this.#last));
    }
    return n;
  }
}
