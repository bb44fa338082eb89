/**
 * The runtime state: config plus everything loaded from the files it names. Built whole and
 * frozen; a reload builds a new one and swaps it in only when every file loaded (invariant 6).
 * Sessions keep the snapshot they started with.
 */
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { loadHbaFile, loadIdentFile, type HbaRuleSet, type IdentMapSet } from '../hba/index.js';
import { loadUserlist, type Userlist } from '../auth/userlist.js';
import { loadTls, type TlsState } from '../net/tls.js';
import { AuthQuery } from '../auth/auth-query.js';
import { nativeTlsContext } from '../session/native-tls.js';

export interface RuntimeState {
  readonly configPath: string;
  readonly config: Config;
  readonly hba: HbaRuleSet;
  readonly ident: IdentMapSet | null;
  readonly users: Userlist | null;
  readonly tls: TlsState | null;
  readonly authQuery: AuthQuery | null;
  readonly loadedAt: Date;
}

/** Loads everything or throws the first failure (a GatehouseError naming file:line or key). */
export function loadRuntimeState(configPath: string, previous?: RuntimeState): RuntimeState {
  const config = loadConfig(configPath);
  const hba = loadHbaFile(config.hba);
  const ident = config.ident ? loadIdentFile(config.ident) : null;
  const users = config.auth.users ? loadUserlist(config.auth.users) : null;
  const tls = loadTls(config.tls, config.tls_engine === 'native' ? nativeTlsContext : null);
  const authQuery = config.auth.query ? reuseAuthQuery(config, previous) : null;
  return Object.freeze({ configPath, config, hba, ident, users, tls, authQuery, loadedAt: new Date() });
}

function reuseAuthQuery(config: Config, previous?: RuntimeState): AuthQuery {
  const q = config.auth.query!;
  const prev = previous?.authQuery;
  if (prev && prev.sameSettings(q, config.databases)) return prev;
  prev?.close();
  return new AuthQuery(q, config.databases);
}

/** Which top-level parts differ between two states, for the reload log. */
export function describeChanges(a: RuntimeState, b: RuntimeState): string[] {
  const out: string[] = [];
  const keys = Object.keys(b.config) as (keyof Config)[];
  for (const k of keys) if (JSON.stringify(a.config[k]) !== JSON.stringify(b.config[k])) out.push(k);
  if (a.hba.rules.length !== b.hba.rules.length || a.hba.rules.some((r, i) => r.text !== b.hba.rules[i]?.text)) out.push('hba rules');
  return [...new Set(out)];
}
