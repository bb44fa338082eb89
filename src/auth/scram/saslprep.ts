/**
 * SASLprep (RFC 4013, a profile of RFC 3454 stringprep) exactly as PostgreSQL applies it to
 * passwords: src/common/saslprep.c pg_saslprep(), and the fallback in auth-scram.c / libpq's
 * fe-auth-scram.c: when the password is not valid UTF-8, or SASLprep rejects it, the raw bytes
 * are hashed instead.
 *
 * PostgreSQL's quirks, mirrored on purpose (a different answer means a different verifier):
 * - pure ASCII input is returned unchanged, even ASCII control characters (no prohibition check);
 * - the prohibited, unassigned and bidi checks run on the *mapped* characters before NFKC
 *   normalization, not on the normalized output;
 * - a password that maps to nothing (only B.1 characters) counts as prohibited;
 * - the input is a C string: it ends at the first NUL byte.
 */
import { L_CAT, MAPPED_TO_NOTHING, NON_ASCII_SPACE, PROHIBITED, RANDAL_CAT, UNASSIGNED, inTable } from './saslprep-tables.js';

/** pg_saslprep_rc: SASLPREP_SUCCESS with the prepared bytes, SASLPREP_INVALID_UTF8 or SASLPREP_PROHIBITED. */
export type SaslprepResult =
  | { kind: 'success'; output: Buffer }
  | { kind: 'invalid-utf8' }
  | { kind: 'prohibited' };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The bytes of `input` up to its first NUL, as C sees a char *. */
function cString(input: string | Buffer): Buffer {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const nul = bytes.indexOf(0);
  return nul < 0 ? bytes : bytes.subarray(0, nul);
}

/** pg_is_ascii(): no byte has the high bit set. */
function isAscii(bytes: Buffer): boolean {
  for (const b of bytes) if (b & 0x80) return false;
  return true;
}

/** Strict UTF-8 decode into code points (pg_utf8_islegal), or null. */
function codePoints(bytes: Buffer): number[] | null {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return null;
  }
  const out: number[] = [];
  for (const ch of text) out.push(ch.codePointAt(0)!);
  return out;
}

/** Step 1, Map (RFC 4013 §2.1): C.1.2 to SPACE, B.1 to nothing. */
function mapChars(chars: number[]): number[] {
  const out: number[] = [];
  for (const c of chars) {
    if (inTable(c, NON_ASCII_SPACE)) out.push(0x20);
    else if (!inTable(c, MAPPED_TO_NOTHING)) out.push(c);
  }
  return out;
}

/** Step 3, Prohibit (RFC 4013 §2.3, §2.5): prohibited output and unassigned code points. */
const hasProhibited = (chars: number[]): boolean =>
  chars.some((c) => inTable(c, PROHIBITED) || inTable(c, UNASSIGNED));

/**
 * Step 4, bidi (RFC 3454 §6): with any RandALCat character there must be no LCat character, and
 * the first and last characters must both be RandALCat.
 */
function bidiOk(chars: number[]): boolean {
  if (!chars.some((c) => inTable(c, RANDAL_CAT))) return true;
  if (chars.some((c) => inTable(c, L_CAT))) return false;
  return inTable(chars[0]!, RANDAL_CAT) && inTable(chars[chars.length - 1]!, RANDAL_CAT);
}

/** pg_saslprep(): the RFC 4013 steps in PostgreSQL's order, with its result codes. */
export function saslprep(input: string | Buffer): SaslprepResult {
  const bytes = cString(input);
  if (isAscii(bytes)) return { kind: 'success', output: Buffer.from(bytes) };
  const chars = codePoints(bytes);
  if (!chars) return { kind: 'invalid-utf8' };
  const mapped = mapChars(chars);
  // saslprep.c: "don't allow empty password".
  if (mapped.length === 0) return { kind: 'prohibited' };
  // Step 2, Normalize (RFC 4013 §2.2): NFKC. The checks below look at `mapped`, as PostgreSQL does.
  const normalized = mapped.map((c) => String.fromCodePoint(c)).join('').normalize('NFKC');
  if (hasProhibited(mapped) || !bidiOk(mapped)) return { kind: 'prohibited' };
  return { kind: 'success', output: Buffer.from(normalized, 'utf8') };
}

/**
 * The bytes PostgreSQL hashes for a SCRAM password: the SASLprep output when it succeeds, else
 * the raw bytes (auth-scram.c "SASLprep usage"; libpq does the same).
 */
export function pgSaslprep(password: string | Buffer): Buffer {
  const r = saslprep(password);
  return r.kind === 'success' ? r.output : Buffer.from(cString(password));
}
