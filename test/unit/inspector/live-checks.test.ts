/** The live-mode checks as pure functions over catalog facts: findings, severities, and skips with what they need. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LIVE_CHECKS, runChecks } from '../../../src/inspector/checks/index.js';
import { md5Secrets } from '../../../src/inspector/checks/auth-md5-secrets.js';
import { scramIterations } from '../../../src/inspector/checks/auth-scram-iterations.js';
import { noPassword } from '../../../src/inspector/checks/auth-no-password.js';
import { passwordExpiry } from '../../../src/inspector/checks/auth-password-expiry.js';
import { extraSuperusers } from '../../../src/inspector/checks/role-superusers.js';
import { rolePowers } from '../../../src/inspector/checks/role-powers.js';
import { remoteOwners } from '../../../src/inspector/checks/role-remote-owners.js';
import { leastPrivilegeSummary } from '../../../src/inspector/checks/role-summary.js';
import { publicDatabase } from '../../../src/inspector/checks/priv-public-database.js';
import { publicTables } from '../../../src/inspector/checks/priv-public-tables.js';
import { definerSearchPath } from '../../../src/inspector/checks/priv-definer-search-path.js';
import { sslCiphers, weakCiphers } from '../../../src/inspector/checks/settings-ssl-ciphers.js';
import { certExpiry } from '../../../src/inspector/checks/tls-cert-expiry.js';
import { keyFileMode } from '../../../src/inspector/checks/tls-key-file.js';
import { patchEol, splitVersion } from '../../../src/inspector/checks/patch-eol.js';
import { patchMinor } from '../../../src/inspector/checks/patch-minor.js';
import { archiverFailing } from '../../../src/inspector/checks/backup-archiver-failing.js';
import { archiveStale } from '../../../src/inspector/checks/backup-archive-stale.js';
import { pgauditExtension } from '../../../src/inspector/checks/settings-pgaudit-extension.js';
import { pgauditLog } from '../../../src/inspector/checks/settings-pgaudit-log.js';
import { sslOff } from '../../../src/inspector/checks/settings-ssl.js';
import { parseReleaseTable, loadReleaseTable } from '../../../src/inspector/collect/releases.js';
import type { Facts, ReleaseTable } from '../../../src/inspector/types.js';
import { liveFacts, role } from './facts.js';

const sev = (r: { findings: { severity: string }[] }): string[] => r.findings.map((f) => f.severity);

describe('skips', () => {
  test('with no facts every live check skips (the restore test always does), and only the summary adds a table', () => {
    const r = runChecks({}, LIVE_CHECKS);
    assert.equal(r.findings.length, 0);
    assert.equal(r.skipped.length, LIVE_CHECKS.length);
    assert.equal(new Set(LIVE_CHECKS.map((c) => c.id)).size, LIVE_CHECKS.length);
  });
  test('the collector\'s reason is what the skip needs', () => {
    const facts = liveFacts();
    facts.unavailable = { secrets: 'superuser (pg_authid) (permission denied for table pg_authid)' };
    assert.deepEqual(md5Secrets.run(facts).skipped[0]?.needs, 'superuser (pg_authid) (permission denied for table pg_authid)');
  });
  test('a setting the server hides is skipped, not taken as its default', () => {
    const r = sslOff.run(liveFacts({ settings: {} }));
    assert.match(r.skipped[0]?.needs ?? '', /pg_read_all_settings/);
  });
  test('pgaudit.log: not loaded is GH-AUD-001\'s business, even when the setting does not exist', () => {
    assert.deepEqual(pgauditLog.run(liveFacts({ settings: { shared_preload_libraries: '' } })), { findings: [], skipped: [] });
  });
});

describe('auth', () => {
  const secrets = [
    { role: 'a', kind: 'md5' as const, iterations: null }, { role: 'b', kind: 'scram' as const, iterations: 1024 },
    { role: 'c', kind: 'scram' as const, iterations: 4096 }, { role: 'd', kind: 'none' as const, iterations: null },
  ];
  test('GH-AUTH-002 names md5 roles; GH-AUTH-003 SCRAM below 4096', () => {
    const facts = liveFacts({ catalog: { secrets } });
    assert.equal(md5Secrets.run(facts).findings[0]?.title, 'roles with md5 password hashes: a');
    assert.equal(scramIterations.run(facts).findings[0]?.title, 'SCRAM secrets with fewer than 4096 iterations: b (1024)');
  });
  test('GH-AUTH-004: trust from the network is high, a password line low; lines for other roles do not count', () => {
    const roles = [role('d'), role('e')];
    const s = [{ role: 'd', kind: 'none' as const, iterations: null }, { role: 'e', kind: 'none' as const, iterations: null }];
    const r = noPassword.run(liveFacts({ catalog: { roles, secrets: s }, hba: 'host all d 0.0.0.0/0 trust\nhostssl all e 192.0.2.0/24 scram-sha-256\nlocal all x trust\n' }));
    assert.deepEqual(r.findings.map((f) => [f.severity, f.title]), [
      ['high', 'login role without a password: d is admitted by trust (host 0.0.0.0/0) with no password at all'],
      ['low', 'login role without a password: e matches scram-sha-256 (hostssl 192.0.2.0/24) but has no password'],
    ]);
  });
  test('GH-AUTH-004: one finding per line, naming its roles', () => {
    const names = Array.from({ length: 12 }, (_, i) => `r${i}`);
    const r = noPassword.run(liveFacts({
      catalog: { roles: names.map((n) => role(n)), secrets: names.map((n) => ({ role: n, kind: 'none' as const, iterations: null })) },
      hba: 'local all all scram-sha-256\n',
    }));
    assert.deepEqual(r.findings.map((f) => [f.severity, f.title, f.evidence.length]), [
      ['low', 'login role without a password: r0, r1, r2, r3, r4, r5, r6, r7, r8, r9 and 2 more match scram-sha-256 (local) but have no password', 11],
    ]);
  });
  test('GH-AUTH-005: privileged roles with a password that never expires or has expired', () => {
    const roles = [role('a', { superuser: true }), role('b', { createrole: true, validUntil: '2026-01-01T00:00:00Z' }),
      role('c', { replication: true, validUntil: '2027-01-01T00:00:00Z' }), role('d', { superuser: true })];
    const r = passwordExpiry.run(liveFacts({ catalog: { roles, secrets: secrets.map((x) => (x.role === 'c' ? { ...x, kind: 'md5' as const } : x)) } }));
    assert.deepEqual(r.findings.map((f) => f.title.replace(/^privileged role password expiry: /, '')), [
      'the password of a (SUPERUSER) never expires', 'the password of b (CREATEROLE) expired on 2026-01-01T00:00:00Z',
    ]);
  });
});

describe('roles and privileges', () => {
  test('GH-ROLE-001: the bootstrap superuser and NOLOGIN superusers are not "extra"', () => {
    const roles = [role('postgres', { superuser: true, bootstrap: true }), role('app', { superuser: true }), role('grp', { superuser: true, canLogin: false })];
    assert.deepEqual(extraSuperusers.run(liveFacts({ catalog: { roles } })).findings.map((f) => f.title), ['extra login superuser: app can log in with superuser power']);
  });
  test('GH-ROLE-002: possible, one finding per role, the fix removes exactly its attributes', () => {
    const r = rolePowers.run(liveFacts({ catalog: { roles: [role('rep', { replication: true, bypassrls: true }), role('su', { superuser: true, createrole: true })] } }));
    assert.equal(r.findings.length, 1);
    assert.equal(r.findings[0]?.confidence, 'possible');
    assert.equal(r.findings[0]?.remediation, 'Unless rep is the dedicated role for this: ALTER ROLE rep NOBYPASSRLS NOREPLICATION;');
  });
  test('GH-ROLE-003: owners reachable through a +group line, not through loopback', () => {
    const roles = [role('app', { memberOf: ['web'] }), role('web', { canLogin: false }), role('local_owner')];
    const facts = liveFacts({
      catalog: { roles, owners: [{ role: 'app', objects: 12 }, { role: 'local_owner', objects: 3 }] },
      hba: 'host all local_owner 127.0.0.1/32 scram-sha-256\nhostssl all +web 192.0.2.0/24 scram-sha-256\n',
    });
    assert.deepEqual(remoteOwners.run(facts).findings.map((f) => [f.title, f.confidence]), [
      ['object owner logs in remotely: app owns 12 objects and can log in over hostssl 192.0.2.0/24', 'certain'],
    ]);
  });
  test('GH-ROLE-004: the table, most privileged first, with "?" after a catch-all line', () => {
    const roles = [role('app'), role('admin', { superuser: true }), role('grp', { canLogin: false })];
    const facts = liveFacts({ catalog: { roles, owners: [{ role: 'app', objects: 2 }] }, hba: 'host all all 0.0.0.0/0 scram-sha-256\nhostssl all admin 10.0.0.0/8 scram-sha-256\nlocal all admin peer\n' });
    const t = leastPrivilegeSummary.run(facts).tables?.[0];
    assert.deepEqual(t?.rows, [
      ['admin', 'host 0.0.0.0/0 scram-sha-256 (line 1); hostssl 10.0.0.0/8 scram-sha-256 (line 2)?; local peer (line 3)', 'superuser', '0', '-'],
      ['app', 'host 0.0.0.0/0 scram-sha-256 (line 1)', '-', '2', '-'],
    ]);
  });
  test('GH-PRIV-002 notes the default ACL; GH-PRIV-003 counts beyond the sample', () => {
    const dbs = publicDatabase.run(liveFacts({ catalog: { databases: [{ name: 'app', acl: null, publicConnect: true, publicTemp: true }, { name: 'x', acl: '{}', publicConnect: false, publicTemp: false }] } }));
    assert.deepEqual(dbs.findings.map((f) => f.title), ['PUBLIC can connect to a database: PUBLIC has CONNECT and TEMPORARY on database app (the default)']);
    const t = publicTables.run(liveFacts({ catalog: { publicTables: { count: 25, sample: [{ name: 'public.t', privileges: 'SELECT' }] } } }));
    assert.equal(t.findings[0]?.title, 'tables granted to PUBLIC: 25 in database app: public.t (SELECT) and 24 more');
  });
  test('GH-PRIV-004 is high when PUBLIC may execute an unpinned SECURITY DEFINER function', () => {
    const f = (publicExecute: boolean): Facts => liveFacts({ catalog: { unpinnedDefiners: { count: 1, sample: [{ name: 's.f(integer)', owner: 'o', publicExecute }] } } });
    assert.deepEqual([sev(definerSearchPath.run(f(true))), sev(definerSearchPath.run(f(false)))], [['high'], ['medium']]);
  });
});

describe('tls', () => {
  test('GH-SSL-003: weak elements enabled; ! and - remove, + only reorders', () => {
    assert.deepEqual(weakCiphers('HIGH:MEDIUM:+3DES:!aNULL'), []);
    assert.deepEqual(weakCiphers('ALL:RC4-SHA:!MD5:EXP-RC4-MD5'), ['ALL (includes anonymous aNULL suites)', 'RC4-SHA', 'EXP-RC4-MD5']);
    assert.deepEqual(weakCiphers('DEFAULT:!aNULL:NULL-SHA256:DES-CBC3-SHA'), ['NULL-SHA256', 'DES-CBC3-SHA']);
    assert.equal(sev(sslCiphers.run(liveFacts({ settings: { ssl_ciphers: 'HIGH:LOW' } })))[0], 'medium');
  });
  test('GH-SSL-004: expired critical, within 30 days medium, later nothing', () => {
    const at = (validTo: string): string[] => sev(certExpiry.run(liveFacts({ settings: { ssl: 'on' }, catalog: { certificate: { file: 'server.crt', subject: 'CN=db', validTo } } })));
    assert.deepEqual([at('2026-11-01T00:00:00.000Z'), at('2026-12-10T00:00:00.000Z'), at('2027-06-01T00:00:00.000Z')], [['critical'], ['medium'], []]);
  });
  test('GH-SSL-005: 0644 is high; 0600, and 0640 owned by root, are what PostgreSQL accepts', () => {
    const at = (mode: number, ownerIsRoot: boolean): string[] => sev(keyFileMode.run(liveFacts({ settings: { ssl: 'on' }, catalog: { keyFile: { file: '/k', mode, ownerIsRoot } } })));
    assert.deepEqual([at(0o644, false), at(0o600, false), at(0o640, true), at(0o640, false)], [['high'], [], [], ['high']]);
    assert.match(keyFileMode.run(liveFacts({ settings: { ssl: 'on' } })).skipped[0]?.needs ?? '', /live connection/);
  });
});

describe('patching', () => {
  const table: ReleaseTable = {
    asOf: '2026-11-12', source: 'test',
    majors: { 18: { latestMinor: 5, latestReleased: '2026-11-12', eol: '2030-11-14' }, 14: { latestMinor: 25, latestReleased: '2026-11-12', eol: '2026-11-12' }, 15: { latestMinor: 20, latestReleased: '2026-11-12', eol: '2027-05-11' } },
  };
  const at = (num: number): Facts => ({ ...liveFacts(), serverVersionNum: num, releases: table });
  test('server_version_num splits into the table\'s major and minor', () => {
    assert.deepEqual([splitVersion(180004), splitVersion(90624)], [{ major: '18', minor: 4 }, { major: '9.6', minor: 24 }]);
  });
  test('GH-PATCH-001: past EOL critical, within six months medium; GH-PATCH-002: an old minor is high', () => {
    assert.deepEqual([sev(patchEol.run(at(140025))), sev(patchEol.run(at(150020))), sev(patchEol.run(at(180005)))], [['critical'], ['medium'], []]);
    assert.deepEqual([sev(patchMinor.run(at(180004))), sev(patchMinor.run(at(180005)))], [['high'], []]);
    assert.equal(patchMinor.run(at(180004)).findings[0]?.title, 'old minor release: 18.4 is behind 18.5 (released 2026-11-12)');
  });
  test('a major the table does not know is skipped, naming --release-data', () => {
    assert.match(patchEol.run(at(190000)).skipped[0]?.needs ?? '', /lists PostgreSQL 19 \(--release-data FILE/);
  });
  test('the bundled table validates; a bad one names the field', () => {
    assert.match(loadReleaseTable().asOf, /^\d{4}-\d{2}-\d{2}$/);
    assert.throws(() => parseReleaseTable({ asOf: '2026-11-01', source: 's', majors: { 18: { latestMinor: -1, latestReleased: '2026-11-01', eol: '2030-11-14' } } }, 'f.json'),
      /^ReleaseDataError: f\.json: majors\.18\.latestMinor: /);
    assert.throws(() => parseReleaseTable({ asOf: '2026-11-01', source: 's', majors: {}, extra: 1 }, 'f.json'), /f\.json: (?:\(top level\): Unrecognized key|majors: expected at least one major version)/);
    assert.throws(() => parseReleaseTable({ asOf: '2026-13-01', source: 's', majors: {} }, 'f.json'), /f\.json: asOf: expected a real date/);
  });
});

describe('backups and audit', () => {
  const arch = (a: Partial<NonNullable<NonNullable<Facts['catalog']>['archiver']>>): Facts => liveFacts({
    settings: { archive_mode: 'on', archive_command: 'cp %p /a/%f' },
    catalog: { archiver: { archivedCount: 1, failedCount: 0, lastArchivedTime: '2026-11-21T12:00:00Z', lastFailedTime: null, lastFailedWal: null, ...a } },
  });
  test('GH-BAK-003: failing now is high, failed before a later success is low', () => {
    assert.deepEqual(sev(archiverFailing.run(arch({ failedCount: 3, lastFailedTime: '2026-11-21T13:00:00Z', lastFailedWal: '0001' }))), ['high']);
    assert.deepEqual(sev(archiverFailing.run(arch({ failedCount: 3, lastFailedTime: '2026-11-21T11:00:00Z' }))), ['low']);
    assert.deepEqual(sev(archiverFailing.run(arch({}))), []);
  });
  test('GH-BAK-004: nothing archived in a day, or ever, is a possible medium', () => {
    assert.deepEqual(sev(archiveStale.run(arch({}))), []);
    assert.deepEqual(archiveStale.run(arch({ lastArchivedTime: '2026-11-20T00:00:00Z' })).findings.map((f) => [f.severity, f.confidence]), [['medium', 'possible']]);
    assert.deepEqual(sev(archiveStale.run(arch({ lastArchivedTime: null, archivedCount: 0 }))), ['medium']);
  });
  test('GH-AUD-003: loaded but not created in this database', () => {
    const f = (ext: string[]): Facts => liveFacts({ settings: { shared_preload_libraries: 'pg_stat_statements, pgaudit' }, catalog: { extensions: ext } });
    assert.equal(pgauditExtension.run(f(['plpgsql'])).findings[0]?.title, 'pgaudit extension not created: pgaudit is loaded but not created in database app');
    assert.deepEqual(sev(pgauditExtension.run(f(['plpgsql', 'pgaudit']))), []);
  });
});
