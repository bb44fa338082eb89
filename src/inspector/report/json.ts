/** The JSON report: findings, skipped checks and counts, stable for CI and diffing. */
import type { CheckResult, Severity } from '../types.js';
import { SEVERITIES } from '../types.js';

export interface JsonReport {
  version: 1;
  summary: Record<Severity, number> & { skipped: number };
  findings: CheckResult['findings'];
  skipped: CheckResult['skipped'];
  /** Non-fatal problems met while reading the files (file:line: message). */
  warnings: string[];
}

export function countBySeverity(result: CheckResult): Record<Severity, number> {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of result.findings) counts[f.severity]++;
  return counts;
}

export function renderJson(result: CheckResult, warnings: readonly string[] = []): string {
  const report: JsonReport = {
    version: 1,
    summary: { ...countBySeverity(result), skipped: result.skipped.length },
    findings: result.findings,
    skipped: result.skipped,
    warnings: [...warnings],
  };
  return `${JSON.stringify(report, null, 2)}\n`;
}
