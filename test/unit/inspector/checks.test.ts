/** Check-by-check cases the fixtures do not reach: skips, PG18 forms, IPv6 prefixes, severity rises. */
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { describe, test } from 'node:test';
import { compileHbaText } from '../../../src/hba/index.js';
import { CHECKS, runChecks } from '../../../src/inspector/checks/index.js';
import { hbaNoHostssl } from '../../../src/inspector/checks/hba-no-hostssl.js';
import { hbaRemotePrivileged } from '../../../src/inspector/checks/hba-remote-privileged.js';
import { hbaWidePrefix } from '../../../src/inspector/checks/hba-wide-prefix.js';
import { hbaHostWithoutSsl } from '../../../src/inspector/checks/hba-host-without-ssl.js';
import { listenAddresses } from '../../../src/inspector/checks/settings-listen-addresses.js';
import { logConnections, logsConnections } from '../../../src/inspector/checks/settings-log-connections.js';
import { pgauditClasses, pgauditLog } from '../../../src/inspector/checks/settings-pgaudit-log.js';
import { sslMinProtocol } from '../../../src/inspector/checks/settings-ssl-min-protocol.js';
import type { Facts } from '../../../src/inspector/types.js';
import { role } from './facts.js';

const settings = (o: Record<string, string>): Facts['settings'] => new Map(Object.entries(o).map(([k, v]) => [k, { value: v }]));
const hba = (text: string): NonNullable<Facts['hba']> => ({ path: 'pg_hba.conf', result: compileHbaText(text, 'pg_hba.conf') });

describe('skips', () => {
  test('with no facts every check skips, naming what it needs', () => {
    const r = runChecks({});
    assert.equal(r.findings.length, 0);
    assert.equal(r.skipped.length, CHECKS.length);
    for (const s of r.skipped) assert.match(s.needs, /--conf|--hba/);
  });
  test('GH-HBA-007 needs the ssl setting even with an hba file', () => {
    const r = hbaHostWithoutSsl.run({ hba: hba('host all all 192.0.2.0/24 scram-sha-256\n') });
    assert.equal(r.skipped[0]?.id, 'GH-HBA-007');
  });
  test('check ids are unique', () => {
    assert.equal(new Set(CHECKS.map((c) => c.id)).size, CHECKS.length);
  });
});

describe('hba checks', () => {
  test('GH-HBA-012: IPv6 shorter than /48, IPv4 shorter than /16; /0 is GH-HBA-006 instead', () => {
    const r = hbaWidePrefix.run({ hba: hba('host all all 2001:db8::/32 scram-sha-256\nhost all all 10.1.0.0/16 scram-sha-256\nhost all all 0.0.0.0/0 scram-sha-256\nhost all all 10.0.0.0/12 reject\n') });
    assert.deepEqual(r.findings.map((f) => f.evidence[0]?.kind === 'file' ? f.evidence[0].line : 0), [1]);
  });
  test('GH-HBA-013: loopback lines and narrow replication are not remote; catalog superusers are certain', () => {
    const facts: Facts = {
      hba: hba('host all all 127.0.0.1/32 trust\nhostssl replication rep 192.0.2.7/32 scram-sha-256\nhostssl app admin 192.0.2.0/24 scram-sha-256\n'),
      catalog: { database: 'postgres', roles: [role('admin', { superuser: true })] },
    };
    const r = hbaRemotePrivileged.run(facts);
    assert.deepEqual(r.findings.map((f) => [f.confidence, f.evidence[0]?.kind === 'file' ? f.evidence[0].line : 0]), [['certain', 3]]);
  });
  test('GH-HBA-013 live: all, +group and regex lines name the login superusers they admit; a line admitting none is quiet', () => {
    const facts: Facts = {
      hba: hba('host all all 192.0.2.0/24 scram-sha-256\nhostssl all +ops 192.0.2.0/24 scram-sha-256\nhostssl all /^app 192.0.2.0/24 scram-sha-256\n'),
      catalog: { database: 'postgres', roles: [role('postgres', { superuser: true, bootstrap: true }), role('boss', { superuser: true, memberOf: ['ops'] }),
        role('ops', { canLogin: false }), role('app1'), role('ghost', { superuser: true, canLogin: false })] },
    };
    assert.deepEqual(hbaRemotePrivileged.run(facts).findings.map((f) => [f.title, f.confidence]), [
      ['superuser or replication reachable remotely: superuser postgres, boss can log in from the network', 'certain'],
      ['superuser or replication reachable remotely: superuser boss can log in from the network', 'certain'],
    ]);
  });
  test('GH-HBA-014: reported only when something is reachable over TCP without hostssl', () => {
    assert.equal(hbaNoHostssl.run({ hba: hba('local all all peer\n') }).findings.length, 0);
    assert.equal(hbaNoHostssl.run({ hba: hba('host all all 192.0.2.0/24 scram-sha-256\n') }).findings[0]?.severity, 'high');
  });
  test('GH-HBA-015: refused lines are reported with file:line', () => {
    const r = runChecks({ hba: hba('host all all 192.0.2.0/24 scram-sha-256\nhost all all nonsense/99 md5\n') });
    const f = r.findings.find((x) => x.id === 'GH-HBA-015');
    assert.ok(f);
    assert.deepEqual(f.evidence[0]?.kind === 'file' ? [basename(f.evidence[0].file), f.evidence[0].line] : [], ['pg_hba.conf', 2]);
  });
  test('GH-HBA-011: possible when coverage depends on a group', () => {
    const r = runChecks({ hba: hba('hostssl all +staff 192.0.2.0/24 md5\nhostssl all alice 192.0.2.0/24 scram-sha-256\n') });
    assert.deepEqual(r.findings.filter((f) => f.id === 'GH-HBA-011').map((f) => f.confidence), ['possible']);
  });
});

describe('settings checks', () => {
  test('GH-LOG-001: PostgreSQL 18 list form', () => {
    assert.equal(logsConnections('receipt,authentication,authorization'), true);
    assert.equal(logsConnections('all'), true);
    assert.equal(logsConnections('receipt'), false);
    assert.equal(logsConnections(''), false);
    assert.equal(logsConnections('on'), true);
    assert.equal(logsConnections('true'), true);
    assert.equal(logConnections.run({ settings: settings({ log_connections: '', log_disconnections: 'on' }) }).findings.length, 1);
  });
  test('GH-AUD-002: all, none and -class', () => {
    assert.deepEqual([...pgauditClasses('all, -misc, -read')].sort(), ['ddl', 'function', 'misc_set', 'role', 'write']);
    assert.deepEqual([...pgauditClasses('none')], []);
    const r = pgauditLog.run({ settings: settings({ shared_preload_libraries: '"pgaudit"', 'pgaudit.log': 'write, ddl' }) });
    assert.match(r.findings[0]?.title ?? '', /missing role/);
    assert.match(r.findings[0]?.remediation ?? '', /pgaudit\.log = 'write,ddl,role'/);
  });
  test('GH-SSL-002: empty and TLSv1.1 are weak; the default TLSv1.2 is not', () => {
    assert.equal(sslMinProtocol.run({ settings: settings({ ssl_min_protocol_version: 'TLSv1.1' }) }).findings.length, 1);
    assert.equal(sslMinProtocol.run({ settings: settings({ ssl_min_protocol_version: '' }) }).findings.length, 1);
    assert.equal(sslMinProtocol.run({ settings: settings({}) }).findings.length, 0);
  });
  test('GH-NET-001: medium alone, high with a wide-open hba line; reject lines do not count', () => {
    const s = settings({ listen_addresses: 'localhost, *' });
    assert.equal(listenAddresses.run({ settings: s }).findings[0]?.severity, 'medium');
    assert.equal(listenAddresses.run({ settings: s, hba: hba('host all all 0.0.0.0/0 reject\n') }).findings[0]?.severity, 'medium');
    assert.equal(listenAddresses.run({ settings: s, hba: hba('hostssl all all ::/0 scram-sha-256\n') }).findings[0]?.severity, 'high');
  });
});

describe('postgresql.conf errors', () => {
  test('GH-CONF-001: each refused line is a high finding with file:line; none when the file is clean', () => {
    const r = runChecks({ settings: settings({}), confErrors: [{ file: '/etc/pg/postgresql.conf', line: 7, message: 'syntax error in file "/etc/pg/postgresql.conf" line 7, near token "junk"' }] });
    const f = r.findings.filter((x) => x.id === 'GH-CONF-001');
    assert.deepEqual(f.map((x) => [x.severity, x.evidence[0]?.kind === 'file' ? x.evidence[0].line : 0]), [['high', 7]]);
    assert.equal(runChecks({ settings: settings({}), confErrors: [] }).findings.filter((x) => x.id === 'GH-CONF-001').length, 0);
  });
});
