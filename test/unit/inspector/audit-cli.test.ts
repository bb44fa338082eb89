/** `gatehouse audit` offline: exit codes, --fail-on, --format json, refused arguments, --release-data, and --probe target parsing. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { parseProbeTarget, registerAuditCommand, runAudit, type AuditIo, type AuditOptions } from '../../../src/cli/audit.js';
import { REPORT_FORMATS } from '../../../src/inspector/report/index.js';
import type { JsonReport } from '../../../src/inspector/report/json.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../spec/inspector/fixtures');

function capture(isTTY = false): AuditIo & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', isTTY, out: (t: string) => { io.stdout += t; }, err: (t: string) => { io.stderr += t; } };
  return io;
}

const opts = (name: string, more: Partial<AuditOptions> = {}): AuditOptions => ({
  conf: join(FIXTURES, name, 'postgresql.conf'), hba: join(FIXTURES, name, 'pg_hba.conf'), format: 'text', failOn: 'high', ...more,
});

describe('gatehouse audit (offline)', () => {
  test('weak server: exit 1, grouped by severity, file:line evidence, summary', async () => {
    const io = capture();
    assert.equal(await runAudit(undefined, opts('weak'), io), 1);
    assert.match(io.stdout, /^CRITICAL \(1\)\n {2}CRITICAL GH-HBA-003 /m);
    assert.match(io.stdout, /at .*weak\/pg_hba\.conf:3: host {4}all/);
    assert.match(io.stdout, /at .*weak\/postgresql\.conf:5: ssl = 'off'/);
    assert.match(io.stdout, /^Summary: 1 critical, \d+ high, \d+ medium, 2 low, 1 info; 0 checks skipped$/m);
    assert.doesNotMatch(io.stdout, /\x1b\[/);
  });
  test('colour only on a TTY', async () => {
    const io = capture(true);
    await runAudit(undefined, opts('weak'), io);
    assert.match(io.stdout, /\x1b\[1;31mCRITICAL/);
  });
  test('hardened server: exit 0 at the default --fail-on high; --fail-on info still passes when there is nothing', async () => {
    assert.equal(await runAudit(undefined, opts('hardened'), capture()), 0);
    assert.equal(await runAudit(undefined, opts('hardened', { failOn: 'info' }), capture()), 0);
  });
  test('--fail-on critical passes a server whose worst finding is high', async () => {
    const io = capture();
    assert.equal(await runAudit(undefined, { hba: join(FIXTURES, 'hardened', 'pg_hba.conf'), conf: join(FIXTURES, 'weak', 'postgresql.conf'), format: 'text', failOn: 'critical' }, io), 0);
  });
  test('--format json', async () => {
    const io = capture();
    await runAudit(undefined, opts('weak', { format: 'json' }), io);
    const report = JSON.parse(io.stdout) as JsonReport;
    assert.equal(report.version, 1);
    assert.equal(report.summary.critical, 1);
    assert.equal(report.findings[0]?.id, 'GH-HBA-003');
  });
  test('every --format renders the same audit, and --fail-on sets the exit code in each', async () => {
    for (const format of REPORT_FORMATS) {
      const weak = capture();
      assert.equal(await runAudit(undefined, opts('weak', { format }), weak), 1, format);
      assert.match(weak.stdout, /GH-HBA-003/, format);
      assert.equal(await runAudit(undefined, opts('weak', { format, failOn: 'critical' }), capture()), 1, format);
      assert.equal(await runAudit(undefined, opts('hardened', { format }), capture()), 0, format);
    }
    const sarif = capture();
    await runAudit(undefined, opts('weak', { format: 'sarif' }), sarif);
    assert.equal((JSON.parse(sarif.stdout) as { version: string }).version, '2.1.0');
    const html = capture();
    await runAudit(undefined, opts('weak', { format: 'html' }), html);
    assert.match(html.stdout, /^<!doctype html>/);
  });
  test('the report context names what was audited', async () => {
    const io = capture();
    await runAudit(undefined, opts('weak', { format: 'json' }), io);
    const report = JSON.parse(io.stdout) as JsonReport;
    assert.deepEqual(report.context.targets, [opts('weak').conf, opts('weak').hba]);
    assert.ok(Math.abs(Date.parse(report.context.generatedAt) - Date.now()) < 60_000);
  });
  test('only --hba: settings checks are skipped with what they need', async () => {
    const io = capture();
    await runAudit(undefined, { hba: join(FIXTURES, 'weak', 'pg_hba.conf'), format: 'text', failOn: 'high' }, io);
    assert.match(io.stdout, /skipped GH-SSL-001 ssl is off: needs postgresql\.conf \(--conf\) or a live connection/);
  });
  test('a missing file exits 2 with its name', async () => {
    const io = capture();
    assert.equal(await runAudit(undefined, { conf: '/nonexistent/postgresql.conf', format: 'text', failOn: 'high' }, io), 2);
    assert.match(io.stderr, /could not open configuration file "\/nonexistent\/postgresql\.conf": No such file or directory/);
    const io2 = capture();
    assert.equal(await runAudit(undefined, { hba: '/nonexistent/pg_hba.conf', format: 'text', failOn: 'high' }, io2), 2);
    assert.match(io2.stderr, /\/nonexistent\/pg_hba\.conf/);
  });
  test('a bad postgresql.conf line is a GH-CONF-001 finding (exit 1), not a load failure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-audit-'));
    try {
      writeFileSync(join(dir, 'postgresql.conf'), 'ssl = on\nport = 5432 junk\n');
      const io = capture();
      assert.equal(await runAudit(undefined, { conf: join(dir, 'postgresql.conf'), format: 'text', failOn: 'high' }, io), 1);
      assert.match(io.stdout, /HIGH GH-CONF-001 postgresql\.conf error: syntax error in file ".*postgresql\.conf" line 2, near token "junk"/);
      assert.match(io.stdout, /at .*postgresql\.conf:2: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test('a malformed CONNINFO, a malformed --probe target and nothing to audit are refused (exit 2)', async () => {
    const io = capture();
    assert.equal(await runAudit("host=db port='5432", opts('weak'), io), 2);
    assert.equal(io.stderr, 'gatehouse audit: invalid connection string: unterminated quoted string in connection info string\n');
    const io2 = capture();
    assert.equal(await runAudit(undefined, opts('weak', { probe: 'db:99999' }), io2), 2);
    assert.match(io2.stderr, /--probe db:99999: expected HOST:PORT or \[IPv6\]:PORT/);
    const io3 = Object.assign(capture(), { env: {} });
    assert.equal(await runAudit(undefined, { format: 'text', failOn: 'high' }, io3), 2);
    assert.match(io3.stderr, /nothing to audit; give a CONNINFO/);
  });
  test('--release-data: a bad file is exit 2 naming the file and the field, before any connection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-audit-'));
    try {
      const file = join(dir, 'releases.json');
      writeFileSync(file, JSON.stringify({ asOf: '2026-11-01', source: 'x', majors: { 15: { latestMinor: 20, latestReleased: '2026-11-12', eol: '11/11/2027' } } }));
      const io = capture();
      assert.equal(await runAudit('host=192.0.2.1 port=1', { format: 'text', failOn: 'high', releaseData: file }, io), 2);
      assert.equal(io.stderr, `gatehouse audit: --release-data ${file}: majors.15.eol: expected a date YYYY-MM-DD\n`);
      writeFileSync(file, '{"asOf": "2026-11-01", "majors": {}');
      const io2 = capture();
      assert.equal(await runAudit('host=192.0.2.1 port=1', { format: 'text', failOn: 'high', releaseData: file }, io2), 2);
      assert.match(io2.stderr, /--release-data .*releases\.json: not JSON: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test('--probe targets: HOST:PORT, [IPv6]:PORT, HOST alone is port 5432', () => {
    assert.deepEqual(parseProbeTarget('db.example.com:6432'), { host: 'db.example.com', port: 6432 });
    assert.deepEqual(parseProbeTarget('[::1]:5433'), { host: '::1', port: 5433 });
    assert.deepEqual(parseProbeTarget('10.0.0.5'), { host: '10.0.0.5', port: 5432 });
    assert.equal(parseProbeTarget('::1:5432'), null);
    assert.equal(parseProbeTarget('db:0'), null);
  });
  test('the command parses its options (commander)', async () => {
    const io = capture();
    const program = new Command().exitOverride();
    registerAuditCommand(program, io);
    const before = process.exitCode;
    await program.parseAsync(['node', 'gatehouse', 'audit', '--conf', opts('weak').conf ?? '', '--format', 'json', '--fail-on', 'high']);
    assert.equal(process.exitCode, 1);
    process.exitCode = before;
    assert.equal((JSON.parse(io.stdout) as JsonReport).summary.critical, 0);
    assert.throws(() => program.parse(['node', 'gatehouse', 'audit', '--fail-on', 'severe']), /expected one of critical/);
  });
});
