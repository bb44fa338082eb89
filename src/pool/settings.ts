/**
 * The pool settings a client gets: `pool` defaults, then its database entry's `pool`, then its
 * user's `pool` (the user wins, as PgBouncer's [users] pool_mode wins over [databases]).
 */
import type { Config, PoolOverride, PoolSettings } from '../config/schema.js';

export type PoolMode = PoolSettings['mode'];

export function effectivePoolSettings(config: Config, database: string, user: string): PoolSettings {
  const db = (config.databases[database] ?? config.databases['*'])?.pool;
  const u = config.users[user]?.pool;
  if (!db && !u) return config.pool;
  return { ...config.pool, ...defined(db), ...defined(u) };
}

function defined(o: PoolOverride | undefined): Partial<PoolSettings> {
  const out: Partial<PoolSettings> = {};
  if (!o) return out;
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** server_lifetime: a server connected at `connectedAt` is too old to serve again (0: never). */
export function lifetimeOver(st: PoolSettings, connectedAt: number, now: number): boolean {
  return st.server_lifetime > 0 && now - connectedAt > st.server_lifetime;
}

/** server_check_query runs first on a server idle since `idleSince` for longer than server_check_delay. */
export function checkDue(st: PoolSettings, idleSince: number, now: number): boolean {
  return st.server_check_query !== '' && now - idleSince > st.server_check_delay;
}
