/**
 * The Markdown report (a pull-request comment, a wiki page, a ticket): a summary table, then the
 * findings by severity with their evidence in code spans, the fix in a fenced block and the
 * references; the tables; what was skipped and why. Every piece of text from the facts is escaped:
 * `|` cannot break a table, a backtick cannot close a code span, and no text becomes markup.
 */
import type { Finding, ReportTable } from '../types.js';
import { SEVERITIES } from '../types.js';
import { bySeverity, countBySeverity, evidenceWhat, evidenceWhere, type AuditReport } from './common.js';

/**
 * Inline text outside code: what could start emphasis, code, a link, HTML, an entity or a table
 * cell is backslash-escaped, and newlines become spaces. (The text never starts a line, so block
 * markers such as `#` or `-` need nothing.)
 */
export function mdText(s: string): string {
  return s.replace(/\r?\n/g, ' ').replace(/[\\`*_[\]<>|~&]/g, (c) => `\\${c}`);
}

/**
 * An inline code span that holds `s` exactly: fenced by one more backtick than its longest run,
 * padded with a space when it starts or ends with a backtick (CommonMark 6.1).
 */
export function mdCode(s: string): string {
  const flat = s.replace(/\r?\n/g, ' ');
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') || flat === '' ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}

/** A code span inside a table cell: GFM splits cells on `|` even inside code, so it is escaped there too. */
const mdCellCode = (s: string): string => mdCode(s).replace(/\|/g, '\\|');

/** A fenced block that `s` cannot close: the fence is longer than any backtick run in it. */
export function mdFence(s: string, info = ''): string {
  const longest = Math.max(0, ...(s.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${info}\n${s}\n${fence}`;
}

export function mdTable(columns: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [
    `| ${columns.join(' | ')} |`,
    `|${columns.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${columns.map((_, i) => r[i] ?? '').join(' | ')} |`),
  ];
}

function renderFinding(f: Finding): string[] {
  const possible = f.confidence === 'possible' ? ' *(possible)*' : '';
  return [
    `#### ${mdText(f.id)}: ${mdText(f.title)}${possible}`,
    '',
    ...f.evidence.map((e) => `- ${mdCode(evidenceWhere(e))}: ${mdCode(evidenceWhat(e))}`),
    '',
    'Fix:',
    '',
    mdFence(f.remediation),
    '',
    ...(f.references.length > 0 ? [`References: ${f.references.map(mdText).join('; ')}`, ''] : []),
  ];
}

function renderTable(t: ReportTable): string[] {
  return [
    `### ${mdText(t.title)}`,
    '',
    ...mdTable(t.columns.map(mdText), t.rows.map((r) => r.map((c) => (c === '' ? '' : mdCellCode(c))))),
    '',
    ...(t.note ? [`*${mdText(t.note)}*`, ''] : []),
  ];
}

export function renderMarkdown({ context, result }: AuditReport): string {
  const counts = countBySeverity(result);
  const out: string[] = ['# gatehouse audit', ''];
  if (context.targets.length > 0) out.push(`Audited ${context.targets.map(mdCode).join(', ')} at ${mdText(context.generatedAt)}.`, '');
  if (context.releaseData) out.push(`Release data as of ${mdText(context.releaseData.asOf)} (${mdText(context.releaseData.source)}).`, '');
  out.push(...mdTable(['Severity', 'Findings'], [...SEVERITIES.map((s) => [s, String(counts[s])]), ['skipped checks', String(result.skipped.length)]]), '');
  if (context.warnings.length > 0) out.push('## While reading the files', '', ...context.warnings.map((w) => `- ${mdCode(w)}`), '');
  out.push('## Findings', '');
  if (result.findings.length === 0) out.push('No findings.', '');
  for (const g of bySeverity(result.findings)) {
    out.push(`### ${g.severity} (${g.findings.length})`, '');
    for (const f of g.findings) out.push(...renderFinding(f));
  }
  if (result.tables && result.tables.length > 0) {
    out.push('## Tables', '');
    for (const t of result.tables) out.push(...renderTable(t));
  }
  if (result.skipped.length > 0) {
    out.push('## Skipped checks', '');
    out.push(...mdTable(['Check', 'Title', 'Needs'], result.skipped.map((s) => [mdText(s.id), mdText(s.title), mdText(s.needs)])), '');
  }
  return `${out.join('\n')}\n`;
}
