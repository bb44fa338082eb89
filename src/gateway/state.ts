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
import { nativeRelayStatus } from '../session/native-relay.js';

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
  const tls = loadClientTls(config);
  const authQuery = config.auth.query ? reuseAuthQuery(config, previous) : null;
  return Object.freeze({ configPath, config, hba, ident, users, tls, authQuery, loadedAt: new Date() });
}

/**
 * The client-side TLS state for `tls_engine`: `native` builds the native engine's context too (and
 * fails when it cannot), `node` does not, `auto` tries where the native relay is built and falls
 * back to Node's TLS when the native engine cannot load what Node can.
 */
function loadClientTls(config: Config): TlsState | null {
  const engine = config.tls_engine;
  if (engine === 'native') return loadTls(config.tls, nativeTlsContext);
  if (engine === 'node' || !config.tls || !nativeRelayStatus().available) return loadTls(config.tls, null);
  try {
    return loadTls(config.tls, nativeTlsContext);
  } catch {
    // What Node's TLS cannot load either fails here with Node's own error.
    return loadTls(config.tls, null);
  }
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
