/**
 * The JSON report: what was audited, findings, skipped checks, tables and counts, stable for CI and
 * diffing. Version 1; `context` and `tables` were added without changing any existing field.
 */
import type { CheckResult, ReportContext, ReportTable, Severity } from '../types.js';
import { countBySeverity, type AuditReport } from './common.js';

export interface JsonReport {
  version: 1;
  /** What was audited, when, and with which release table. */
  context: Omit<ReportContext, 'warnings'>;
  summary: Record<Severity, number> & { skipped: number };
  findings: CheckResult['findings'];
  skipped: CheckResult['skipped'];
  /** The least-privilege summary and other tables some checks add (empty when none did). */
  tables: ReportTable[];
  /** Non-fatal problems met while reading the files (file:line: message). */
  warnings: string[];
}

export function renderJson({ context, result }: AuditReport): string {
  const { warnings, ...heading } = context;
  const report: JsonReport = {
    version: 1,
    context: heading,
    summary: { ...countBySeverity(result), skipped: result.skipped.length },
    findings: result.findings,
    skipped: result.skipped,
    tables: result.tables ?? [],
    warnings: [...warnings],
  };
  return `${JSON.stringify(report, null, 2)}\n`;
}
