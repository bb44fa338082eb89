/**
 * Our parse results shaped like PostgreSQL's pg_hba_file_rules and pg_ident_file_mappings views
 * (hbafuncs.c), so the inspector and the differential test can compare a file with what the server reports.
 */
import type { IdentCompileResult } from './ident.js';
import type { HbaCompileResult, HbaEntry, HbaRule } from './types.js';

export interface HbaFileRuleRow {
  /** Counts lines without an error; null on a line with one (even a warning). */
  readonly ruleNumber: number | null;
  readonly fileName: string;
  readonly lineNumber: number;
  readonly type: string | null;
  readonly database: readonly string[] | null;
  readonly userName: readonly string[] | null;
  readonly address: string | null;
  readonly netmask: string | null;
  readonly authMethod: string | null;
  readonly options: readonly string[] | null;
  readonly error: string | null;
}

/** The rows pg_hba_file_rules would show for this file. */
export function hbaFileRules(result: HbaCompileResult): HbaFileRuleRow[] {
  let ruleNumber = 0;
  return result.entries.map((e) => {
    // fill_hba_view(): "No error, set a new rule number" - even for lines hba.c refused silently.
    const numbered = e.viewError === null ? ++ruleNumber : null;
    return { ruleNumber: numbered, fileName: e.file, lineNumber: e.line, error: e.viewError, ...ruleColumns(e) };
  });
}

function ruleColumns(e: HbaEntry): Pick<HbaFileRuleRow, 'type' | 'database' | 'userName' | 'address' | 'netmask' | 'authMethod' | 'options'> {
  const r = e.rule;
  if (r === null) return { type: null, database: null, userName: null, address: null, netmask: null, authMethod: null, options: null };
  return {
    type: r.type,
    database: r.databases.map((d) => d.token.text),
    userName: r.users.map((u) => u.token.text),
    ...addressColumns(r),
    authMethod: r.method,
    options: e.viewOptions.length > 0 ? e.viewOptions : null,
  };
}

function addressColumns(r: HbaRule): { address: string | null; netmask: string | null } {
  const a = r.address;
  if (a === null) return { address: null, netmask: null };
  switch (a.kind) {
    case 'ip': return { address: a.display, netmask: a.netmaskDisplay };
    case 'hostname': return { address: a.name, netmask: null };
    default: return { address: a.kind, netmask: null };
  }
}

export interface IdentFileMappingRow {
  /** Counts lines without an error (PostgreSQL 16+). */
  readonly mapNumber: number | null;
  readonly fileName: string;
  readonly lineNumber: number;
  readonly mapName: string | null;
  readonly sysName: string | null;
  readonly pgUsername: string | null;
  readonly error: string | null;
}

/** The rows pg_ident_file_mappings would show (hbafuncs.c fill_ident_view()). */
export function identFileMappings(result: IdentCompileResult): IdentFileMappingRow[] {
  let mapNumber = 0;
  return result.entries.map((e) => ({
    mapNumber: e.error === null ? ++mapNumber : null,
    fileName: e.file,
    lineNumber: e.line,
    mapName: e.mapping?.mapName ?? null,
    sysName: e.mapping?.systemUser.text ?? null,
    pgUsername: e.mapping?.pgUser.text ?? null,
    error: e.error,
  }));
}
