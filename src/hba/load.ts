/**
 * hba.c load_hba(): tokenize, parse every line (reporting every bad line, not just the first), and
 * refuse the whole file when any line is bad or none is left. {@link compileHba} never throws, for
 * lint and the inspector; {@link loadHbaFile} throws {@link HbaLoadError}, for the gateway.
 */
import { resolve } from 'node:path';
import { GatehouseError } from '../errors.js';
import { makeParseContext, parseHbaLine, type ParseContext } from './parse.js';
import { AuthFileTokenizer, type HbaIssue, type TokenizedLine } from './tokenize.js';
import {
  LINUX_BUILD, type HbaCompileResult, type HbaEntry, type HbaParseOptions, type HbaRule, type HbaRuleSet,
} from './types.js';

/** pg_hba.conf did not load; `errors` lists every refused line as file:line: message. */
export class HbaLoadError extends GatehouseError {
  constructor(readonly file: string, readonly errors: readonly HbaIssue[]) {
    super('GH_HBA_INVALID', summarize(file, errors), errors[0] ? where(errors[0]) : file);
    this.name = 'HbaLoadError';
  }
}

/** `file:line`, or just `file` for a whole-file problem. */
export function where(issue: HbaIssue): string {
  return issue.line > 0 ? `${issue.file}:${issue.line}` : issue.file;
}

/** One line per issue: `file:line: message`. */
export function formatIssue(issue: HbaIssue): string {
  return `${where(issue)}: ${issue.message}`;
}

function summarize(file: string, errors: readonly HbaIssue[]): string {
  const first = errors[0];
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  return `${file} was not loaded: ${first ? first.message : 'unknown error'}${more}`;
}

function contextFor(opts: HbaParseOptions): ParseContext {
  return makeParseContext(opts.pgVersion ?? 18, { ...LINUX_BUILD, ...opts.build }, opts.sslEnabled ?? true, opts.oauthValidatorLibraries ?? []);
}

/** Reads and parses `path` (and what it includes); never throws for file content problems. */
export function compileHbaFile(path: string, opts: HbaParseOptions = {}): HbaCompileResult {
  const file = resolve(path);
  const tokenizer = new AuthFileTokenizer(opts.pgVersion ?? 18);
  const read = tokenizer.tokenizeFile(file);
  if ('error' in read) return assemble(file, [], [{ file, line: 0, message: read.error }], tokenizer.notes);
  return compileLines(file, read.lines, tokenizer.notes, contextFor(opts));
}

/** Parses in-memory text as if it were the file `fileName` (includes resolve next to it). */
export function compileHbaText(text: string, fileName: string, opts: HbaParseOptions = {}): HbaCompileResult {
  const file = resolve(fileName);
  const tokenizer = new AuthFileTokenizer(opts.pgVersion ?? 18);
  const lines: TokenizedLine[] = [];
  tokenizer.tokenizeText(text, file, 0, lines);
  return compileLines(file, lines, tokenizer.notes, contextFor(opts));
}

function compileLines(file: string, lines: readonly TokenizedLine[], notes: readonly HbaIssue[], ctx: ParseContext): HbaCompileResult {
  const entries: HbaEntry[] = [];
  let loaded = 0;
  for (const tl of lines) {
    const entry = parseHbaLine(tl, loaded + 1, ctx);
    if (entry.rule) loaded++;
    entries.push(entry);
  }
  const errors: HbaIssue[] = entries.filter((e) => e.error !== null).map((e) => ({ file: e.file, line: e.line, message: e.error ?? '' }));
  // "A valid HBA file must have at least one entry" - only reported when nothing else is wrong.
  if (errors.length === 0 && loaded === 0) errors.push({ file, line: 0, message: `configuration file "${file}" contains no entries` });
  const warnings = entries.filter((e) => e.rule && e.viewError).map((e) => ({ file: e.file, line: e.line, message: e.viewError ?? '' }));
  return assemble(file, entries, errors, [...notes, ...warnings]);
}

function assemble(file: string, entries: HbaEntry[], errors: HbaIssue[], notes: readonly HbaIssue[]): HbaCompileResult {
  const rules = entries.flatMap((e) => (e.rule ? [e.rule] : []));
  return Object.freeze({
    file, entries: Object.freeze(entries), errors: Object.freeze(errors), notes: Object.freeze([...notes]),
    ruleSet: makeRuleSet(file, rules, notes),
  });
}

function makeRuleSet(file: string, rules: readonly HbaRule[], notes: readonly HbaIssue[]): HbaRuleSet {
  return Object.freeze({
    file,
    rules: Object.freeze([...rules]),
    needsHostname: rules.some((r) => r.address?.kind === 'hostname'),
    needsMembership: rules.some((r) => r.users.some((u) => u.kind === 'member')
      || r.databases.some((d) => d.kind === 'keyword' && (d.keyword === 'samerole' || d.keyword === 'samegroup'))),
    notes: Object.freeze(notes.map(formatIssue)),
  });
}

function ruleSetOrThrow(result: HbaCompileResult): HbaRuleSet {
  if (result.errors.length > 0) throw new HbaLoadError(result.file, result.errors);
  return result.ruleSet;
}

/**
 * Loads pg_hba.conf as PostgreSQL 18 would (by default). Any bad line refuses the whole file: the
 * thrown {@link HbaLoadError} lists every error with file:line, in PostgreSQL's words.
 */
export function loadHbaFile(path: string, opts: HbaParseOptions = {}): HbaRuleSet {
  return ruleSetOrThrow(compileHbaFile(path, opts));
}

/** Like {@link loadHbaFile} for in-memory text named `fileName`; includes resolve relative to its directory. */
export function parseHbaText(text: string, fileName: string, opts: HbaParseOptions = {}): HbaRuleSet {
  return ruleSetOrThrow(compileHbaText(text, fileName, opts));
}
