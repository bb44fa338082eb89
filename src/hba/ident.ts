/**
 * pg_ident.conf: `MAP SYSTEM-USER PG-USER` lines with the pg_hba.conf lexer (includes, `@file`,
 * continuations). A port of hba.c parse_ident_line(), check_ident_usermap() and check_usermap()
 * as of PostgreSQL 16+: a `/regex` system user whose first capture replaces `\1` in PG-USER, and a
 * PG-USER that may be `all`, `+role` or `/regex`.
 */
import { resolve } from 'node:path';
import { GatehouseError } from '../errors.js';
import { userTokenMatches } from './evaluate.js';
import { formatIssue, where } from './load.js';
import { compilePgRegex, PgRegexError } from './regex.js';
import { AuthFileTokenizer, type HbaIssue, type HbaToken, type PgMajor, type TokenizedLine } from './tokenize.js';
import type { UserMatcher } from './types.js';

export interface IdentMapping {
  readonly file: string;
  readonly line: number;
  /** 1-based position among the loaded mappings (pg_ident_file_mappings.map_number). */
  readonly mapNumber: number;
  readonly text: string;
  readonly mapName: string;
  readonly systemUser: HbaToken;
  /** Compiled when the system user starts with `/`. */
  readonly systemUserRegex: RegExp | null;
  readonly pgUser: HbaToken;
  /** How PG-USER matches: `all`, `+role`, `/regex` or a name (always a name before PostgreSQL 16). */
  readonly pgUserMatcher: UserMatcher;
}

export interface IdentMapSet {
  readonly file: string;
  readonly mappings: readonly IdentMapping[];
  readonly notes: readonly string[];
}

export interface IdentParseOptions {
  /** Default 18. Before 16, PG-USER is compared literally (no all, +role or regex). */
  readonly pgVersion?: PgMajor;
}

/** One pg_ident.conf line as PostgreSQL sees it, for lint and the inspector. */
export interface IdentEntry {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  readonly mapping: IdentMapping | null;
  readonly error: string | null;
}

export interface IdentCompileResult {
  readonly entries: readonly IdentEntry[];
  readonly errors: readonly HbaIssue[];
  readonly set: IdentMapSet;
}

/** pg_ident.conf did not load; `errors` lists every refused line. */
export class IdentLoadError extends GatehouseError {
  constructor(readonly file: string, readonly errors: readonly HbaIssue[]) {
    const first = errors[0];
    super('GH_IDENT_INVALID', `${file} was not loaded: ${first?.message ?? 'unknown error'}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`,
      first ? where(first) : file);
    this.name = 'IdentLoadError';
  }
}

class IdentFailure extends Error {}

function regexOf(token: HbaToken): RegExp | null {
  if (!token.text.startsWith('/')) return null;
  try {
    return compilePgRegex(token.text.slice(1));
  } catch (err) {
    if (!(err instanceof PgRegexError)) throw err;
    throw new IdentFailure(`invalid regular expression "${token.text.slice(1)}": ${err.reason}`);
  }
}

/** PG-USER as a check_role() token (PostgreSQL 16+: keywords only unquoted; regex even when quoted). */
function pgUserMatcher(t: HbaToken, version: PgMajor): UserMatcher {
  const regex = version >= 16 ? regexOf(t) : null;
  if (version < 16) return { kind: 'name', name: t.text, token: t };
  if (!t.quoted && t.text.startsWith('+')) return { kind: 'member', role: t.text.slice(1), token: t };
  if (!t.quoted && t.text === 'all') return { kind: 'all', token: t };
  if (regex) return { kind: 'regex', regex, token: t };
  return { kind: 'name', name: t.text, token: t };
}

/** parse_ident_line(): three single-valued fields; extra fields are ignored, as in hba.c. */
function parseIdentLine(tl: TokenizedLine, mapNumber: number, version: PgMajor): IdentMapping {
  const single = (i: number): HbaToken => {
    const field = tl.fields[i];
    if (field === undefined) throw new IdentFailure('missing entry at end of line');
    if (field.length > 1) throw new IdentFailure('multiple values in ident field');
    return field[0] ?? { text: '', quoted: false };
  };
  const map = single(0);
  const systemUser = single(1);
  const pgUser = single(2);
  // hba.c compiles the system user first, then PG-USER, after all fields are checked.
  const systemUserRegex = regexOf(systemUser);
  return Object.freeze({
    file: tl.file, line: tl.line, mapNumber, text: tl.raw, mapName: map.text, systemUser, systemUserRegex, pgUser,
    pgUserMatcher: Object.freeze(pgUserMatcher(pgUser, version)),
  });
}

function compileLines(file: string, lines: readonly TokenizedLine[], notes: readonly HbaIssue[], version: PgMajor): IdentCompileResult {
  const entries: IdentEntry[] = [];
  const mappings: IdentMapping[] = [];
  for (const tl of lines) {
    const base = { file: tl.file, line: tl.line, text: tl.raw };
    if (tl.error !== undefined) {
      entries.push({ ...base, mapping: null, error: tl.error });
      continue;
    }
    try {
      const mapping = parseIdentLine(tl, mappings.length + 1, version);
      mappings.push(mapping);
      entries.push({ ...base, mapping, error: null });
    } catch (err) {
      if (!(err instanceof IdentFailure)) throw err;
      entries.push({ ...base, mapping: null, error: err.message });
    }
  }
  const errors = entries.filter((e) => e.error !== null).map((e) => ({ file: e.file, line: e.line, message: e.error ?? '' }));
  const set = Object.freeze({ file, mappings: Object.freeze(mappings), notes: Object.freeze(notes.map(formatIssue)) });
  return { entries, errors, set };
}

/** Reads and parses pg_ident.conf without throwing. */
export function compileIdentFile(path: string, opts: IdentParseOptions = {}): IdentCompileResult {
  const file = resolve(path);
  const version = opts.pgVersion ?? 18;
  const tokenizer = new AuthFileTokenizer(version);
  const read = tokenizer.tokenizeFile(file);
  if ('error' in read) {
    return { entries: [], errors: [{ file, line: 0, message: read.error }], set: { file, mappings: [], notes: [] } };
  }
  return compileLines(file, read.lines, tokenizer.notes, version);
}

/** Parses in-memory pg_ident.conf text named `fileName` without throwing. */
export function compileIdentText(text: string, fileName: string, opts: IdentParseOptions = {}): IdentCompileResult {
  const file = resolve(fileName);
  const version = opts.pgVersion ?? 18;
  const tokenizer = new AuthFileTokenizer(version);
  const lines: TokenizedLine[] = [];
  tokenizer.tokenizeText(text, file, 0, lines);
  return compileLines(file, lines, tokenizer.notes, version);
}

function setOrThrow(file: string, r: IdentCompileResult): IdentMapSet {
  if (r.errors.length > 0) throw new IdentLoadError(file, r.errors);
  return r.set;
}

/** Loads pg_ident.conf; any bad line refuses the whole file ({@link IdentLoadError}, GH_IDENT_INVALID). */
export function loadIdentFile(path: string, opts: IdentParseOptions = {}): IdentMapSet {
  return setOrThrow(resolve(path), compileIdentFile(path, opts));
}

/** Like {@link loadIdentFile} for in-memory text. */
export function parseIdentText(text: string, fileName: string, opts: IdentParseOptions = {}): IdentMapSet {
  return setOrThrow(resolve(fileName), compileIdentText(text, fileName, opts));
}

type Outcome = 'match' | 'no' | 'error';

/** check_ident_usermap() for one line. */
function checkLine(m: IdentMapping, mapName: string, systemUser: string, pgUser: string, isMember?: (role: string) => boolean): Outcome {
  if (m.mapName !== mapName) return 'no';
  let token: UserMatcher = m.pgUserMatcher;
  if (m.systemUserRegex) {
    const found = m.systemUserRegex.exec(systemUser);
    if (!found) return 'no';
    const substitutes = token.kind === 'name' && m.pgUser.text.includes('\\1');
    if (substitutes) {
      // "regular expression … has no subexpressions as requested by backreference": an error, not a miss.
      const capture = found[1];
      if (capture === undefined) return 'error';
      // The expanded name is compared literally: hba.c marks it quoted, so no all/+role meaning.
      token = { kind: 'name', name: m.pgUser.text.replace('\\1', () => capture), token: m.pgUser };
    }
  } else if (m.systemUser.text !== systemUser) {
    return 'no';
  }
  return userTokenMatches(token, pgUser, { user: pgUser, ...(isMember ? { isMember } : {}) }) ? 'match' : 'no';
}

/**
 * check_usermap(): may the OS/certificate user `systemUser` log in as `pgUser` under map `mapName`?
 * An empty map name means no map: the names must be equal. The first matching line wins; a `\1`
 * with nothing captured stops the search with "no". `isMember` answers `+role` as in pg_hba.conf.
 */
export function checkIdentMap(set: IdentMapSet, mapName: string, systemUser: string, pgUser: string, isMember?: (role: string) => boolean): boolean {
  if (mapName === '') return systemUser === pgUser;
  for (const m of set.mappings) {
    const outcome = checkLine(m, mapName, systemUser, pgUser, isMember);
    if (outcome === 'match') return true;
    if (outcome === 'error') return false;
  }
  return false;
}
