/**
 * SCRAM-SHA-256 building blocks (RFC 5802 §3, RFC 7677), as PostgreSQL's src/common/scram-common.c
 * computes them, plus the strict base64 decoder and printable-nonce check both sides need.
 */
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { freshRandom } from '../random.js';
import { pgSaslprep } from './saslprep.js';

/** The SASL mechanism names (scram-common.h SCRAM_SHA_256_NAME, SCRAM_SHA_256_PLUS_NAME). */
export const SCRAM_SHA_256 = 'SCRAM-SHA-256';
export const SCRAM_SHA_256_PLUS = 'SCRAM-SHA-256-PLUS';
/** SCRAM_SHA_256_KEY_LEN: every key, proof and signature is 32 bytes. */
export const SCRAM_KEY_LEN = 32;
/** SCRAM_DEFAULT_SALT_LEN (scram-common.h). */
export const SCRAM_DEFAULT_SALT_LEN = 16;
/** SCRAM_SHA_256_DEFAULT_ITERATIONS (scram-common.h) and RFC 7677's recommended minimum. */
export const SCRAM_DEFAULT_ITERATIONS = 4096;
/** SCRAM_RAW_NONCE_LEN: 18 random bytes, 24 base64 characters on the wire. */
export const SCRAM_RAW_NONCE_LEN = 18;
/**
 * Iteration counts gatehouse accepts, in a stored verifier or from an upstream server. PostgreSQL
 * allows 1..INT_MAX, but every count is a synchronous PBKDF2 run on the event loop for `password`
 * auth and upstream logins, so the top is capped (OWASP's 600,000 for PBKDF2-SHA256 fits).
 */
export const SCRAM_MIN_ITERATIONS = 1;
export const SCRAM_MAX_ITERATIONS = 1_000_000;

/** Whether an iteration count is inside the bounds above. */
export const iterationsInBounds = (i: number): boolean =>
  Number.isSafeInteger(i) && i >= SCRAM_MIN_ITERATIONS && i <= SCRAM_MAX_ITERATIONS;

/** H(): SHA-256. */
export const scramH = (data: Buffer): Buffer => createHash('sha256').update(data).digest();

/** HMAC(key, str) with SHA-256. */
export const scramHmac = (key: Buffer, data: Buffer | string): Buffer => createHmac('sha256', key).update(data).digest();

/**
 * SaltedPassword := Hi(Normalize(password), salt, i) (RFC 5802 §3). Normalize is pg_saslprep,
 * with PostgreSQL's fallback to the raw bytes when the password is not valid UTF-8 or prep fails.
 */
export function saltedPassword(password: string | Buffer, salt: Buffer, iterations: number): Buffer {
  return pbkdf2Sync(pgSaslprep(password), salt, iterations, SCRAM_KEY_LEN, 'sha256');
}

/** ClientKey := HMAC(SaltedPassword, "Client Key"). */
export const clientKeyOf = (salted: Buffer): Buffer => scramHmac(salted, 'Client Key');
/** ServerKey := HMAC(SaltedPassword, "Server Key"). */
export const serverKeyOf = (salted: Buffer): Buffer => scramHmac(salted, 'Server Key');

/** XOR of two equal-length buffers (ClientProof = ClientKey XOR ClientSignature, and back). */
export function xorBuffers(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** A fresh nonce: 18 random bytes in base64, as auth-scram.c and libpq make them. */
export const randomNonce = (): string => freshRandom(SCRAM_RAW_NONCE_LEN).toString('base64');

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Strict base64 (src/common/base64.c pg_b64_decode): no whitespace, correct padding, nothing
 * else. Returns null where PostgreSQL returns -1. Buffer.from(s, 'base64') would skip junk.
 */
export function decodeBase64Strict(s: string): Buffer | null {
  return B64.test(s) ? Buffer.from(s, 'base64') : null;
}

/** RFC 5802 `printable`: %x21-2B / %x2D-7E (auth-scram.c is_scram_printable). */
export function isScramPrintable(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 0x2c) return false;
  }
  return true;
}
