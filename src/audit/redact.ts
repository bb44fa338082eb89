/**
 * Redaction of secrets in statement text (DESIGN invariant 4): every literal that carries a
 * password or key becomes `<REDACTED>` before any sink, metric or log sees the statement.
 *
 * It works on tokens, not on the parse tree, so text that does not parse is redacted too:
 * libpg-query's scanner (PostgreSQL's own scan.l) first, and when that fails (an unterminated quote
 * or comment) the hand-written lexer in sql-lexer.ts, whose unterminated literal runs to the end of
 * the text, so a broken `CREATE ROLE x PASSWORD 'secret` loses everything after PASSWORD. Anything
 * unterminated is redacted to the end, and so is a comment that names a secret.
 *
 * What is a secret (when unsure, redact):
 * - the literal after a word that names one: PASSWORD (CREATE/ALTER ROLE|USER … [ENCRYPTED] PASSWORD,
 *   USER MAPPING and SERVER OPTIONS (password '…')), passwd, passphrase, secret, credential, and
 *   `_token` / `_key` / `pwd` segments, optionally after `=` or TO (SET, ALTER SYSTEM);
 * - any literal holding a conninfo password (`password=`) or a URI with a password (`://u:p@h`):
 *   dblink_connect, CREATE SUBSCRIPTION … CONNECTION, postgres_fdw options;
 * - every literal argument of pgcrypto's password and key functions (crypt, pgp_sym_encrypt, hmac, …)
 *   and of set_config when the setting's name says secret;
 * - in INSERT … (cols) VALUES, the values of columns whose names say secret.
 * pgAudit 1.7 cuts everything after the word `password` in CREATE/ALTER ROLE and USER MAPPING
 * (`ALTER ROLE x PASSWORD <REDACTED>`); we replace the literal itself, which prints the same for the
 * usual statement and keeps what follows it (VALID UNTIL …).
 */
import { scanSync } from 'libpg-query';
import { lexSql, type LexKind, type LexToken } from './sql-lexer.js';

export const REDACTED = '<REDACTED>';

/** A quick test that lets the common statement skip the scanner: every secret rule needs one of these. */
const HINT = /pass|secret|crypt|hmac|token|credential|api_?key|private_?key|pwd|dblink|set_config|:\/\//i;
const SECRET_WORD = /password|passwd|passphrase|secret|credential|(?:^|_)(?:pwd|token|api_?key|private_?key|secret_?key)(?:$|_)/i;
const SECRET_IN_STRING = /pass(?:word|wd)\s*=|:\/\/[^\s/@'"]*:[^\s@'"]*@/i;
/** pgcrypto functions whose literal arguments include a password or key. */
const SECRET_FUNCTIONS = new Set([
  'crypt', 'hmac', 'encrypt', 'decrypt', 'encrypt_iv', 'decrypt_iv', 'pgp_sym_encrypt', 'pgp_sym_decrypt',
  'pgp_sym_encrypt_bytea', 'pgp_sym_decrypt_bytea', 'pgp_pub_decrypt', 'pgp_pub_decrypt_bytea',
]);

/** Whether a text may carry a secret (cheap; false means redaction has nothing to do). */
export function mayCarrySecret(text: string): boolean {
  return HINT.test(text);
}

interface Tok extends LexToken { text: string }

/** Scanner tokens in char offsets (libpg-query counts UTF-8 bytes), or null when the scanner gives up. */
function scannerTokens(text: string): Tok[] | null {
  // libpg-query takes a C string: it would stop at a NUL and never see a secret after it.
  if (text.includes('\u0000')) return null;
  let tokens;
  try {
    tokens = scanSync(text).tokens;
  } catch {
    return null;
  }
  const ascii = !/[^\u0000-\u007f]/.test(text);
  const buf = ascii ? undefined : Buffer.from(text, 'utf8');
  const toChar = (b: number): number => (buf ? buf.subarray(0, b).toString('utf8').length : b);
  return tokens.map((t) => {
    const start = toChar(t.start);
    const end = toChar(t.end);
    return { kind: scannerKind(t.tokenName, t.keywordKind, t.text), start, end, text: text.slice(start, end) };
  });
}

function scannerKind(name: string, keywordKind: number, text: string): LexKind {
  if (name === 'SCONST' || name === 'USCONST' || /^(?:[uU]&|[bBxXnNeE])?'/.test(text)) return 'string';
  if (name === 'IDENT' || keywordKind > 0) return text.startsWith('"') || /^[uU]&"/.test(text) ? 'qident' : 'word';
  if (name === 'ICONST' || name === 'FCONST') return 'number';
  if (name === 'PARAM') return 'param';
  if (name === 'SQL_COMMENT' || name === 'C_COMMENT') return 'comment';
  if (text === ';') return 'semicolon';
  return text.startsWith('"') ? 'qident' : 'op';
}

function tokensOf(text: string): Tok[] {
  return scannerTokens(text) ?? lexSql(text).map((t) => ({ ...t, text: text.slice(t.start, t.end) }));
}

/** A word's name: quoted identifiers unquoted, lower case otherwise. */
function wordName(t: Tok): string {
  if (t.kind === 'qident') return t.text.replace(/^[uU]&/, '').slice(1, -1).replace(/""/g, '"');
  return t.text.toLowerCase();
}

export interface SecretScan {
  /** Char ranges [start, end) of the secret literals, sorted, not overlapping. */
  spans: Array<[number, number]>;
  /**
   * A secret was found, or the text names something that takes one (a secret word, a pgcrypto key
   * function, dblink): bind parameters of this statement may carry secrets.
   */
  sensitive: boolean;
}

const NOTHING: SecretScan = Object.freeze({ spans: [], sensitive: false }) as SecretScan;

/**
 * Where the secrets are in a text. `thorough` skips the quick test: for text that did not parse,
 * whose unterminated quote or comment must go even when nothing in it looks like a secret.
 */
export function scanSecrets(text: string, thorough = false): SecretScan {
  if (!thorough && !HINT.test(text)) return NOTHING;
  const all = tokensOf(text);
  const hit = new Set<number>();
  let named = false;
  // A comment that names a secret, and anything the lexer could not close (the server rejects that
  // text anyway), go whole: what follows an unterminated quote is opaque.
  const opaque = all.filter((t) => t.unterminated || (t.kind === 'comment' && (SECRET_WORD.test(t.text) || SECRET_IN_STRING.test(t.text))));
  const toks = all.filter((t) => t.kind !== 'comment');
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i] as Tok;
    if (t.kind === 'string' && SECRET_IN_STRING.test(t.text)) hit.add(i);
    if (t.kind !== 'word' && t.kind !== 'qident') continue;
    const name = wordName(t);
    if (SECRET_WORD.test(name)) { named = true; markFollowingLiteral(toks, i, hit); }
    if (t.kind === 'word' && toks[i + 1]?.text === '(') {
      if (SECRET_FUNCTIONS.has(name)) { named = true; markCallArguments(toks, i + 1, hit); }
      if (name.startsWith('dblink')) named = true;
      // set_config('app.password', 'x', false): the setting's name is a literal.
      if (name === 'set_config' && toks[i + 2]?.kind === 'string' && SECRET_WORD.test((toks[i + 2] as Tok).text)) {
        named = true;
        markCallArguments(toks, i + 1, hit);
      }
    }
  }
  markInsertedSecrets(toks, hit);
  const spans = mergeSpans([...[...hit].map((i) => toks[i] as Tok), ...opaque]);
  return { spans, sensitive: named || spans.length > 0 };
}

/** Sorted, overlapping or touching ranges joined (one token can be hit by two rules). */
function mergeSpans(toks: LexToken[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const t of [...toks].sort((a, b) => a.start - b.start)) {
    const last = out[out.length - 1];
    if (last && t.start <= last[1]) last[1] = Math.max(last[1], t.end);
    else out.push([t.start, t.end]);
  }
  return out;
}

/** Char ranges [start, end) of the secrets in a text, sorted, not overlapping. */
export function secretSpans(text: string): Array<[number, number]> {
  return scanSecrets(text).spans;
}

/** PASSWORD 'x', password = 'x', SET x.password TO 'x'; adjacent literals ('a' 'b') go too. */
function markFollowingLiteral(toks: Tok[], i: number, hit: Set<number>): void {
  let j = i + 1;
  const next = toks[j];
  if (next && (next.text === '=' || next.text.toLowerCase() === 'to')) j++;
  while (toks[j]?.kind === 'string') hit.add(j++);
}

/** Every literal between the parenthesis at `open` and its match. */
function markCallArguments(toks: Tok[], open: number, hit: Set<number>): void {
  let depth = 0;
  for (let j = open; j < toks.length; j++) {
    const t = toks[j] as Tok;
    if (t.text === '(') depth++;
    else if (t.text === ')' && --depth === 0) return;
    else if (t.kind === 'string') hit.add(j);
  }
}

/** INSERT INTO t (name, password) VALUES ('a', 'b'), (…): the literals in the secret columns' positions. */
function markInsertedSecrets(toks: Tok[], hit: Set<number>): void {
  for (let i = 0; i < toks.length; i++) {
    if (toks[i]?.kind !== 'word' || wordName(toks[i] as Tok) !== 'insert') continue;
    let j = i + 1;
    while (j < toks.length && toks[j]?.text !== '(' && wordName(toks[j] as Tok) !== 'values') j++;
    if (toks[j]?.text !== '(') continue;
    const secretCols = new Set<number>();
    let col = 0;
    for (j++; j < toks.length && toks[j]?.text !== ')'; j++) {
      const t = toks[j] as Tok;
      if (t.text === ',') col++;
      else if ((t.kind === 'word' || t.kind === 'qident') && SECRET_WORD.test(wordName(t))) secretCols.add(col);
    }
    if (secretCols.size > 0 && wordName(toks[j + 1] ?? ({ text: '' } as Tok)) === 'values') markRows(toks, j + 2, secretCols, hit);
  }
}

function markRows(toks: Tok[], from: number, cols: Set<number>, hit: Set<number>): void {
  let depth = 0;
  let col = 0;
  for (let j = from; j < toks.length; j++) {
    const t = toks[j] as Tok;
    if (t.kind === 'semicolon') return;
    if (t.text === '(') { if (depth++ === 0) col = 0; continue; }
    if (t.text === ')') { depth--; continue; }
    if (depth === 1 && t.text === ',') col++;
    else if (depth >= 1 && cols.has(col) && t.kind === 'string') hit.add(j);
  }
}

/** The part [from, to) of `text` with the spans inside it replaced by `<REDACTED>`. */
export function applySpans(text: string, spans: ReadonlyArray<readonly [number, number]>, from = 0, to = text.length): string {
  let out = '';
  let last = from;
  for (const [s, e] of spans) {
    if (e <= from || s >= to) continue;
    out += text.slice(last, Math.max(s, from)) + REDACTED;
    last = Math.min(e, to);
  }
  return out + text.slice(last, to);
}

/** The whole text with its secrets replaced by `<REDACTED>` (the same string when there are none). */
export function redactSql(text: string): string {
  const spans = secretSpans(text);
  return spans.length === 0 ? text : applySpans(text, spans);
}
