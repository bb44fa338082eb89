/**
 * The server's pg_hba.conf in live mode, for the hba checks: the file itself when pg_read_file may
 * read it (exact text, so evidence quotes the real lines), else the rows of pg_hba_file_rules turned
 * back into lines. Either way the view's `error` column, PostgreSQL's own verdict, wins over ours.
 */
import { compileHbaText, type HbaCompileResult, type HbaEntry, type HbaIssue, type HbaRule, type PgMajor } from '../../hba/index.js';

/** One pg_hba_file_rules row (file_name and rule_number exist from PostgreSQL 16). */
export interface HbaViewRow {
  rule_number?: number | null;
  file_name?: string | null;
  line_number: number;
  type: string | null;
  database: string[] | null;
  user_name: string[] | null;
  address: string | null;
  netmask: string | null;
  auth_method: string | null;
  options: string[] | null;
  error: string | null;
}

export interface LiveHbaInput {
  hbaFile: string;
  /** pg_read_file(hba_file), when allowed. */
  fileText?: string;
  /** pg_hba_file_rules, when allowed. */
  viewRows?: HbaViewRow[];
  pgVersion: number;
  sslEnabled: boolean;
}

const SIMPLE = /^[A-Za-z0-9_.$\-+@/:*]+$/;

/** A token as pg_hba.conf would need it written: quoted when it holds spaces, commas, quotes or `#`. */
function token(text: string): string {
  if (SIMPLE.test(text)) return text;
  if (text.startsWith('+') && SIMPLE.test(text.slice(1))) return text;
  return `"${text.replace(/"/g, '""')}"`;
}

function option(o: string): string {
  const eq = o.indexOf('=');
  if (eq < 0) return token(o);
  const value = o.slice(eq + 1);
  return `${o.slice(0, eq)}=${SIMPLE.test(value) ? value : `"${value.replace(/"/g, '""')}"`}`;
}

/** A view row written back as a pg_hba.conf line. */
export function viewRowLine(r: HbaViewRow): string {
  const parts = [r.type ?? '', (r.database ?? []).map(token).join(','), (r.user_name ?? []).map(token).join(',')];
  if (r.type !== 'local') parts.push(r.address ?? 'all', ...(r.netmask ? [r.netmask] : []));
  parts.push(r.auth_method ?? '', ...(r.options ?? []).map(option));
  return parts.join(' ');
}

const major = (v: number): PgMajor => (v >= 18 ? 18 : v <= 15 ? 15 : (v as PgMajor));

/**
 * Lines the server refused. A refused line has only line_number and error (hba.c fill_hba_line with
 * no parsed line); a line that loads with a warning (hostssl while ssl is off) has both its fields
 * and an error, and is not refused.
 */
function viewErrors(rows: readonly HbaViewRow[], hbaFile: string): HbaIssue[] {
  return rows.filter((r) => r.error !== null && r.type === null).map((r) => ({ file: r.file_name ?? hbaFile, line: r.line_number, message: r.error ?? '' }));
}

/** Rebuilds a compile result from the view's rows: each valid row parsed on its own, keeping its file and line. */
function fromView(rows: readonly HbaViewRow[], input: LiveHbaInput): HbaCompileResult {
  const opts = { pgVersion: major(input.pgVersion), sslEnabled: input.sslEnabled };
  const rules: HbaRule[] = [];
  const entries: HbaEntry[] = [];
  for (const row of rows) {
    if (row.type === null) continue;
    const file = row.file_name ?? input.hbaFile;
    const one = compileHbaText(`${'\n'.repeat(Math.max(0, row.line_number - 1))}${viewRowLine(row)}\n`, file, opts);
    const rule = one.ruleSet.rules[0];
    if (!rule) continue;
    const renumbered: HbaRule = Object.freeze({ ...rule, file, ruleNumber: rules.length + 1 });
    rules.push(renumbered);
    entries.push(...one.entries.map((e) => ({ ...e, file, rule: renumbered })));
  }
  const errors = viewErrors(rows, input.hbaFile);
  return Object.freeze({
    file: input.hbaFile, entries, errors, notes: [],
    ruleSet: Object.freeze({
      file: input.hbaFile, rules: Object.freeze(rules), notes: [],
      needsHostname: rules.some((r) => r.address?.kind === 'hostname'),
      needsMembership: rules.some((r) => r.users.some((u) => u.kind === 'member')),
    }),
  });
}

/**
 * The hba facts from what could be read; null when neither the file nor the view was readable.
 * `source` says which one the rules came from (the report's evidence quotes it).
 */
export function liveHba(input: LiveHbaInput): { result: HbaCompileResult; source: 'file' | 'view' } | null {
  const opts = { pgVersion: major(input.pgVersion), sslEnabled: input.sslEnabled };
  if (input.fileText !== undefined) {
    const compiled = compileHbaText(input.fileText, input.hbaFile, opts);
    const includesUnreadable = compiled.errors.some((e) => /could not open/.test(e.message));
    if (!(includesUnreadable && input.viewRows)) {
      if (!input.viewRows) return { result: compiled, source: 'file' };
      return { result: Object.freeze({ ...compiled, errors: Object.freeze(viewErrors(input.viewRows, input.hbaFile)) }), source: 'file' };
    }
  }
  if (input.viewRows) return { result: fromView(input.viewRows, input), source: 'view' };
  return null;
}
