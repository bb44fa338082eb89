/**
 * Where a role's secret comes from: the auth file first, then auth_query. An unknown role is
 * null, and the exchange that follows looks the same as for a known one (invariant 5).
 */
import type { StoredSecret } from '../auth/userlist.js';
import type { RuntimeState } from './state.js';

export async function lookupSecret(state: RuntimeState, user: string): Promise<StoredSecret | null> {
  const fromFile = state.users?.get(user);
  if (fromFile) return fromFile;
  if (state.authQuery) return state.authQuery.lookup(user);
  return null;
}
