import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { lintHba, type LintOptions } from '../../../src/hba/index.js';

function lint(text: string, opts: LintOptions = {}, extra: Record<string, string> = {}): { errors: string[]; warnings: string[]; fixes: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'gh-lint-'));
  for (const [name, body] of Object.entries(extra)) writeFileSync(join(dir, name), body);
  const path = join(dir, 'pg_hba.conf');
  writeFileSync(path, text);
  const r = lintHba(path, opts);
  return {
    errors: r.errors.map((e) => `${e.line}: ${e.message}`),
    warnings: r.warnings.map((w) => `${w.line} ${w.id}: ${w.message.replaceAll(`${dir}/`, '')}`),
    fixes: r.warnings.map((w) => `${w.id}: ${w.fix.replaceAll(`${dir}/`, '')}`),
  };
}

describe('lintHba errors', () => {
  it('reports what PostgreSQL refuses, and still lints the lines that load', () => {
    const r = lint('host all all 10.0.0.0/8 md4\nhost all all 0.0.0.0/0 reject\n');
    assert.deepEqual(r.errors, ['1: invalid authentication method "md4"']);
    assert.deepEqual(r.warnings, []); // a reject line is neither open nor in need of TLS
  });
});

describe('lintHba warnings', () => {
  it('finds a rule an earlier rule covers, and says when the earlier one is weaker', () => {
    const r = lint('hostssl all all 10.0.0.0/8 md5\nhostssl app alice 10.1.0.0/16 scram-sha-256\n');
    assert.deepEqual(r.warnings.filter((w) => w.includes('GH-HBA-001')), [
      '2 GH-HBA-001: this rule can never match: pg_hba.conf:1 (hostssl all all 10.0.0.0/8 md5) already matches every connection it would; it uses md5, weaker than this line\'s scram-sha-256',
    ]);
    assert.ok(r.fixes.includes('GH-HBA-001: Move this line above pg_hba.conf:1, or delete it if it is obsolete.'));
  });
  it('knows that host covers hostssl but hostssl does not cover host', () => {
    assert.equal(lint('hostssl all all all reject\nhost all all all reject\n').warnings.some((w) => w.includes('GH-HBA-001')), false);
    assert.equal(lint('host all all all reject\nhostssl all all all reject\n').warnings.some((w) => w.startsWith('2 GH-HBA-001')), true);
  });
  it('knows that "all" does not cover physical replication', () => {
    assert.equal(lint('local all all peer\nlocal replication all peer\n').warnings.some((w) => w.includes('GH-HBA-00')), false);
    assert.equal(lint('local all all peer\nlocal app all peer\n').warnings.some((w) => w.startsWith('2 GH-HBA-001')), true);
  });
  it('decides a regex against a name, and calls regex against regex only possible', () => {
    assert.deepEqual(lint('local /^app all peer\nlocal app_ro all peer\n').warnings.map((w) => w.slice(0, 12)), ['2 GH-HBA-001']);
    const r = lint('local /^app all peer\nlocal /^app_ro all peer\n');
    assert.deepEqual(r.warnings, ['2 GH-HBA-002: this rule may never match: pg_hba.conf:1 (local /^app all peer) possibly matches every connection it would, depending on database names from regular expressions, sameuser/samerole or an @file']);
  });
  it('calls group membership, host names and @file contents possible', () => {
    assert.match(lint('local all +staff peer\nlocal all alice peer\n').warnings.join('\n'), /2 GH-HBA-002: .*role membership/);
    assert.match(lint('hostssl all all .example.com scram-sha-256\nhostssl all all 10.0.0.0/8 scram-sha-256\n').warnings.join('\n'), /2 GH-HBA-002: .*host names/);
    assert.match(lint('local @dbs all peer\nlocal app all peer\n', {}, { dbs: 'app\n' }).warnings.join('\n'), /2 GH-HBA-002: .*@file/);
    assert.equal(lint('hostssl all all samenet scram-sha-256\nhostssl all all samehost scram-sha-256\n').warnings.filter((w) => w.includes('GH-HBA-001')).length, 1);
  });
  it('checks address containment bit by bit', () => {
    assert.equal(lint('hostssl all all 10.0.0.0/8 scram-sha-256\nhostssl all all 10.0.0.0/7 scram-sha-256\n').warnings.some((w) => w.includes('GH-HBA-00')), false);
    assert.equal(lint('hostssl all all 10.0.0.0/8 scram-sha-256\nhostssl all all 11.0.0.0/8 scram-sha-256\n').warnings.some((w) => w.includes('GH-HBA-00')), false);
    assert.equal(lint('hostssl all all 10.0.0.0 255.0.255.0 scram-sha-256\nhostssl all all 10.9.0.0/24 scram-sha-256\n').warnings.some((w) => w.includes('GH-HBA-001')), true);
    assert.equal(lint('hostssl all all 10.0.0.0 255.0.255.0 scram-sha-256\nhostssl all all 10.9.0.0/16 scram-sha-256\n').warnings.some((w) => w.includes('GH-HBA-00')), false);
    assert.equal(lint('hostssl all all ::/0 reject\nhostssl all all 10.0.0.0/8 scram-sha-256\n').warnings.some((w) => w.includes('GH-HBA-00')), false);
  });
  it('flags trust, password, md5, ident, open addresses and missing TLS, each with a fix', () => {
    const r = lint([
      'local all all trust',
      'host all all 172.16.0.0/12 trust',
      'hostssl app bob 10.0.0.0/8 password',
      'hostssl app carol 192.168.0.0/16 md5',
      'host app dave 192.168.0.0/16 ident',
      'hostssl app erin 0.0.0.0/0 scram-sha-256',
      'hostssl app frank ::/0 scram-sha-256',
      'host app gina 127.0.0.1/32 scram-sha-256',
    ].join('\n'));
    assert.deepEqual(r.warnings.map((w) => w.slice(0, w.indexOf(':'))), [
      '1 GH-HBA-010', '2 GH-HBA-003', '2 GH-HBA-007', '3 GH-HBA-004', '4 GH-HBA-005', '5 GH-HBA-009', '5 GH-HBA-007', '6 GH-HBA-006', '7 GH-HBA-006',
    ]);
    assert.deepEqual(r.fixes.slice(0, 5), [
      'GH-HBA-010: Use peer (add map= when OS and role names differ) or a password: local all all peer',
      'GH-HBA-003: Require a password: hostssl all all 172.16.0.0/12 scram-sha-256',
      'GH-HBA-007: Use hostssl: hostssl all all 172.16.0.0/12 scram-sha-256',
      'GH-HBA-004: Use SCRAM: hostssl app bob 10.0.0.0/8 scram-sha-256',
      'GH-HBA-005: Set password_encryption = scram-sha-256, re-set the passwords, then use: hostssl app carol 192.168.0.0/16 scram-sha-256',
    ]);
  });
  it('with --ssl off: reports PostgreSQL\'s hostssl warning and no host→hostssl advice', () => {
    const r = lint('hostssl all all 10.0.0.0/8 scram-sha-256\nhost all all 10.0.0.0/8 scram-sha-256\n', { sslEnabled: false });
    assert.deepEqual(r.warnings, ['1 GH-HBA-008: hostssl record cannot match because SSL is disabled']);
    assert.deepEqual(r.fixes, ['GH-HBA-008: Set ssl = on in postgresql.conf (with a certificate), or change the line to host.']);
  });
  it('reports a skipped include_if_exists', () => {
    const r = lint('include_if_exists nothere.conf\nlocal all all peer\n');
    assert.deepEqual(r.warnings, ['1 GH-HBA-008: skipping missing authentication file "nothere.conf"']);
  });
  it('quotes what needs quoting in suggested lines', () => {
    const r = lint('host "my db","all" "x y" 10.0.0.0/8 trust\n');
    assert.ok(r.fixes.includes('GH-HBA-003: Require a password: hostssl "my db","all" "x y" 10.0.0.0/8 scram-sha-256'), r.fixes.join('\n'));
  });
});
