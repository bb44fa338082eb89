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

/** The value kept for `key`, made by `make` when there is none; a table at `max` keys starts again empty first. */
function intern<V>(table: Map<string, V>, max: number, key: string, make: () => V): V {
  let v = table.get(key);
  if (v === undefined) {
    if (table.size >= max) table.clear();
    table.set(key, (v = make()));
  }
  return v;
}

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
    return intern(this.#numbers, this.max, key, () => ++this.#last);
  }
}

/** Entries kept for sharing parameter maps; past it the table starts again (shared maps stay with their clients). */
export const MAX_SHARED_VARS = 1_000;

/**
 * One parameter map for all clients whose values are the same (most of a pool's clients: one
 * application, one driver): a Map of about ten entries is some 400 bytes of heap per client.
 * A shared map must never change; a client that changes a value takes its own copy first
 * (PooledClient's copy-on-write).
 */
export class SharedVars {
  readonly #maps = new Map<string, ReadonlyMap<string, string | null>>();

  constructor(private readonly max = MAX_SHARED_VARS) {}

  get size(): number {
    return this.#maps.size;
  }

  /** The shared map equal to `vars` (same names, values and order): an existing one, or a copy of `vars` kept from now on. */
  share(vars: ReadonlyMap<string, string | null>): ReadonlyMap<string, string | null> {
    let key = '';
    for (const [name, value] of vars) key += `${name}\0${value ?? UNSET}\0`;
    return intern(this.#maps, this.max, key, () => new Map(vars));
  }
}
