/**
 * Offline collection: postgresql.conf and pg_hba.conf (and pg_ident.conf) from files, no server.
 * The hba file is compiled with the conf's `ssl` setting, so hostssl lines behave as on the server.
 */
import { compileHbaFile, compileIdentFile, formatIssue } from '../../hba/index.js';
import type { Facts } from '../types.js';
import { isOn } from '../checks/finding.js';
import { formatConfIssue, parseConfFile } from './conf.js';

export interface OfflineSources {
  conf?: string;
  hba?: string;
  ident?: string;
}

export interface OfflineCollection {
  facts: Facts;
  /** Files that could not be read at all (exit code 2), as `file[:line]: message`. */
  loadErrors: string[];
  /** Non-fatal parse problems (bad lines) as `file:line: message`. */
  warnings: string[];
}

/** Reads the given files into {@link Facts}; never throws. */
export function collectOffline(src: OfflineSources): OfflineCollection {
  const facts: Facts = {};
  const loadErrors: string[] = [];
  const warnings: string[] = [];
  if (src.conf !== undefined) {
    const conf = parseConfFile(src.conf);
    if (conf.files.length === 0) loadErrors.push(...conf.errors.map(formatConfIssue));
    else {
      facts.settings = new Map([...conf.settings].map(([k, s]) => [k, { value: s.value, file: s.file, line: s.line, source: 'configuration file' }]));
      facts.confErrors = conf.errors.map((e) => ({ ...e }));
      warnings.push(...conf.notes.map(formatConfIssue));
    }
  }
  if (src.hba !== undefined) {
    // PostgreSQL's ssl defaults to off; unknown (no conf) is treated as on, as `hba lint` does.
    const ssl = facts.settings?.get('ssl')?.value;
    const result = compileHbaFile(src.hba, { sslEnabled: facts.settings ? isOn(ssl ?? 'off') : true });
    if (unreadable(result.entries.length, result.errors)) loadErrors.push(...result.errors.map(formatIssue));
    else facts.hba = { path: src.hba, result };
  }
  if (src.ident !== undefined) {
    const ident = compileIdentFile(src.ident);
    if (unreadable(ident.entries.length, ident.errors)) loadErrors.push(...ident.errors.map(formatIssue));
    else warnings.push(...ident.errors.map(formatIssue));
  }
  return { facts, loadErrors, warnings };
}

/** The file itself could not be opened (as opposed to a file PostgreSQL would refuse line by line). */
function unreadable(entries: number, errors: readonly { message: string }[]): boolean {
  return entries === 0 && errors.some((e) => /could not open/.test(e.message));
}
