/**
 * PgBouncer's auth_file (userlist.txt), read as PgBouncer's src/loader.c load_auth_file() reads it:
 *
 *     ; a comment: only ';' starts one, after optional whitespace
 *     "username" "secret" anything else on the line is ignored
 *
 * Both fields are double-quoted; inside quotes `""` stands for one `"`. Blank lines are skipped. A
 * user listed twice keeps the last secret, and a user whose secret is `""` is left out (PgBouncer
 * treats an empty password as none: the role then fails like an unknown one, or goes to
 * auth_query).
 *
 * Where PgBouncer logs "broken auth file" and silently keeps what it read so far, gatehouse refuses
 * the whole file with GH_USERLIST_INVALID naming file:line (invariant 6). It is also stricter in
 * three places: the two fields must be on one line separated by blanks (PgBouncer skips any
 * characters, even newlines, up to the next quote), a '#' line is an error that says to use ';'
 * (PgBouncer stops reading there), and a secret that looks like a SCRAM or md5 secret but does not
 * parse is an error (it would otherwise be taken as a plaintext password). Errors never echo a
 * secret.
 */
import { readFileSync } from 'node:fs';
import { GatehouseError } from '../errors.js';
import { isMd5Secret, MD5_PASSWD_LEN } from './md5.js';
import { SCRAM_MAX_ITERATIONS } from './scram/common.js';
import { SCRAM_SECRET_PREFIX, parseScramSecret, type ScramSecret } from './scram/secret.js';

/** A role's secret. `text` of a SCRAM secret is the verifier as written. Never logged. */
export type StoredSecret =
  | { kind: 'scram'; secret: ScramSecret; text: string }
  | { kind: 'md5'; hash: string }
  | { kind: 'plain'; password: string };

/** user name → secret. */
export type Userlist = ReadonlyMap<string, StoredSecret>;

/**
 * Classifies a secret the way crypt.c get_password_type() does: a SCRAM-SHA-256 verifier, an md5
 * hash, or a plaintext password. Null when the text starts like a SCRAM verifier or has the md5
 * shape but does not parse (PostgreSQL would fall back to "plaintext"; gatehouse refuses).
 */
export function parseStoredSecret(text: string): StoredSecret | null {
  if (text.startsWith(SCRAM_SECRET_PREFIX)) {
    const secret = parseScramSecret(text);
    return secret ? { kind: 'scram', secret, text } : null;
  }
  if (text.length === MD5_PASSWD_LEN && text.startsWith('md5')) return isMd5Secret(text) ? { kind: 'md5', hash: text } : null;
  return { kind: 'plain', password: text };
}

/** Why {@link parseStoredSecret} said no, without quoting the secret. */
function malformedSecretMessage(text: string): string {
  return text.startsWith(SCRAM_SECRET_PREFIX)
    ? `malformed SCRAM-SHA-256 verifier: expected SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey> with 32-byte keys and 1 to ${SCRAM_MAX_ITERATIONS} iterations`
    : 'malformed md5 secret: expected "md5" followed by 32 lowercase hex digits';
}

/** A quoted field in a line: its unescaped text and where the cursor is after the closing quote. */
function readQuoted(line: string, at: number, what: string): { value: string; next: number } | string {
  if (line[at] !== '"') return `expected a double-quoted ${what}`;
  let value = '';
  for (let i = at + 1; i < line.length; i++) {
    if (line[i] !== '"') {
      value += line[i];
    } else if (line[i + 1] === '"') {
      value += '"'; // loader.c find_quote()/copy_quoted(): "" is one "
      i++;
    } else {
      return { value, next: i + 1 };
    }
  }
  return `unterminated quoted ${what} (a closing double quote is missing)`;
}

const SPACE = /[ \t\r\v\f]/;

/** One non-comment line: the entry, null for a blank or comment line, or an error message. */
function parseLine(line: string): { user: string; secret: StoredSecret | null } | null | string {
  let at = 0;
  while (at < line.length && SPACE.test(line[at]!)) at++;
  if (at === line.length || line[at] === ';') return null;
  if (line[at] === '#') return "comment lines in an auth file start with ';' (PgBouncer stops reading at a '#' line)";
  const user = readQuoted(line, at, 'user name');
  if (typeof user === 'string') return user;
  if (user.value === '') return 'empty user name';
  at = user.next;
  if (!SPACE.test(line[at] ?? '')) return 'expected blanks and then the double-quoted secret after the user name';
  while (at < line.length && SPACE.test(line[at]!)) at++;
  const secret = readQuoted(line, at, 'secret');
  if (typeof secret === 'string') return secret;
  if (secret.value === '') return { user: user.value, secret: null };
  const stored = parseStoredSecret(secret.value);
  return stored ? { user: user.value, secret: stored } : malformedSecretMessage(secret.value);
}

/** Parses auth-file text; `file` names it in errors. */
export function parseUserlist(text: string, file: string): Userlist {
  const users = new Map<string, StoredSecret>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const entry = parseLine(lines[i]!);
    if (typeof entry === 'string') throw new GatehouseError('GH_USERLIST_INVALID', entry, `${file}:${i + 1}`);
    if (!entry) continue;
    if (entry.secret) users.set(entry.user, entry.secret);
    else users.delete(entry.user);
  }
  return users;
}

/** Reads and parses an auth file; throws GatehouseError GH_USERLIST_INVALID naming file or file:line. */
export function loadUserlist(path: string): Userlist {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new GatehouseError('GH_USERLIST_INVALID', `could not read auth file: ${(e as Error).message}`, path);
  }
  return parseUserlist(text, path);
}

/** Quotes a field for an auth file: wrapped in double quotes, each `"` doubled. */
export function quoteAuthField(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/** One auth-file line for a user and a secret (a verifier, an md5 hash or a password). */
export function formatUserlistLine(user: string, secret: string): string {
  if (/[\r\n]/.test(user) || /[\r\n]/.test(secret)) throw new RangeError('auth file fields cannot contain line breaks');
  return `${quoteAuthField(user)} ${quoteAuthField(secret)}`;
}
