/**
 * The text report: what was audited, findings grouped by severity, each with its evidence
 * (file:line), the exact fix and references; tables as aligned columns; then a summary of counts
 * and of what was skipped and why. Colour only on a TTY.
 */
import type { Finding, ReportTable, Severity } from '../types.js';
import { bySeverity, formatEvidence, summaryLine, type AuditReport } from './common.js';

export interface TextOptions {
  /** ANSI colour; pass `process.stdout.isTTY`. */
  color: boolean;
}

const COLORS: Readonly<Record<Severity, string>> = { critical: '1;31', high: '31', medium: '33', low: '36', info: '2' };

function paint(on: boolean, code: string, text: string): string {
  return on ? `\x1b[${code}m${text}\x1b[0m` : text;
}

function renderFinding(f: Finding, color: boolean): string[] {
  const tag = paint(color, COLORS[f.severity], f.severity.toUpperCase());
  const possible = f.confidence === 'possible' ? ' (possible)' : '';
  const [first = '', ...more] = f.remediation.split('\n');
  return [
    `  ${tag} ${f.id} ${f.title}${possible}`,
    ...f.evidence.map((e) => `      at ${formatEvidence(e)}`),
    `      fix: ${first}`,
    ...more.map((l) => `           ${l}`),
    `      see: ${f.references.join('; ')}`,
  ];
}

/** A table as aligned columns under a dashed rule; cells are one line each. */
export function renderTextTable(t: ReportTable, color = false): string[] {
  const flat = (s: string): string => s.replace(/\s*\n\s*/g, ' ');
  const rows = [t.columns, ...t.rows].map((r) => t.columns.map((_, i) => flat(r[i] ?? '')));
  const widths = t.columns.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => `  ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`.trimEnd();
  const [head = [], ...body] = rows;
  return [
    paint(color, '1', t.title),
    line(head),
    `  ${widths.map((w) => '-'.repeat(w)).join('  ')}`,
    ...(body.length > 0 ? body.map(line) : ['  (no rows)']),
    ...(t.note ? [`  ${t.note}`] : []),
    '',
  ];
}

export function renderText({ context, result }: AuditReport, opts: TextOptions): string {
  const lines: string[] = [];
  if (context.targets.length > 0) lines.push(`Audit of ${context.targets.join(', ')} at ${context.generatedAt}`);
  if (context.releaseData) lines.push(`Release data as of ${context.releaseData.asOf} (${context.releaseData.source})`);
  if (lines.length > 0) lines.push('');
  if (context.warnings.length > 0) lines.push('While reading the files:', ...context.warnings.map((w) => `  ${w}`), '');
  for (const group of bySeverity(result.findings)) {
    lines.push(paint(opts.color, COLORS[group.severity], `${group.severity.toUpperCase()} (${group.findings.length})`));
    for (const f of group.findings) lines.push(...renderFinding(f, opts.color), '');
  }
  if (result.findings.length === 0) lines.push('No findings.', '');
  for (const t of result.tables ?? []) lines.push(...renderTextTable(t, opts.color));
  lines.push(`Summary: ${summaryLine(result)}; ${result.skipped.length} checks skipped`);
  for (const s of result.skipped) lines.push(`  skipped ${s.id} ${s.title}: needs ${s.needs}`);
  return `${lines.join('\n')}\n`;
}
