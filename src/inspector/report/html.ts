/**
 * The HTML report: one self-contained file (inline CSS, no script, nothing fetched) for a DBA to
 * read and act on: what was audited, the counts by severity, then every finding with its evidence,
 * the exact fix in a <pre> to copy, its references and confidence; the tables (least privilege);
 * what was skipped and why. Every text from the facts goes through {@link esc}, so a role named
 * `<script>` is shown, never run. It prints cleanly (no card splits across pages, colours kept).
 */
import type { Evidence, Finding, ReportTable, Severity } from '../types.js';
import { SEVERITIES } from '../types.js';
import { GATEHOUSE_VERSION, bySeverity, countBySeverity, evidenceWhat, evidenceWhere, type AuditReport } from './common.js';

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&#39;' };

/** HTML-escapes text for element content and quoted attribute values. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const LABEL: Readonly<Record<Severity, string>> = { critical: 'Critical', high: 'High', medium: 'Medium', low: 'Low', info: 'Info' };

const CSS = `
:root{--critical:#b42318;--high:#d9480f;--medium:#b7791f;--low:#1c7ed6;--info:#6b7280;--ink:#1f2933;--muted:#5f6b7a;--line:#e3e7ed;--bg:#f6f7f9;--code:#f1f3f6}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1080px;margin:0 auto;padding:28px 32px 48px}
header.top{border-bottom:3px solid var(--ink);padding-bottom:14px;margin-bottom:20px}
header.top h1{margin:0;font-size:26px;letter-spacing:-.01em}
header.top h1 span{font-weight:400;color:var(--muted)}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:12px 0 0;font-size:14px}
dl.meta dt{color:var(--muted)}dl.meta dd{margin:0}
h2{font-size:19px;margin:30px 0 12px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3.sev{font-size:16px;margin:22px 0 10px;display:flex;align-items:center;gap:8px}
.summary{display:flex;flex-wrap:wrap;gap:10px;margin:6px 0 8px}
.count{min-width:112px;padding:10px 14px;border-radius:8px;background:#fff;border:1px solid var(--line);border-top:5px solid var(--c)}
.count b{display:block;font-size:28px;line-height:1.1;color:var(--c)}
.count span{font-size:13px;color:var(--muted);text-transform:uppercase;letter-spacing:.05em}
.count.zero b{color:#b8c0cc}
.verdict{margin:10px 0 12px;font-size:15px}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;color:#fff;background:var(--c);font-size:12px;font-weight:600;text-transform:uppercase;letter-spacing:.04em;white-space:nowrap}
.sev-critical{--c:var(--critical)}.sev-high{--c:var(--high)}.sev-medium{--c:var(--medium)}.sev-low{--c:var(--low)}.sev-info{--c:var(--info)}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line);font-size:14px}
th,td{text-align:left;vertical-align:top;padding:6px 10px;border-bottom:1px solid var(--line)}
th{background:#eef1f5;font-weight:600}
table.index{font-size:13px}table.index td{padding:4px 10px}
table.index td:nth-child(-n+2),table.index td:last-child{white-space:nowrap}
table.index td:last-child{max-width:240px;overflow:hidden;text-overflow:ellipsis}
td{overflow-wrap:break-word}
table.data td:first-child{font-weight:600}
table.skips td:nth-child(2){min-width:200px}
table.index a{color:inherit}
article.finding{background:#fff;border:1px solid var(--line);border-left:6px solid var(--c);border-radius:6px;padding:14px 18px;margin:0 0 14px;break-inside:avoid}
article.finding h4{margin:0 0 8px;font-size:16px;display:flex;flex-wrap:wrap;align-items:baseline;gap:8px}
.fid{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:14px;color:var(--muted)}
.possible{font-size:12px;font-weight:600;color:#7a5b00;background:#fff3c4;border-radius:4px;padding:1px 6px}
.label{font-size:12px;font-weight:600;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);margin:10px 0 4px}
ul.evidence{list-style:none;margin:0;padding:0}
ul.evidence li{margin:2px 0;font-size:14px}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
code{background:var(--code);border-radius:3px;padding:1px 4px;overflow-wrap:anywhere}
.where{color:var(--muted);background:none;padding:0}
pre.fix{margin:0;background:#10231b;color:#e6f4ea;border-radius:6px;padding:10px 12px;white-space:pre-wrap;overflow-wrap:anywhere;user-select:all}
ul.refs{margin:0;padding-left:18px;font-size:13px;color:var(--muted)}
ul.refs a{color:var(--low)}
p.note{font-size:13px;color:var(--muted);margin:6px 0 0}
.none{background:#fff;border:1px solid var(--line);border-radius:6px;padding:14px 18px}
ul.warnings{background:#fff8e6;border:1px solid #f2d48a;border-radius:6px;padding:10px 14px 10px 30px}
footer{margin-top:36px;font-size:12px;color:var(--muted)}
@media print{
  body{background:#fff;font-size:12px}main{max-width:none;padding:0}
  *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
  article.finding,tr,.count{break-inside:avoid}h2,h3{break-after:avoid}
  pre.fix{background:#f1f3f6;color:#111;border:1px solid #ccd}
  a{color:inherit;text-decoration:none}
}
`;

/** A reference as a link when it is an http(s) URL, else plain text (escaped either way). */
function reference(r: string): string {
  return /^https?:\/\/[^\s"'<>]+$/.test(r) ? `<a href="${esc(r)}">${esc(r)}</a>` : esc(r);
}

function evidence(e: Evidence): string {
  return `<li><code class="where">${esc(evidenceWhere(e))}</code> <code>${esc(evidenceWhat(e))}</code></li>`;
}

const anchor = (i: number): string => `finding-${i + 1}`;

function finding(f: Finding, n: number): string {
  const possible = f.confidence === 'possible'
    ? ' <span class="possible" title="the facts alone cannot decide">possible</span>' : '';
  return `<article class="finding sev-${f.severity}" id="${anchor(n)}">
<h4><span class="badge">${LABEL[f.severity]}</span> <span class="fid">${esc(f.id)}</span> ${esc(f.title)}${possible}</h4>
<div class="label">Evidence</div>
<ul class="evidence">${f.evidence.map(evidence).join('')}</ul>
<div class="label">Fix</div>
<pre class="fix">${esc(f.remediation)}</pre>
${f.references.length > 0 ? `<div class="label">References</div>\n<ul class="refs">${f.references.map((r) => `<li>${reference(r)}</li>`).join('')}</ul>` : ''}
</article>`;
}

function table(t: ReportTable): string {
  const head = t.columns.map((c) => `<th>${esc(c)}</th>`).join('');
  const rows = t.rows.map((r) => `<tr>${t.columns.map((_, i) => `<td>${esc(r[i] ?? '')}</td>`).join('')}</tr>`).join('\n');
  return `<section class="table" id="table-${esc(t.id)}">
<h2>${esc(t.title)}</h2>
<table class="data"><thead><tr>${head}</tr></thead><tbody>
${rows || `<tr><td colspan="${t.columns.length}">(no rows)</td></tr>`}
</tbody></table>${t.note ? `\n<p class="note">${esc(t.note)}</p>` : ''}
</section>`;
}

function summary(report: AuditReport): string {
  const counts = countBySeverity(report.result);
  const cards = SEVERITIES.map((s) => `<div class="count sev-${s}${counts[s] === 0 ? ' zero' : ''}"><b>${counts[s]}</b><span>${LABEL[s]}</span></div>`);
  cards.push(`<div class="count sev-info${report.result.skipped.length === 0 ? ' zero' : ''}"><b>${report.result.skipped.length}</b><span>Skipped</span></div>`);
  const urgent = counts.critical + counts.high;
  const verdict = report.result.findings.length === 0 ? 'No findings.'
    : urgent > 0 ? `<strong>${urgent} finding${urgent === 1 ? '' : 's'} to fix first</strong> (critical and high), then the rest below.`
      : 'No critical or high finding.';
  return `<div class="summary">${cards.join('')}</div>\n<p class="verdict">${verdict}</p>`;
}

/** The index's short "where": the file's base name and line (the full path is the tooltip and is in the card). */
function shortWhere(e: Evidence | undefined): string {
  if (!e) return '';
  const full = evidenceWhere(e);
  const isPath = e.kind === 'file' || (e.kind === 'setting' && e.file !== undefined);
  // A catalog row's "where" is its query: the relation it reads is enough here.
  const short = isPath ? full.replace(/^.*\/(?=[^/]+$)/, '') : e.kind === 'row' ? full.split(/\s/)[0]! : full;
  return short === full ? esc(full) : `<span title="${esc(full)}">${esc(short)}</span>`;
}

function index(findings: readonly Finding[]): string {
  if (findings.length === 0) return '';
  const rows = findings.map((f, i) => `<tr><td><span class="badge sev-${f.severity}">${LABEL[f.severity]}</span></td><td class="fid">${esc(f.id)}</td><td><a href="#${anchor(i)}">${esc(f.title)}</a></td><td class="fid">${shortWhere(f.evidence[0])}</td></tr>`);
  return `<table class="index"><thead><tr><th>Severity</th><th>Id</th><th>Finding</th><th>Where</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

function heading(report: AuditReport): string {
  const c = report.context;
  const meta = [
    ['Audited', c.targets.length > 0 ? c.targets.map((t) => `<code>${esc(t)}</code>`).join('<br>') : '(nothing named)'],
    ['Generated', esc(c.generatedAt)],
    ...(c.releaseData ? [['Release data', `${esc(c.releaseData.asOf)} <span class="fid">(${esc(c.releaseData.source)})</span>`]] : []),
    ['Tool', `gatehouse ${esc(GATEHOUSE_VERSION)}`],
  ];
  return `<header class="top">
<h1>gatehouse audit <span>PostgreSQL hardening report</span></h1>
<dl class="meta">${meta.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>
</header>`;
}

export function renderHtml(report: AuditReport): string {
  const { context, result } = report;
  // Findings keep one number across the index and the cards (the order of result.findings).
  const numbered = new Map(result.findings.map((f, i) => [f, i]));
  const groups = bySeverity(result.findings).map((g) => `<h3 class="sev sev-${g.severity}"><span class="badge">${LABEL[g.severity]}</span> ${g.findings.length} finding${g.findings.length === 1 ? '' : 's'}</h3>
${g.findings.map((f) => finding(f, numbered.get(f)!)).join('\n')}`);
  const skipped = result.skipped.length === 0 ? '<p class="none">Every check ran.</p>'
    : `<table class="skips"><thead><tr><th>Check</th><th>What it checks</th><th>Needs</th></tr></thead><tbody>
${result.skipped.map((s) => `<tr><td class="fid">${esc(s.id)}</td><td>${esc(s.title)}</td><td>${esc(s.needs)}</td></tr>`).join('\n')}
</tbody></table>`;
  const title = `gatehouse audit${context.targets.length > 0 ? `: ${context.targets.join(', ')}` : ''}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="gatehouse ${esc(GATEHOUSE_VERSION)}">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${heading(report)}
<section id="summary">
<h2>Summary</h2>
${summary(report)}
${index(result.findings)}
</section>
${context.warnings.length > 0 ? `<section id="warnings">\n<h2>While reading the files</h2>\n<ul class="warnings">${context.warnings.map((w) => `<li><code>${esc(w)}</code></li>`).join('')}</ul>\n</section>` : ''}
<section id="findings">
<h2>Findings</h2>
${groups.length > 0 ? groups.join('\n') : '<p class="none">No findings.</p>'}
</section>
${(result.tables ?? []).map(table).join('\n')}
<section id="skipped">
<h2>Skipped checks</h2>
${skipped}
</section>
<footer>Generated by gatehouse ${esc(GATEHOUSE_VERSION)} at ${esc(context.generatedAt)}. A skipped check was not guessed: it needs what its row says.</footer>
</main>
</body>
</html>
`;
}
