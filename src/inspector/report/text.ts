/**
 * The text report: findings grouped by severity, each with its evidence (file:line), the exact fix and
 * references; then a summary of counts and of what was skipped and why. Colour only on a TTY.
 */
import type { CheckResult, Evidence, Finding, Severity } from '../types.js';
import { SEVERITIES } from '../types.js';
import { countBySeverity } from './json.js';

export interface TextOptions {
  /** ANSI colour; pass `process.stdout.isTTY`. */
  color: boolean;
}

const COLORS: Readonly<Record<Severity, string>> = { critical: '1;31', high: '31', medium: '33', low: '36', info: '2' };

function paint(on: boolean, code: string, text: string): string {
  return on ? `\x1b[${code}m${text}\x1b[0m` : text;
}

export function formatEvidence(e: Evidence): string {
  switch (e.kind) {
    case 'file': return e.line > 0 ? `${e.file}:${e.line}: ${e.text}` : `${e.file}: ${e.text}`;
    case 'setting': {
      const where = e.file ? `${e.file}${e.line ? `:${e.line}` : ''}: ` : `(${e.source ?? 'unknown source'}) `;
      return `${where}${e.name} = '${e.value}'`;
    }
    case 'row': return `${e.query}: ${JSON.stringify(e.row)}`;
    case 'probe': return `${e.target}: ${e.detail}`;
  }
}

function renderFinding(f: Finding, color: boolean): string[] {
  const tag = paint(color, COLORS[f.severity], f.severity.toUpperCase());
  const possible = f.confidence === 'possible' ? ' (possible)' : '';
  return [
    `  ${tag} ${f.id} ${f.title}${possible}`,
    ...f.evidence.map((e) => `      at ${formatEvidence(e)}`),
    `      fix: ${f.remediation}`,
    `      see: ${f.references.join('; ')}`,
  ];
}

export function renderText(result: CheckResult, opts: TextOptions, warnings: readonly string[] = []): string {
  const lines: string[] = [];
  if (warnings.length > 0) lines.push('While reading the files:', ...warnings.map((w) => `  ${w}`), '');
  for (const sev of SEVERITIES) {
    const group = result.findings.filter((f) => f.severity === sev);
    if (group.length === 0) continue;
    lines.push(paint(opts.color, COLORS[sev], `${sev.toUpperCase()} (${group.length})`));
    for (const f of group) lines.push(...renderFinding(f, opts.color), '');
  }
  if (result.findings.length === 0) lines.push('No findings.', '');
  const counts = countBySeverity(result);
  lines.push(`Summary: ${SEVERITIES.map((s) => `${counts[s]} ${s}`).join(', ')}; ${result.skipped.length} checks skipped`);
  for (const s of result.skipped) lines.push(`  skipped ${s.id} ${s.title}: needs ${s.needs}`);
  return `${lines.join('\n')}\n`;
}
