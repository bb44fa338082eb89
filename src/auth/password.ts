/**
 * The `password` method: checking a cleartext PasswordMessage against the stored secret, as
 * PostgreSQL's crypt.c plain_crypt_verify() does:
 * - a SCRAM secret: SASLprep the password, derive ServerKey with the secret's salt and iteration
 *   count, compare it with the stored ServerKey (auth-scram.c scram_verify_plain_password());
 * - an md5 secret: compare md5(password + user) with it;
 * - a plaintext secret (PgBouncer auth files only): compare the passwords.
 * Every comparison is constant-time. An empty password never matches (auth.c
 * recv_password_packet() refuses it before any check).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { asciiEqual, md5Secret } from './md5.js';
import { saltedPassword, serverKeyOf } from './scram/common.js';
import type { StoredSecret } from './userlist.js';

const sha256 = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

/** True when `password` is the role's password. */
export function verifyCleartextPassword(stored: StoredSecret, user: string, password: string | Buffer): boolean {
  const pw = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  if (pw.length === 0) return false;
  switch (stored.kind) {
    case 'scram': {
      const { salt, iterations, serverKey } = stored.secret;
      return timingSafeEqual(serverKeyOf(saltedPassword(pw, salt, iterations)), serverKey);
    }
    case 'md5':
      return asciiEqual(md5Secret(pw, user), stored.hash);
    case 'plain':
      // Hash both so that the comparison takes the same time whatever the lengths.
      return timingSafeEqual(sha256(pw), sha256(Buffer.from(stored.password, 'utf8')));
  }
}
