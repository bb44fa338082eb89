/**
 * MD5 password authentication (AUTH_REQ_MD5), as PostgreSQL's src/backend/libpq/crypt.c and
 * src/common/md5_common.c pg_md5_encrypt() compute it:
 *
 *     stored   = "md5" || hex(md5(password || username))
 *     response = "md5" || hex(md5(hex(md5(password || username)) || salt))   (4-byte salt)
 *
 * MD5 is weak; gatehouse supports it because PgBouncer auth files and old roles still hold it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { freshRandom } from './random.js';
import type { StoredSecret } from './userlist.js';

/** MD5_PASSWD_LEN: "md5" plus 32 hex digits. */
export const MD5_PASSWD_LEN = 35;
const MD5_SECRET = /^md5[0-9a-f]{32}$/;

/** crypt.c get_password_type(): "md5" and 32 lowercase hex digits (MD5_PASSWD_CHARSET). */
export const isMd5Secret = (text: string): boolean => MD5_SECRET.test(text);

const md5Hex = (...parts: (string | Buffer)[]): string => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

/** The stored form: "md5" + hex(md5(password + user)), as `SET password_encryption = 'md5'` makes it. */
export function md5Secret(password: string | Buffer, user: string): string {
  return `md5${md5Hex(password, Buffer.from(user, 'utf8'))}`;
}

/** The client's answer to AuthenticationMD5Password for a stored md5 secret and the 4-byte salt. */
export function md5Response(secret: string, salt: Buffer): string {
  return `md5${md5Hex(Buffer.from(secret.slice(3), 'latin1'), salt)}`;
}

/** Four random bytes for AuthenticationMD5Password (auth.c CheckMD5Auth uses pg_strong_random). */
export function randomMd5Salt(): Buffer {
  return freshRandom(4);
}

/** Equal-length constant-time comparison of two ASCII strings; different lengths are public. */
export function asciiEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'latin1');
  const y = Buffer.from(b, 'latin1');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Checks a PasswordMessage answering AuthenticationMD5Password (crypt.c md5_crypt_verify()). A
 * stored md5 secret is used directly; a plaintext one (PgBouncer auth files allow it) is hashed
 * first; a SCRAM secret cannot answer an md5 challenge and always fails.
 */
export function verifyMd5Response(stored: StoredSecret, user: string, salt: Buffer, response: string): boolean {
  let secret: string;
  if (stored.kind === 'md5') secret = stored.hash;
  else if (stored.kind === 'plain') secret = md5Secret(stored.password, user);
  else return false;
  return asciiEqual(response, md5Response(secret, salt));
}
