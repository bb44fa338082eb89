/**
 * Which server a client goes to (the `databases` map) and what gatehouse logs in with there.
 * The order of preference keeps plaintext off disk: a password the client just sent, SCRAM
 * passthrough with the ClientKey recovered from the client's proof, an md5 hash, and only then a
 * plaintext secret from the auth file or the entry's fixed password.
 */
import type { Duplex } from 'node:stream';
import { wire } from '../errors.js';
import type { Config } from '../config/schema.js';
import type { RuntimeState } from '../gateway/state.js';
import { lookupSecret } from '../gateway/secrets.js';
import type { StoredSecret } from '../auth/userlist.js';
import type { AuthOutcome } from '../session/authenticate.js';
import { HandshakeFatal } from '../session/negotiate.js';
import type { UpstreamSecret, UpstreamTarget } from './server-login.js';

/** The entry for `database`, or the "*" fallback (which keeps the client's database name). */
export function resolveUpstream(config: Config, database: string, user: string, client: Duplex): UpstreamTarget {
  const named = config.databases[database];
  const entry = named ?? config.databases['*'];
  if (!entry) throw new HandshakeFatal(wire.noSuchDatabase(database), client);
  return {
    host: entry.host,
    port: entry.port,
    database: entry.dbname ?? database,
    user: entry.user ?? user,
    sslmode: entry.sslmode,
    sslrootcert: entry.sslrootcert,
    connectTimeoutMs: entry.connect_timeout,
    fixedUser: entry.user !== undefined,
    fixedPassword: entry.password,
  };
}

export async function chooseUpstreamSecret(state: RuntimeState, t: UpstreamTarget, auth: AuthOutcome): Promise<UpstreamSecret> {
  if (t.fixedUser) {
    if (t.fixedPassword !== undefined) return { kind: 'password', password: t.fixedPassword };
    return fromStored(await lookupSecret(state, t.user));
  }
  if (auth.password !== undefined) return { kind: 'password', password: auth.password };
  if (auth.secret?.kind === 'plain') return { kind: 'password', password: auth.secret.password };
  if (auth.clientKey && auth.secret?.kind === 'scram') return { kind: 'scram-keys', clientKey: auth.clientKey, secret: auth.secret.secret };
  return fromStored(auth.secret);
}

function fromStored(s: StoredSecret | null): UpstreamSecret {
  if (!s) return { kind: 'none' };
  if (s.kind === 'plain') return { kind: 'password', password: s.password };
  if (s.kind === 'md5') return { kind: 'md5', hash: s.hash };
  return { kind: 'none' };
}
