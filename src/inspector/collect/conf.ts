/**
 * postgresql.conf exactly as PostgreSQL reads it (src/backend/utils/misc/guc-file.l, ParseConfigFp):
 * `name [=] value` per line, `#` comments, names case-insensitive, single-quoted strings with `''`
 * and backslash escapes, `include`, `include_if_exists` and `include_dir`, and the last value wins.
 * Never throws: every problem is returned with file:line, in PostgreSQL's words.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';

/** One `name = value` line. */
export interface ConfSetting {
  /** Lower-cased, as guc.c compares names. */
  readonly name: string;
  /** De-escaped value text; units are kept (see {@link parseMemoryUnits}). */
  readonly value: string;
  readonly file: string;
  readonly line: number;
}

export interface ConfIssue {
  readonly file: string;
  /** 0 when the message is about the whole file. */
  readonly line: number;
  readonly message: string;
}

export interface ConfParseResult {
  /** Effective settings: the last line for each name wins. */
  readonly settings: ReadonlyMap<string, ConfSetting>;
  /** Every setting line in reading order, including overridden ones (pg_file_settings). */
  readonly all: readonly ConfSetting[];
  readonly errors: readonly ConfIssue[];
  /** Non-fatal messages, e.g. a skipped `include_if_exists`. */
  readonly notes: readonly ConfIssue[];
  /** Every file that was read, in order. */
  readonly files: readonly string[];
}

/** conffiles.h CONF_FILE_MAX_DEPTH. */
const MAX_DEPTH = 10;
/** guc-file.l stops after this many errors in one pass. */
const MAX_ERRORS = 100;

type TokenKind = 'eol' | 'id' | 'qualified_id' | 'string' | 'unquoted' | 'integer' | 'real' | 'equals' | 'error' | 'eof';

interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly line: number;
}

// The flex patterns of guc-file.l; bytes \200-\377 count as letters.
const L = 'A-Za-z_\\u0080-\\uffff';
const ID = `[${L}][${L}0-9]*`;
const PATTERNS: readonly [TokenKind, RegExp][] = [
  ['id', new RegExp(ID, 'y')],
  ['qualified_id', new RegExp(`${ID}\\.${ID}`, 'y')],
  ['string', /'(?:[^'\\\n]|\\.|'')*'/y],
  ['unquoted', new RegExp(`[${L}][${L}0-9\\-._:/]*`, 'y')],
  ['integer', /[-+]?(?:0x[0-9a-fA-F]+|[0-9]+)[a-zA-Z]*/y],
  ['real', /[-+]?[0-9]*\.[0-9]*(?:[Ee][-+]?[0-9]+)?/y],
  ['equals', /=/y],
];

/** A flex-style lexer: longest match wins, ties go to the earlier rule. */
class ConfLexer {
  private pos = 0;
  line = 1;

  constructor(private readonly text: string) {}

  next(): Token {
    this.skipBlanks();
    if (this.pos >= this.text.length) return { kind: 'eof', text: '', line: this.line };
    if (this.text[this.pos] === '\n') {
      this.pos++;
      return { kind: 'eol', text: '\n', line: this.line++ };
    }
    let best: { kind: TokenKind; text: string } = { kind: 'error', text: this.text[this.pos] ?? '' };
    let bestLen = 0;
    for (const [kind, re] of PATTERNS) {
      re.lastIndex = this.pos;
      const m = re.exec(this.text);
      if (m && m[0].length > bestLen) {
        best = { kind, text: m[0] };
        bestLen = m[0].length;
      }
    }
    this.pos += Math.max(bestLen, 1);
    return { ...best, line: this.line };
  }

  private skipBlanks(): void {
    for (;;) {
      const c = this.text[this.pos];
      if (c === ' ' || c === '\t' || c === '\r' || c === '\f') this.pos++;
      else if (c === '#') while (this.pos < this.text.length && this.text[this.pos] !== '\n') this.pos++;
      else return;
    }
  }
}

const ESCAPES: Readonly<Record<string, string>> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** guc-file.l DeescapeQuotedString: strip the quotes, `''` → `'`, `\n` etc., `\ooo` octal, `\x` → `x`. */
export function deescapeQuotedString(quoted: string): string {
  const s = quoted.slice(1, -1);
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? '';
    if (c === '\'' && s[i + 1] === '\'') {
      out += '\'';
      i++;
    } else if (c === '\\' && i + 1 < s.length) {
      const oct = /^[0-7]{1,3}/.exec(s.slice(i + 1));
      if (oct) {
        out += String.fromCharCode(parseInt(oct[0], 8) & 0xff);
        i += oct[0].length;
      } else {
        const e = s[++i] ?? '';
        out += ESCAPES[e] ?? e;
      }
    } else {
      out += c;
    }
  }
  return out;
}

const VALUE_KINDS: ReadonlySet<TokenKind> = new Set(['id', 'string', 'integer', 'real', 'unquoted']);

/** Parse state shared across included files. */
class ConfReader {
  readonly all: ConfSetting[] = [];
  readonly errors: ConfIssue[] = [];
  readonly notes: ConfIssue[] = [];
  readonly files: string[] = [];

  /**
   * guc-file.l ParseConfigFile: `strict` is false for include_if_exists; `written` is the path as the
   * include line spelled it (the depth message quotes it before making it absolute).
   */
  readFile(path: string, strict: boolean, depth: number, from?: { file: string; line: number }, written = path): void {
    if (depth > MAX_DEPTH) {
      this.error(from, `could not open configuration file "${written}": maximum nesting depth exceeded`);
      return;
    }
    if (from !== undefined && path === from.file) {
      this.error(from, `configuration file recursion in "${from.file}"`); // direct recursion only
      return;
    }
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!strict && code === 'ENOENT') {
        this.notes.push({ file: from?.file ?? path, line: from?.line ?? 0, message: `skipping missing configuration file "${path}"` });
        return;
      }
      this.error(from, `could not open configuration file "${path}": ${describeErrno(e)}`);
      return;
    }
    this.files.push(path);
    this.parseText(text, path, depth);
  }

  /** guc-file.l ParseConfigDirectory: `*.conf` not starting with `.`, in strcmp order. */
  readDirectory(dir: string, depth: number, from: { file: string; line: number }): void {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (e) {
      this.error(from, `could not open configuration directory "${dir}": ${describeErrno(e)}`);
      return;
    }
    const files = names.filter((n) => n.endsWith('.conf') && !n.startsWith('.'))
      .map((n) => join(dir, n)).filter(isRegularFile)
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const f of files) this.readFile(f, true, depth + 1, from);
  }

  parseText(text: string, file: string, depth: number): void {
    const lex = new ConfLexer(text);
    let errors = 0;
    for (;;) {
      let tok = lex.next();
      if (tok.kind === 'eof') return;
      if (tok.kind === 'eol') continue;
      const bad = this.parseLine(lex, tok, file, depth);
      if (bad === null) continue;
      this.syntaxError(file, bad);
      if (++errors >= MAX_ERRORS) return;
      tok = bad; // resynchronise at the next line, as ParseConfigFp does
      while (tok.kind !== 'eol' && tok.kind !== 'eof') tok = lex.next();
      if (tok.kind === 'eof') return;
    }
  }

  /** One `name [=] value` line starting at `first`; returns the offending token, or null when fine. */
  private parseLine(lex: ConfLexer, first: Token, file: string, depth: number): Token | null {
    if (first.kind !== 'id' && first.kind !== 'qualified_id') return first;
    let tok = lex.next();
    if (tok.kind === 'equals') tok = lex.next();
    if (!VALUE_KINDS.has(tok.kind)) return tok;
    const value = tok.kind === 'string' ? deescapeQuotedString(tok.text) : tok.text;
    const end = lex.next();
    if (end.kind !== 'eol' && end.kind !== 'eof') return end;
    this.apply(first.text.toLowerCase(), value, file, first.line, depth);
    return null;
  }

  private apply(name: string, value: string, file: string, line: number, depth: number): void {
    const from = { file, line };
    const target = (): string => (isAbsolute(value) ? value : resolve(dirname(file), value));
    if (name === 'include_dir') this.readDirectory(target(), depth, from);
    else if (name === 'include_if_exists') this.readFile(target(), false, depth + 1, from, value);
    else if (name === 'include') this.readFile(target(), true, depth + 1, from, value);
    else this.all.push({ name, value, file, line });
  }

  private syntaxError(file: string, tok: Token): void {
    const message = tok.kind === 'eol' || tok.kind === 'eof'
      ? `syntax error in file "${file}" line ${tok.line}, near end of line`
      : `syntax error in file "${file}" line ${tok.line}, near token "${tok.text}"`;
    this.errors.push({ file, line: tok.line, message });
  }

  private error(from: { file: string; line: number } | undefined, message: string): void {
    this.errors.push({ file: from?.file ?? '', line: from?.line ?? 0, message });
  }
}

function isRegularFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** strerror() wording for the usual errno values. */
function describeErrno(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'No such file or directory';
  if (code === 'EACCES') return 'Permission denied';
  if (code === 'EISDIR') return 'Is a directory';
  if (code === 'ENOTDIR') return 'Not a directory';
  return e instanceof Error ? e.message : String(e);
}

function finish(reader: ConfReader): ConfParseResult {
  const settings = new Map<string, ConfSetting>();
  for (const s of reader.all) settings.set(s.name, s);
  return { settings, all: reader.all, errors: reader.errors, notes: reader.notes, files: reader.files };
}

/** Reads `path` and everything it includes. */
export function parseConfFile(path: string): ConfParseResult {
  const reader = new ConfReader();
  reader.readFile(resolve(path), true, 0);
  return finish(reader);
}

/** Parses text as if it were the file `file` (includes are resolved relative to it). */
export function parseConfText(text: string, file: string): ConfParseResult {
  const reader = new ConfReader();
  reader.files.push(file);
  reader.parseText(text, file, 0);
  return finish(reader);
}

/** `file:line`, or just `file` for a whole-file problem. */
export function formatConfIssue(issue: ConfIssue): string {
  return issue.line > 0 ? `${issue.file}:${issue.line}: ${issue.message}` : `${issue.file}: ${issue.message}`;
}

// guc.c memory_unit_conversion_table / time_unit_conversion_table, largest unit first; unit names
// are case-sensitive.
const MEMORY_UNITS: readonly (readonly [string, number])[] = [['TB', 1024 ** 4], ['GB', 1024 ** 3], ['MB', 1024 ** 2], ['kB', 1024], ['B', 1]];
const TIME_UNITS: readonly (readonly [string, number])[] = [['d', 86_400_000], ['h', 3_600_000], ['min', 60_000], ['s', 1000], ['ms', 1], ['us', 0.001]];

/** A GUC's base unit: what a bare number means (shared_buffers is 8kB, work_mem kB, …). */
export type MemoryBase = 'B' | 'kB' | '8kB' | 'MB';
export type TimeBase = 'us' | 'ms' | 's' | 'min';

/** guc.c parse_int with a memory unit: the value in bytes, or an error in PostgreSQL's words. */
export function parseMemoryUnits(value: string, base: MemoryBase): { bytes: number } | { error: string } {
  const baseBytes = base === '8kB' ? 8192 : MEMORY_UNITS.find(([u]) => u === base)?.[1] ?? 1;
  const r = parseWithUnit(value, MEMORY_UNITS, baseBytes, 'Valid units for this parameter are "B", "kB", "MB", "GB", and "TB".');
  return 'error' in r ? r : { bytes: r.amount };
}

/** guc.c parse_int with a time unit: the value in milliseconds, or an error in PostgreSQL's words. */
export function parseTimeUnits(value: string, base: TimeBase): { ms: number } | { error: string } {
  const baseMs = TIME_UNITS.find(([u]) => u === base)?.[1] ?? 1;
  const r = parseWithUnit(value, TIME_UNITS, baseMs, 'Valid units for this parameter are "us", "ms", "s", "min", "h", and "d".');
  return 'error' in r ? r : { ms: r.amount };
}

/** C rint() in the default rounding mode: halves go to the even neighbour (2.5 → 2, 90.5 → 90). */
export function rint(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * guc.c parse_int's number: strtol(…, 0), so `0x1538` is hex and `010` octal; when a `.` or an
 * exponent follows, the whole number is read again with strtod. Returns the number and the rest.
 */
function strtolThenStrtod(text: string): { num: number; rest: string } | null {
  const int = /^\s*([-+]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(text);
  const after = int ? text.slice(int[0].length) : text;
  if (int && !/^[.eE]/.test(after)) {
    const digits = int[2]!;
    const radix = /^0[xX]/.test(digits) ? 16 : digits.length > 1 && digits.startsWith('0') ? 8 : 10;
    const n = parseInt(radix === 16 ? digits.slice(2) : digits, radix);
    return { num: int[1] === '-' ? -n : n, rest: after };
  }
  const real = /^\s*[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?/.exec(text);
  return real ? { num: Number(real[0]), rest: text.slice(real[0].length) } : null;
}

/**
 * guc.c parse_int + convert_to_base_unit: a number, optional blanks, an optional unit. A value
 * with a unit is first rounded to a whole number of the next smaller unit ("30.1GB"), then, like a
 * bare number, to a whole number of the base unit, both with rint(). Returns base units × `base`.
 */
function parseWithUnit(value: string, units: readonly (readonly [string, number])[], base: number, hint: string): { amount: number } | { error: string } {
  const parsed = strtolThenStrtod(value);
  const m = parsed ? /^\s*([A-Za-z]*)\s*$/.exec(parsed.rest) : null;
  if (!parsed || !m) return { error: `invalid value "${value}"` };
  const unit = m[1] ?? '';
  if (unit === '') return { amount: rint(parsed.num) * base };
  const i = units.findIndex(([u]) => u === unit);
  if (i < 0) return { error: `invalid value "${value}": ${hint}` };
  let inBase = (parsed.num * units[i]![1]) / base;
  const next = units[i + 1];
  if (next) inBase = (rint((inBase * base) / next[1]) * next[1]) / base;
  return { amount: rint(inBase) * base };
}
