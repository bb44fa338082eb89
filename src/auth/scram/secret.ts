/**
 * PostgreSQL SCRAM-SHA-256 verifiers ("secrets"), as stored in pg_authid.rolpassword and in
 * PgBouncer auth files (RFC 5803 form):
 *
 *     SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>
 *
 * Parsing follows auth-scram.c parse_scram_secret(); building follows scram_build_secret() in
 * scram-common.c.
 */
import { randomBytes } from 'node:crypto';
import {
  SCRAM_DEFAULT_ITERATIONS,
  SCRAM_DEFAULT_SALT_LEN,
  SCRAM_KEY_LEN,
  SCRAM_MAX_ITERATIONS,
  clientKeyOf,
  decodeBase64Strict,
  iterationsInBounds,
  saltedPassword,
  scramH,
  serverKeyOf,
} from './common.js';

/** A parsed verifier. Never log it: StoredKey and ServerKey are enough to impersonate the server. */
export interface ScramSecret {
  readonly iterations: number;
  /** Any length: PostgreSQL makes 16 bytes, other tools make others (Odyssey #1568). */
  readonly salt: Buffer;
  /** H(ClientKey). */
  readonly storedKey: Buffer;
  /** HMAC(SaltedPassword, "Server Key"). */
  readonly serverKey: Buffer;
}

/** Options for {@link makeScramSecret}. */
export interface MakeScramSecretOptions {
  /** PBKDF2 iteration count. Default 4096 (PostgreSQL's default, RFC 7677). */
  iterations?: number;
  /** The salt. Default: 16 random bytes. */
  salt?: Buffer;
}

export const SCRAM_SECRET_PREFIX = 'SCRAM-SHA-256$';

// strsep() order in parse_scram_secret(): '$', ':', '$', ':', then the rest.
const SHAPE = /^SCRAM-SHA-256\$([^:]*):([^$]*)\$([^:]*):(.*)$/s;

/**
 * Parses a verifier; null when it is malformed, when a key is not 32 bytes, or when the
 * iteration count is outside 1..{@link SCRAM_MAX_ITERATIONS}. The digits must be plain decimal
 * (PostgreSQL's strtol would also take a sign or leading spaces).
 */
export function parseScramSecret(text: string): ScramSecret | null {
  const m = SHAPE.exec(text);
  if (!m) return null;
  const [, iter, saltB64, storedB64, serverB64] = m as unknown as [string, string, string, string, string];
  if (!/^[0-9]{1,10}$/.test(iter)) return null;
  const iterations = Number(iter);
  if (!iterationsInBounds(iterations)) return null;
  const salt = decodeBase64Strict(saltB64);
  const storedKey = decodeBase64Strict(storedB64);
  const serverKey = decodeBase64Strict(serverB64);
  if (!salt || storedKey?.length !== SCRAM_KEY_LEN || serverKey?.length !== SCRAM_KEY_LEN) return null;
  return Object.freeze({ iterations, salt, storedKey, serverKey });
}

/** The verifier's text form, as PostgreSQL prints it. */
export function formatScramSecret(s: ScramSecret): string {
  const b64 = (b: Buffer): string => b.toString('base64');
  return `${SCRAM_SECRET_PREFIX}${s.iterations}:${b64(s.salt)}$${b64(s.storedKey)}:${b64(s.serverKey)}`;
}

/** ClientKey, StoredKey and ServerKey for a password (SASLprep'd as PostgreSQL does). */
export function scramKeys(password: string | Buffer, salt: Buffer, iterations: number): { clientKey: Buffer; storedKey: Buffer; serverKey: Buffer } {
  const salted = saltedPassword(password, salt, iterations);
  const clientKey = clientKeyOf(salted);
  return { clientKey, storedKey: scramH(clientKey), serverKey: serverKeyOf(salted) };
}

/**
 * Builds a verifier from a password, like pg_be_scram_build_secret(). Throws a RangeError for an
 * iteration count outside the accepted bounds.
 */
export function makeScramSecret(password: string | Buffer, o: MakeScramSecretOptions = {}): ScramSecret {
  const iterations = o.iterations ?? SCRAM_DEFAULT_ITERATIONS;
  if (!iterationsInBounds(iterations)) {
    throw new RangeError(`SCRAM iteration count must be an integer from 1 to ${SCRAM_MAX_ITERATIONS}`);
  }
  const salt = Buffer.from(o.salt ?? randomBytes(SCRAM_DEFAULT_SALT_LEN));
  const { storedKey, serverKey } = scramKeys(password, salt, iterations);
  return Object.freeze({ iterations, salt, storedKey, serverKey });
}
