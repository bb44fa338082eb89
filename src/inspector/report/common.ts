/**
 * What every report format shares: the one report value they all render, counts, grouping by
 * severity, and evidence as one line of text. Renderers are pure: report in, string out.
 */
import { createRequire } from 'node:module';
import type { CheckResult, Evidence, Finding, ReportContext, Severity } from '../types.js';
import { SEVERITIES } from '../types.js';

/** One audit, as every format renders it: what was audited and when, and what the checks found. */
export interface AuditReport {
  context: ReportContext;
  result: CheckResult;
}

/** gatehouse's own version (package.json), for SARIF's tool.driver and the HTML footer. */
export const GATEHOUSE_VERSION: string = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;

/**
 * Where docs/audit.md is published, for SARIF's informationUri and each rule's helpUri (with the
 * catalogue section's anchor): under package.json's `homepage` when the package declares one, and
 * otherwise nowhere. An address we do not publish would send a DBA's code-scanning tool to a
 * dead link, so SARIF then carries the full help text alone (both URIs are optional in SARIF 2.1.0).
 */
export function docsUrlFrom(homepage: string | undefined): string | undefined {
  if (!homepage) return undefined;
  try {
    return new URL('docs/audit.md', homepage.endsWith('/') ? homepage : `${homepage}/`).href;
  } catch {
    return undefined;
  }
}

export const AUDIT_DOCS_URL: string | undefined = docsUrlFrom((createRequire(import.meta.url)('../../../package.json') as { homepage?: string }).homepage);

export function countBySeverity(result: CheckResult): Record<Severity, number> {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of result.findings) counts[f.severity]++;
  return counts;
}

/** The findings of each severity that has any, most severe first, in check order within one. */
export function bySeverity(findings: readonly Finding[]): { severity: Severity; findings: Finding[] }[] {
  return SEVERITIES.map((severity) => ({ severity, findings: findings.filter((f) => f.severity === severity) }))
    .filter((g) => g.findings.length > 0);
}

/** Where a piece of evidence is (`file:line`, `(default)`, a probe target), without what it says. */
export function evidenceWhere(e: Evidence): string {
  switch (e.kind) {
    case 'file': return e.line > 0 ? `${e.file}:${e.line}` : e.file;
    case 'setting': return e.file ? `${e.file}${e.line ? `:${e.line}` : ''}` : `(${e.source ?? 'unknown source'})`;
    case 'row': return e.query;
    case 'probe': return e.target;
  }
}

/** What a piece of evidence says: the line, `name = 'value'`, the row, the probe's observation. */
export function evidenceWhat(e: Evidence): string {
  switch (e.kind) {
    case 'file': return e.text;
    case 'setting': return `${e.name} = '${e.value}'`;
    case 'row': return JSON.stringify(e.row);
    case 'probe': return e.detail;
  }
}

/** One line: `file:line: text`, `file:line: name = 'value'`, `(default) name = 'value'`. */
export function formatEvidence(e: Evidence): string {
  const sep = e.kind === 'setting' && !e.file ? ' ' : ': ';
  return `${evidenceWhere(e)}${sep}${evidenceWhat(e)}`;
}

/** The part of a finding's title that names its check (`trust on a TCP line: host line …` → `trust on a TCP line`). */
export function checkTitle(f: Finding): string {
  const i = f.title.indexOf(': ');
  return i > 0 ? f.title.slice(0, i) : f.title;
}

/** `1 critical, 3 high, …` for every severity, zeros included. */
export function summaryLine(result: CheckResult): string {
  const counts = countBySeverity(result);
  return SEVERITIES.map((s) => `${counts[s]} ${s}`).join(', ');
}
