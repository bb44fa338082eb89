/**
 * The lexer shared by pg_hba.conf and pg_ident.conf: a port of hba.c tokenize_auth_file(),
 * next_field_expand(), next_token(), tokenize_expand_file() (`@file`) and tokenize_include_file()
 * (`include`, `include_if_exists`, `include_dir`), plus conffiles.c GetConfFilesInDir().
 *
 * Output is one {@link TokenizedLine} per non-empty line, in file order with included files spliced
 * in place; a line that failed to tokenize carries PostgreSQL's `err_msg` in `error`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize } from 'node:path';

/** PostgreSQL versions whose file syntax we model. 16 added include directives and `/regex`. */
export type PgMajor = 15 | 16 | 17 | 18;

/** One lexed token. `quoted` is true only when a double quote *starts* it (hba.c initial_quote). */
export interface HbaToken {
  readonly text: string;
  readonly quoted: boolean;
  /** The `@file` this token was read from, if any (lint treats such lists as changeable). */
  readonly viaFile?: string;
}

/** A logical line: continuation lines joined, comments removed, fields of comma-joined tokens. */
export interface TokenizedLine {
  readonly file: string;
  /** First physical line of the logical line. */
  readonly line: number;
  /** The logical line as PostgreSQL keeps it (rawline), continuations joined without separator. */
  readonly raw: string;
  readonly fields: readonly (readonly HbaToken[])[];
  readonly error?: string;
}

/** A file:line message that is not an error (e.g. a skipped `include_if_exists`). */
export interface HbaIssue {
  readonly file: string;
  /** 0 when the message is about the whole file. */
  readonly line: number;
  readonly message: string;
}

/** conffiles.h CONF_FILE_MAX_DEPTH: the top file is depth 0. */
const MAX_DEPTH = 10;

/** strerror() texts for the errno values a config read can meet. */
const STRERROR: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory', EACCES: 'Permission denied', ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links', ENAMETOOLONG: 'File name too long', EPERM: 'Operation not permitted',
};

/** hba.c pg_isblank(): only space, tab and carriage return separate tokens. */
const isBlank = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\r';

/** AbsoluteConfigLocation(): absolute paths as given; relative ones against the including file's directory. */
export function absoluteConfigLocation(location: string, callingFile: string): string {
  if (isAbsolute(location)) return location;
  const joined = normalize(join(dirname(callingFile), location));
  return joined.length > 1 ? joined.replace(/\/+$/, '') : joined;
}

function errnoText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return STRERROR[code] ?? (err as Error).message;
}

interface Where { readonly file: string; readonly line: number }

interface NextToken {
  readonly found: boolean;
  readonly text: string;
  readonly initialQuote: boolean;
  readonly comma: boolean;
  readonly end: number;
}

/**
 * hba.c next_token(): skip blanks and commas, then read to an unquoted blank or comma. `"` toggles
 * quoting anywhere, `""` inside quotes is a literal quote, an unquoted `#` ends the line, and an
 * unterminated quote runs to end of line. `""` alone is a valid empty token.
 */
export function nextToken(line: string, pos: number): NextToken {
  let i = pos;
  let c = line[i++];
  while (c !== undefined && (isBlank(c) || c === ',')) c = line[i++];
  let text = '';
  let inQuote = false;
  let wasQuote = false;
  let sawQuote = false;
  let initialQuote = false;
  let comma = false;
  while (c !== undefined && (!isBlank(c) || inQuote)) {
    if (c === '#' && !inQuote) {
      i = line.length + 1; // the comment runs to end of line
      break;
    }
    if (c === ',' && !inQuote) {
      comma = true;
      break;
    }
    if (c !== '"' || wasQuote) text += c;
    wasQuote = inQuote && c === '"' ? !wasQuote : false;
    if (c === '"') {
      inQuote = !inQuote;
      sawQuote = true;
      if (text.length === 0) initialQuote = true;
    }
    c = line[i++];
  }
  return { found: sawQuote || text.length > 0, text, initialQuote, comma, end: i - 1 };
}

/** Splits file content into logical lines: strip trailing CR/LF, join `\`-continued lines. */
function* logicalLines(content: string): Generator<{ line: number; raw: string }> {
  // pg_get_line_append() measures what fgets() read with strlen(): after a NUL the rest of that
  // physical line, newline included, is lost, and the next line is appended to what came before.
  const physical = content.replace(/\0[^\n]*\n?/g, '').split('\n');
  let n = 1;
  for (let i = 0; i < physical.length; ) {
    let buf = '';
    let lastBackslash = 0;
    let continuations = 0;
    for (;;) {
      const next = physical[i++];
      if (next === undefined) break;
      buf = (buf + next).replace(/[\r\n]+$/, '');
      // The backslash must be new text: "a\\" + "\n" + "\n" must not continue twice (hba.c).
      if (buf.length > lastBackslash && buf.endsWith('\\')) {
        buf = buf.slice(0, -1);
        lastBackslash = buf.length;
        continuations++;
        if (i < physical.length) continue;
      }
      break;
    }
    yield { line: n, raw: buf };
    n += continuations + 1;
  }
}

/** Tokenizes auth files for one PostgreSQL major version; collects notes such as skipped includes. */
export class AuthFileTokenizer {
  readonly notes: HbaIssue[] = [];

  constructor(private readonly version: PgMajor = 18) {}

  /** tokenize_auth_file() of the top-level file at `path`; an unreadable file gives PostgreSQL's message. */
  tokenizeFile(path: string): { lines: TokenizedLine[] } | { error: string } {
    const opened = this.open(path, 0);
    if ('error' in opened) return { error: opened.error };
    const lines: TokenizedLine[] = [];
    this.tokenizeText(opened.text, path, 0, lines);
    return { lines };
  }

  /** tokenize_auth_file() of in-memory text named `file`; includes resolve against `file`'s directory. */
  tokenizeText(text: string, file: string, depth: number, out: TokenizedLine[]): void {
    for (const { line, raw } of logicalLines(text)) {
      const fields: HbaToken[][] = [];
      const state = { error: undefined as string | undefined };
      for (let pos = 0; pos < raw.length && state.error === undefined; ) {
        const field = this.nextField(raw, pos, file, depth, state);
        pos = field.end;
        if (field.tokens.length > 0) fields.push(field.tokens);
      }
      if (fields.length === 0 && state.error === undefined) continue;
      const handled = state.error === undefined && this.version >= 16 && this.includeDirective(fields, { file, line }, depth, out);
      if (handled === true) continue;
      const error = typeof handled === 'string' ? handled : state.error;
      out.push(Object.freeze({ file, line, raw, fields, ...(error !== undefined ? { error } : {}) }));
    }
  }

  /** next_field_expand(): comma-joined tokens form one field; `@file` tokens expand in place. */
  private nextField(raw: string, pos: number, file: string, depth: number, state: { error: string | undefined }):
    { tokens: HbaToken[]; end: number } {
    const tokens: HbaToken[] = [];
    let end = pos;
    for (;;) {
      const t = nextToken(raw, end);
      end = t.end;
      if (!t.found) break;
      if (!t.initialQuote && t.text.length > 1 && t.text.startsWith('@')) {
        this.expandFile(tokens, file, t.text.slice(1), depth + 1, state);
      } else {
        tokens.push(Object.freeze({ text: t.text, quoted: t.initialQuote }));
      }
      if (!(t.comma && state.error === undefined)) break;
    }
    return { tokens, end: Math.max(end, pos + 1) };
  }

  /** tokenize_expand_file(): every token of every line of the `@file`, flattened into one list. */
  private expandFile(tokens: HbaToken[], outer: string, name: string, depth: number, state: { error: string | undefined }): void {
    const full = absoluteConfigLocation(name, outer);
    const opened = this.open(full, depth);
    if ('error' in opened) {
      state.error = this.version >= 16 || opened.depthExceeded ? opened.error
        : `could not open secondary authentication file "@${name}" as "${full}": ${opened.errno}`;
      return;
    }
    const lines: TokenizedLine[] = [];
    this.tokenizeText(opened.text, full, depth, lines);
    for (const l of lines) {
      if (l.error !== undefined) {
        state.error = l.error;
        return;
      }
      for (const t of l.fields.flat()) tokens.push(Object.freeze({ ...t, viaFile: t.viaFile ?? full }));
    }
  }

  /**
   * A two-field line whose first token is `include`, `include_if_exists` or `include_dir` (quoted or
   * not). Returns true when handled, an error message for the line, or false when it is no directive.
   */
  private includeDirective(fields: HbaToken[][], at: Where, depth: number, out: TokenizedLine[]): boolean | string {
    if (fields.length !== 2) return false;
    const first = fields[0]?.[0]?.text;
    const second = fields[1]?.[0]?.text ?? '';
    if (first === 'include') return this.includeFile(at, second, depth + 1, false, out) ?? true;
    if (first === 'include_if_exists') return this.includeFile(at, second, depth + 1, true, out) ?? true;
    if (first === 'include_dir') return this.includeDir(at, second, depth + 1, out) ?? true;
    return false;
  }

  /** tokenize_include_file(): splices the file's lines into `out`; returns an error message or undefined. */
  private includeFile(at: Where, name: string, depth: number, missingOk: boolean, out: TokenizedLine[]): string | undefined {
    const full = absoluteConfigLocation(name, at.file);
    const opened = this.open(full, depth);
    if (!('error' in opened)) {
      this.tokenizeText(opened.text, full, depth, out);
      return undefined;
    }
    if (missingOk && opened.errno === STRERROR.ENOENT) {
      this.notes.push({ ...at, message: `skipping missing authentication file "${full}"` });
      return undefined;
    }
    return opened.error;
  }

  /** include_dir: `*.conf` files not starting with `.`, in strcmp order; errors accumulate one per line. */
  private includeDir(at: Where, name: string, depth: number, out: TokenizedLine[]): string | undefined {
    const listed = confFilesInDir(absoluteConfigLocation(name, at.file));
    if ('error' in listed) return listed.error;
    let error: string | undefined;
    const collected: string[] = [];
    for (const f of listed.files) {
      // hba.c keeps err_msg across iterations, so a failure is repeated for each later file.
      error = this.includeFile(at, f, depth, false, out) ?? error;
      if (error !== undefined) collected.push(error);
    }
    return collected.length > 0 ? collected.join('\n') : undefined;
  }

  /** open_auth_file() + read. A directory reads as empty: fgets() fails and hba.c drops that error. */
  private open(path: string, depth: number): { text: string } | { error: string; errno: string; depthExceeded?: true } {
    if (depth > MAX_DEPTH) {
      const error = `could not open file "${path}": maximum nesting depth exceeded`;
      return { error, errno: '', depthExceeded: true };
    }
    try {
      return { text: readFileSync(path, 'utf8') };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EISDIR') return { text: '' };
      const errno = errnoText(err);
      return { error: `could not open file "${path}": ${errno}`, errno };
    }
  }
}

/** conffiles.c GetConfFilesInDir(). */
function confFilesInDir(dir: string): { files: string[] } | { error: string } {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return { error: `could not open directory "${dir}"` };
  }
  const files: string[] = [];
  for (const name of names) {
    if (name.length < 6 || name.startsWith('.') || !name.endsWith('.conf')) continue;
    const full = join(dir, name);
    try {
      if (!statSync(full).isDirectory()) files.push(full);
    } catch {
      return { error: `could not stat file "${full}"` };
    }
  }
  // pg_qsort_strcmp: byte order, not locale order.
  return { files: files.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))) };
}
