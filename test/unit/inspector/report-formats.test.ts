/**
 * The text, JSON, Markdown and HTML reports over one report value: headings, grouping, tables,
 * skipped checks, and escaping of hostile text (a role named `<script>…`, `|`, backticks).
 * SARIF has its own file; HTML is also rendered in Chromium (test/integration/inspector).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { render } from '../../../src/inspector/report/index.js';
import type { JsonReport } from '../../../src/inspector/report/json.js';
import { mdCode, mdFence, mdText } from '../../../src/inspector/report/markdown.js';
import { esc } from '../../../src/inspector/report/html.js';
import { EVIL_ROLE, richReport, weakReport } from './report-sample.js';

const out = (format: 'text' | 'json' | 'markdown' | 'html', report = richReport()): string => render(format, report, { color: false });

describe('text report', () => {
  test('heading, severity groups, tables as aligned columns, then the summary and skips', () => {
    const text = out('text');
    assert.match(text, /^Audit of .*weak\/postgresql\.conf, .*weak\/pg_hba\.conf, probe db\.example\.com:5432 at 2026-11-22T08:00:00\.000Z\nRelease data as of 2026-11-13 \(bundled\)\n/);
    assert.match(text, /^CRITICAL \(1\)\n  CRITICAL GH-HBA-003 /m);
    // Multi-line fixes keep their lines, indented under `fix:`.
    assert.match(text, /      fix: ALTER ROLE "<script>alert\(1\)<\/script>" NOSUPERUSER;\n {11}-- and grant only what it needs, e\.g\.:\n/);
    const table = [
      'Least privilege: who can log in from where, with which powers',
      '  Role                       Can log in from                       Powers',
      '  -------------------------  ------------------------------------  --------------------------------',
      '  postgres                   local (peer)                          superuser',
      '  <script>alert(1)</script>  host 0.0.0.0/0 (md5)                  superuser, createrole',
      '  app                        hostssl 192.0.2.0/24 (scram-sha-256)  owns 42 tables in app | `public`',
      '  replicator                 host 198.51.100.7/32 (password)       replication',
    ].join('\n');
    assert.ok(text.includes(table), text);
    assert.match(text, /\nSummary: 1 critical, 10 high, 11 medium, 2 low, 1 info; 2 checks skipped\n  skipped GH-AUTH-002 roles with md5 password hashes: needs superuser \(pg_authid\) in live mode\n  skipped GH-PATCH-001 .*\n$/);
    assert.ok(text.indexOf('Least privilege') > text.indexOf('GH-LOG-003'), 'tables come after the findings');
  });
});

describe('JSON report', () => {
  test('version 1 gains context and tables; warnings stay a top-level list', () => {
    const j = JSON.parse(out('json')) as JsonReport;
    assert.equal(j.version, 1);
    assert.deepEqual(Object.keys(j), ['version', 'context', 'summary', 'findings', 'skipped', 'tables', 'warnings']);
    assert.equal(j.context.generatedAt, '2026-11-22T08:00:00.000Z');
    assert.deepEqual(j.context.releaseData, { asOf: '2026-11-13', source: 'bundled' });
    assert.equal(j.context.targets.at(-1), 'probe db.example.com:5432');
    assert.equal(j.tables[0]?.id, 'least-privilege');
    assert.equal(j.summary.skipped, 2);
    assert.equal(j.warnings.length, 1);
    assert.deepEqual((JSON.parse(out('json', weakReport())) as JsonReport).tables, []);
  });
});

describe('Markdown report', () => {
  test('escaping: text, code spans with backticks, fences that their content cannot close', () => {
    assert.equal(mdText('a|b *c* <d> `e` [f](g) \\ h_i'), 'a\\|b \\*c\\* \\<d\\> \\`e\\` \\[f\\](g) \\\\ h\\_i');
    assert.equal(mdCode('ssl = on'), '`ssl = on`');
    assert.equal(mdCode('a `b` c'), '``a `b` c``');
    assert.equal(mdCode('`x'), '`` `x ``');
    assert.equal(mdFence('SELECT 1;'), '```\nSELECT 1;\n```');
    assert.equal(mdFence('a\n```\nb'), '````\na\n```\nb\n````');
  });

  test('summary table, findings by severity with evidence and fenced fixes, tables, skipped list', () => {
    const md = out('markdown');
    assert.match(md, /^# gatehouse audit\n\nAudited `[^`]*weak\/postgresql\.conf`, /);
    assert.match(md, /\| Severity \| Findings \|\n\|---\|---\|\n\| critical \| 1 \|\n\| high \| 10 \|\n\| medium \| 11 \|\n\| low \| 2 \|\n\| info \| 1 \|\n\| skipped checks \| 2 \|/);
    assert.match(md, /### critical \(1\)\n\n#### GH-HBA-003: trust on a TCP line: host line admits its clients without any password\n\n- `[^`]*weak\/pg_hba\.conf:3`: `host    all          all       10\.0\.0\.0\/8 +trust`\n\nFix:\n\n```\nReplace the line with: hostssl all all 10\.0\.0\.0\/8 scram-sha-256\n```\n\nReferences: CIS PostgreSQL 17 Benchmark v1\.0\.0 5\.4; STIG V-261892; https:\/\/www\.postgresql\.org/);
    // Hostile text: the role name is escaped in prose, literal in code; `|` never splits a table row.
    assert.match(md, /#### GH-ROLE-001: extra login superuser: \\<script\\>alert\(1\)\\<\/script\\> \\\| can log in and is superuser/);
    assert.match(md, /#### GH-HBA-002: shadowed rule: \\`\+admins\\` may cover this line \\\| group membership is unknown offline \*\(possible\)\*/);
    assert.match(md, /\| `<script>alert\(1\)<\/script>` \| `host 0\.0\.0\.0\/0 \(md5\)` \|/);
    assert.match(md, /\| `app` \| `hostssl 192\.0\.2\.0\/24 \(scram-sha-256\)` \| `` owns 42 tables in app \\\| `public` `` \|/);
    for (const row of md.split('\n').filter((l) => l.startsWith('| '))) {
      const cells = row.replace(/\\\|/g, '').split('|').length - 2;
      assert.ok(cells === 2 || cells === 3, `row has ${cells} cells: ${row}`);
    }
    assert.match(md, /## Skipped checks\n\n\| Check \| Title \| Needs \|\n\|---\|---\|---\|\n\| GH-AUTH-002 \| roles with md5 password hashes \| superuser \(pg\\_authid\) in live mode \|/);
    assert.doesNotMatch(md.replace(/`[^`]*`|```[\s\S]*?```/g, ''), /<script>/);
  });
});

describe('HTML report', () => {
  test('escapes every text: a role named <script> is shown, never run', () => {
    assert.equal(esc(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const html = out('html');
    assert.ok(!html.includes(EVIL_ROLE), 'the raw role name never reaches the page');
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.doesNotMatch(html, /<script/i);
  });

  test('self-contained: one document, inline CSS, nothing fetched', () => {
    const html = out('html');
    assert.match(html, /^<!doctype html>\n<html lang="en">/);
    assert.match(html, /<style>[\s\S]+@media print[\s\S]+<\/style>/);
    assert.doesNotMatch(html, /<link\b|\bsrc=|@import|url\(/i);
    // The only URLs are reference links the reader may follow.
    for (const m of html.matchAll(/href="([^"]*)"/g)) assert.match(m[1]!, /^(#finding-\d+|https:\/\/[^\s"]+)$/);
  });

  test('heading, summary badges, findings by severity with evidence, copyable fix, references, confidence; table; skipped', () => {
    const html = out('html');
    assert.match(html, /<dt>Release data<\/dt><dd>2026-11-13 /);
    assert.match(html, /<div class="count sev-critical"><b>1<\/b><span>Critical<\/span><\/div><div class="count sev-high"><b>10<\/b>/);
    assert.match(html, /<div class="count sev-info"><b>1<\/b><span>Info<\/span><\/div><div class="count sev-info"><b>2<\/b><span>Skipped<\/span>/);
    assert.match(html, /<article class="finding sev-critical" id="finding-1">\n<h4><span class="badge">Critical<\/span> <span class="fid">GH-HBA-003<\/span> trust on a TCP line: /);
    // The index names where each finding is, briefly: a file's base name and line, a row's relation.
    assert.match(html, /<td class="fid">GH-ROLE-001<\/td><td><a href="#finding-\d+">extra login superuser: &lt;script&gt;.*<\/a><\/td><td class="fid"><span title="pg_roles WHERE rolsuper AND rolcanlogin">pg_roles<\/span><\/td>/);
    assert.match(html, /<td class="fid"><span title="[^"]*weak\/pg_hba\.conf:3">pg_hba\.conf:3<\/span><\/td>/);
    assert.match(html, /<pre class="fix">Replace the line with: hostssl all all 10\.0\.0\.0\/8 scram-sha-256<\/pre>/);
    assert.match(html, /GH-HBA-002<\/span> shadowed rule: `\+admins` may cover this line \| group membership is unknown offline <span class="possible"/);
    assert.match(html, /<h2>Least privilege: who can log in from where, with which powers<\/h2>\n<table class="data"><thead><tr><th>Role<\/th><th>Can log in from<\/th><th>Powers<\/th><\/tr>/);
    assert.match(html, /<tr><td class="fid">GH-PATCH-001<\/td><td>PostgreSQL version end of life or behind the latest minor<\/td><td>a live connection \(server_version_num\)<\/td><\/tr>/);
    const order = ['id="summary"', 'id="warnings"', 'id="findings"', 'id="table-least-privilege"', 'id="skipped"'].map((s) => html.indexOf(s));
    assert.deepEqual(order, [...order].sort((a, b) => a - b));
    assert.ok(order.every((i) => i > 0));
  });

  test('no findings: says so', () => {
    const report = weakReport();
    report.result = { findings: [], skipped: [] };
    const html = out('html', report);
    assert.match(html, /<p class="none">No findings\.<\/p>/);
    assert.match(html, /<p class="none">Every check ran\.<\/p>/);
  });
});
