/**
 * Random bytes for values made at every login: the SCRAM nonce, the md5 salt, the cancel key.
 * They are taken from a pool refilled from the CSPRNG (crypto.randomFillSync) 4 KiB at a time:
 * crypto.randomBytes() costs about 5 µs a call here (OpenSSL's lock and fork check on each), and a
 * login made several calls. Each byte is handed out once; what a caller gets is its own copy.
 */
import { randomBytes, randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let next = POOL_BYTES;

/** `n` fresh random bytes (a new Buffer). */
export function freshRandom(n: number): Buffer {
  if (n > POOL_BYTES / 4) return randomBytes(n);
  if (next + n > POOL_BYTES) {
    randomFillSync(pool);
    next = 0;
  }
  const out = Buffer.from(pool.subarray(next, next + n));
  next += n;
  return out;
}
