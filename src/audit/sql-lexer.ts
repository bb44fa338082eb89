/**
 * A small hand-written SQL lexer, for the two jobs where libpg-query is too slow or gives up:
 * - the cache's shape key: literals replaced by `?`, so `… WHERE aid = 12345` and `… aid = 678`
 *   share one classification (pgbench -S sends a new literal every time);
 * - a fallback tokenizer for redaction when libpg-query's scanner fails (unterminated quotes or
 *   comments), so a broken `CREATE ROLE x PASSWORD 'secret` is still redacted.
 * It follows PostgreSQL's scan.l for what matters here: '' strings with E'', U&'', N'', B'', X''
 * prefixes, $tag$ dollar quotes, "quoted identifiers", -- and nested /* *\/ comments, $n params,
 * numbers. It assumes standard_conforming_strings = on, as libpg-query does.
 */

export type LexKind = 'string' | 'number' | 'word' | 'qident' | 'param' | 'semicolon' | 'comment' | 'op';

export interface LexToken {
  kind: LexKind;
  /** Char offsets into the text. */
  start: number;
  end: number;
  /** A quote or comment that runs to the end of the text. */
  unterminated?: boolean;
}

const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13);
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isIdentStart = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 128;
const isIdentChar = (c: number): boolean => isIdentStart(c) || isDigit(c) || c === 36;

/** End of a quoted run opened at `i` (the quote char); doubled quotes and, when `backslash`, \x escapes stay inside. -1: unterminated. */
function quotedEnd(t: string, i: number, quote: number, backslash: boolean): number {
  for (let j = i + 1; j < t.length; j++) {
    const c = t.charCodeAt(j);
    if (backslash && c === 92) { j++; continue; }
    if (c !== quote) continue;
    if (t.charCodeAt(j + 1) === quote) { j++; continue; }
    return j + 1;
  }
  return -1;
}

/** A `$tag$` opener at `i`: its length, or 0 when `$` does not open a dollar quote here. */
function dollarTagLength(t: string, i: number): number {
  let j = i + 1;
  if (t.charCodeAt(j) === 36) return 2;
  if (!isIdentStart(t.charCodeAt(j))) return 0;
  while (j < t.length && isIdentChar(t.charCodeAt(j)) && t.charCodeAt(j) !== 36) j++;
  return t.charCodeAt(j) === 36 ? j - i + 1 : 0;
}

function blockCommentEnd(t: string, i: number): number {
  let depth = 0;
  for (let j = i; j < t.length - 1; j++) {
    const c = t.charCodeAt(j);
    const d = t.charCodeAt(j + 1);
    if (c === 47 && d === 42) { depth++; j++; } else if (c === 42 && d === 47) { depth--; j++; if (depth === 0) return j + 1; }
  }
  return -1;
}

function numberEnd(t: string, i: number): number {
  let j = i;
  const radix = t.charCodeAt(j + 1) | 32;
  if (t.charCodeAt(j) === 48 && (radix === 120 || radix === 111 || radix === 98)) { // 0x1F, 0o17, 0b101 (PostgreSQL 16+)
    j += 2;
    while (j < t.length && (isDigit(t.charCodeAt(j)) || ((t.charCodeAt(j) | 32) >= 97 && (t.charCodeAt(j) | 32) <= 102) || t.charCodeAt(j) === 95)) j++;
    return j;
  }
  while (isDigit(t.charCodeAt(j)) || t.charCodeAt(j) === 95) j++;
  if (t.charCodeAt(j) === 46 && t.charCodeAt(j + 1) !== 46) { j++; while (isDigit(t.charCodeAt(j)) || t.charCodeAt(j) === 95) j++; }
  if ((t.charCodeAt(j) | 32) === 101) {
    let k = j + 1;
    if (t.charCodeAt(k) === 43 || t.charCodeAt(k) === 45) k++;
    if (isDigit(t.charCodeAt(k))) { j = k; while (isDigit(t.charCodeAt(j))) j++; }
  }
  return j;
}

/** Reads the token at `i` (not whitespace). */
function tokenAt(t: string, i: number): LexToken {
  const c = t.charCodeAt(i);
  const d = t.charCodeAt(i + 1);
  const span = (kind: LexKind, end: number): LexToken => (end < 0 ? { kind, start: i, end: t.length, unterminated: true } : { kind, start: i, end });
  if (c === 45 && d === 45) { const nl = t.indexOf('\n', i); return { kind: 'comment', start: i, end: nl < 0 ? t.length : nl }; }
  if (c === 47 && d === 42) return span('comment', blockCommentEnd(t, i));
  if (c === 39) return span('string', quotedEnd(t, i, 39, false));
  if (c === 34) return span('qident', quotedEnd(t, i, 34, false));
  if (c === 59) return { kind: 'semicolon', start: i, end: i + 1 };
  if (c === 36) {
    if (isDigit(d)) { let j = i + 1; while (isDigit(t.charCodeAt(j))) j++; return { kind: 'param', start: i, end: j }; }
    const n = dollarTagLength(t, i);
    if (n > 0) { const close = t.indexOf(t.slice(i, i + n), i + n); return span('string', close < 0 ? -1 : close + n); }
  }
  if (isDigit(c) || (c === 46 && isDigit(d))) return { kind: 'number', start: i, end: numberEnd(t, i) };
  if (isIdentStart(c)) return wordOrPrefixedString(t, i);
  return { kind: 'op', start: i, end: i + 1 };
}

/** An identifier, or a prefixed string: E'…' (backslash escapes), N'…', B'…', X'…', U&'…', U&"…". */
function wordOrPrefixedString(t: string, i: number): LexToken {
  let j = i + 1;
  while (j < t.length && isIdentChar(t.charCodeAt(j))) j++;
  const len = j - i;
  const first = t.charCodeAt(i) | 32;
  if (len === 1 && t.charCodeAt(j) === 39 && (first === 101 || first === 110 || first === 98 || first === 120)) {
    const end = quotedEnd(t, j, 39, first === 101);
    return end < 0 ? { kind: 'string', start: i, end: t.length, unterminated: true } : { kind: 'string', start: i, end };
  }
  if (len === 1 && first === 117 && t.charCodeAt(j) === 38 && (t.charCodeAt(j + 1) === 39 || t.charCodeAt(j + 1) === 34)) {
    const q = t.charCodeAt(j + 1);
    const end = quotedEnd(t, j + 1, q, false);
    const kind: LexKind = q === 39 ? 'string' : 'qident';
    return end < 0 ? { kind, start: i, end: t.length, unterminated: true } : { kind, start: i, end };
  }
  return { kind: 'word', start: i, end: j };
}

/** Every token of the text, comments included; never throws. */
export function lexSql(text: string): LexToken[] {
  const out: LexToken[] = [];
  for (let i = 0; i < text.length;) {
    if (isSpace(text.charCodeAt(i))) { i++; continue; }
    const tok = tokenAt(text, i);
    out.push(tok);
    i = tok.end > i ? tok.end : i + 1;
  }
  return out;
}

export interface Shape {
  /** The text with every string and numeric literal replaced by `?`. */
  key: string;
  /** Where the one statement ends: its top-level `;`, or the text's length. */
  cut: number;
}

/**
 * The shape of a single-statement text, or null when it must not share a classification by shape:
 * more than one statement, an unterminated quote or comment, or EXPLAIN (whose options may be
 * literals that decide whether it runs the statement).
 */
export function shapeOf(text: string): Shape | null {
  // The hot path of every pgbench-style query: one pass over char codes, no token objects.
  let key = '';
  let last = 0;
  let cut = -1;
  let sawWord = false;
  const n = text.length;
  for (let i = 0; i < n;) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) { i++; continue; }
    const d = text.charCodeAt(i + 1);
    if ((c === 45 && d === 45) || (c === 47 && d === 42)) { // -- and /* comments
      const end = c === 45 ? lineEnd(text, i) : blockCommentEnd(text, i);
      if (end < 0) return null;
      i = end;
      continue;
    }
    if (cut >= 0) return null; // something after the first top-level semicolon: a second statement
    let end: number;
    let literal = false;
    if (c === 59) { cut = i; i++; continue; }
    if (c === 39) { end = quotedEnd(text, i, 39, false); literal = true; }
    else if (c === 34) end = quotedEnd(text, i, 34, false);
    else if (c === 36 && !isDigit(d)) {
      const tag = dollarTagLength(text, i);
      if (tag === 0) { i++; continue; }
      const close = text.indexOf(text.slice(i, i + tag), i + tag);
      end = close < 0 ? -1 : close + tag;
      literal = true;
    } else if (isDigit(c) || (c === 46 && isDigit(d))) { end = numberEnd(text, i); literal = true; }
    else if (isIdentStart(c)) {
      const tok = wordOrPrefixedString(text, i);
      if (tok.unterminated) return null;
      if (!sawWord && tok.end - i === 7 && text.slice(i, tok.end).toLowerCase() === 'explain') return null;
      sawWord = true;
      end = tok.end;
      literal = tok.kind === 'string';
    } else { i++; continue; }
    if (end < 0) return null;
    if (literal) { key += `${text.slice(last, i)}?`; last = end; }
    i = end;
  }
  return { key: key + text.slice(last), cut: cut < 0 ? n : cut };
}

function lineEnd(t: string, i: number): number {
  const nl = t.indexOf('\n', i);
  return nl < 0 ? t.length : nl;
}
