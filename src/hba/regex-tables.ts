/**
 * Tables for regex.ts: regerror() texts, ASCII character classes (the C collation hba.c compiles
 * with), collating-element names, escapes, and the helpers that emit JavaScript for literals.
 */

/** What \w matches in the C collation. */
export const WORD = 'A-Za-z0-9_';
export const SPACE = '\\t\\n\\v\\f\\r ';
/** ASCII character classes: hba regexes use C_COLLATION_OID, where non-ASCII is never alpha etc. */
export const CLASSES: Readonly<Record<string, string>> = {
  alnum: 'A-Za-z0-9', alpha: 'A-Za-z', ascii: '\\x00-\\x7f', blank: ' \\t', cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9', graph: '!-~', lower: 'a-z', print: ' -~', punct: '!-\\/:-@\\[-`{-~', space: SPACE,
  upper: 'A-Z', xdigit: '0-9A-Fa-f', word: WORD,
};
/** A few of regc_locale.c's collating element names; single characters are always accepted. */
export const COLLATING_NAMES: Readonly<Record<string, number>> = {
  NUL: 0, tab: 9, newline: 10, 'carriage-return': 13, space: 32, 'exclamation-mark': 33, 'quotation-mark': 34,
  'number-sign': 35, 'dollar-sign': 36, 'percent-sign': 37, ampersand: 38, apostrophe: 39, 'left-parenthesis': 40,
  'right-parenthesis': 41, asterisk: 42, 'plus-sign': 43, comma: 44, hyphen: 45, 'hyphen-minus': 45, period: 46,
  'full-stop': 46, slash: 47, solidus: 47, colon: 58, semicolon: 59, 'less-than-sign': 60, 'equals-sign': 61,
  'greater-than-sign': 62, 'question-mark': 63, 'commercial-at': 64, 'left-square-bracket': 91, backslash: 92,
  'reverse-solidus': 92, 'right-square-bracket': 93, 'circumflex-accent': 94, underscore: 95, 'low-line': 95,
  'grave-accent': 96, 'left-brace': 123, 'left-curly-bracket': 123, 'vertical-line': 124, 'right-brace': 125,
  'right-curly-bracket': 125, tilde: 126, DEL: 127,
};
export const WORD_START = `(?<![${WORD}])(?=[${WORD}])`;
export const WORD_END = `(?<=[${WORD}])(?![${WORD}])`;

/** regerror() texts (src/include/regex/regerrs.h). */
export const ERR = {
  BADPAT: 'invalid regexp (reg version 0.8)',
  ECOLLATE: 'invalid collating element',
  ECTYPE: 'invalid character class',
  EESCAPE: 'invalid escape \\ sequence',
  ESUBREG: 'invalid backreference number',
  EBRACK: 'brackets [] not balanced',
  EPAREN: 'parentheses () not balanced',
  EBRACE: 'braces {} not balanced',
  BADBR: 'invalid repetition count(s)',
  ERANGE: 'invalid character range',
  BADRPT: 'quantifier operand invalid',
  BADOPT: 'invalid embedded option',
} as const;

export const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
export const isAlnum = (c: string | undefined): boolean => c !== undefined && /^[A-Za-z0-9]$/.test(c);
export const hexOf = (cp: number): string => `\\u{${cp.toString(16)}}`;

export const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  a: 0x07, b: 0x08, B: 0x5c, e: 0x1b, f: 0x0c, n: 0x0a, r: 0x0d, t: 0x09, v: 0x0b,
};
export const CLASS_ESCAPES: Readonly<Record<string, string>> = {
  d: '0-9', D: '^0-9', s: SPACE, S: `^${SPACE}`, w: WORD, W: `^${WORD}`,
};
export const CONSTRAINT_ESCAPES: Readonly<Record<string, string>> = {
  A: '^', Z: '$', m: WORD_START, M: WORD_END,
  y: `(?:${WORD_START}|${WORD_END})`,
  Y: `(?:(?<=[${WORD}])(?=[${WORD}])|(?<![${WORD}])(?![${WORD}]))`,
};

/** One literal character; ASCII letters under (?i) match both cases, as in the C collation. */
export function literalJs(cp: number, icase: boolean): string {
  if (cp > 0x10ffff) return '[]'; // such a character cannot occur in a name
  const ch = String.fromCodePoint(cp);
  if (icase && /^[A-Za-z]$/.test(ch)) return `[${ch.toLowerCase()}${ch.toUpperCase()}]`;
  return /^[A-Za-z0-9_]$/.test(ch) ? ch : hexOf(cp);
}

/** A bracket range; under (?i) the overlapping ASCII letters of the other case are added. */
export function rangeJs(lo: number, hi: number, icase: boolean): string {
  const one = (a: number, b: number): string => (a === b ? hexOf(a) : `${hexOf(a)}-${hexOf(b)}`);
  let out = hi > 0x10ffff ? (lo > 0x10ffff ? '' : one(lo, 0x10ffff)) : one(lo, hi);
  if (!icase) return out;
  for (const [a, z, shift] of [[0x61, 0x7a, -32], [0x41, 0x5a, 32]] as const) {
    const from = Math.max(lo, a);
    const to = Math.min(hi, z);
    if (from <= to) out += one(from + shift, to + shift);
  }
  return out;
}
