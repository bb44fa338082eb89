/**
 * `gatehouse audit CONNINFO` against real PostgreSQL 15 and 18, on clusters the harness builds:
 * a deliberately weak one (every expected finding must appear), a hardened one (no critical or high
 * finding), and the weak one audited by roles without superuser (skipped checks, no false claims).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { availableVersions, canIsolateNetwork, startCluster, type Cluster, type PgVersion } from '../../harness/pg.js';
import { makeCertSet, type CertSet } from '../../harness/certs.js';
import { runAudit, type AuditOptions } from '../../../src/cli/audit.js';
import type { JsonReport } from '../../../src/inspector/report/json.js';
import type { Evidence } from '../../../src/inspector/types.js';

const versions = await availableVersions();
const isolation = await canIsolateNetwork();

async function audit(conninfo: string, extra: Partial<AuditOptions> = {}): Promise<{ code: number; report: JsonReport; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runAudit(conninfo, { format: 'json', failOn: 'high', ...extra }, {
    out: (t) => (stdout += t), err: (t) => (stderr += t), isTTY: false, env: {},
  });
  return { code, report: (code === 2 || extra.format === 'text' ? null : JSON.parse(stdout)) as JsonReport, stdout, stderr };
}

const socketInfo = (c: Cluster, user: string, password: string): string =>
  `host=${c.socketDir} port=${c.port} user=${user} dbname=postgres password='${password}'`;
const ids = (r: JsonReport): string[] => r.findings.map((f) => f.id);
const skippedIds = (r: JsonReport): string[] => r.skipped.map((s) => s.id);
const settingEvidence = (r: JsonReport, id: string, name: string): Evidence | undefined =>
  r.findings.find((f) => f.id === id)?.evidence.find((e) => e.kind === 'setting' && e.name === name);

/** The weak cluster's pg_hba.conf after the harness line: trust on TCP, and an all/all/0.0.0.0/0 md5 line above a specific hostssl line. */
const WEAK_HBA = [
  'local all all scram-sha-256',
  'host all all 127.0.0.1/32 trust',
  'host all all 0.0.0.0/0 md5',
  'hostssl appdb app 192.0.2.0/24 scram-sha-256',
].join('\n');

for (const version of [15, 18] as PgVersion[]) {
  describe(`PostgreSQL ${version}`, { skip: versions.includes(version) ? false : `PostgreSQL ${version} is not installed` }, () => {
    describe('weak cluster', () => {
      let c: Cluster;
      before(async () => {
        c = await startCluster({
          version,
          // listen_addresses = '*' is safe only where nothing outside can reach it: a network namespace of its own.
          isolateNetwork: isolation,
          conf: { password_encryption: 'md5', log_connections: false, ...(isolation ? { listen_addresses: '*' } : {}) },
          hba: WEAK_HBA,
        });
        await c.createRole('app', { password: 'app-secret', encryption: 'md5', superuser: true });
        await c.createRole('watcher', { password: 'watch-pw', inRoles: ['pg_monitor'] });
        await c.createRole('nobody', { password: 'nobody-pw' });
        await c.query('GRANT CREATE ON SCHEMA public TO PUBLIC; CREATE ROLE nopw LOGIN');
        // scram_iterations exists from PostgreSQL 16.
        if (version >= 16) await c.query("SET scram_iterations = 1024; SET password_encryption = 'scram-sha-256'; CREATE ROLE lowiter LOGIN PASSWORD 'x'");
      });
      after(async () => { await c?.stop(); });

      test('as superuser: each expected finding, with pg_settings file:line evidence', async () => {
        const { code, report } = await audit(socketInfo(c, 'postgres', c.superuserPassword));
        assert.equal(code, 1);
        const found = ids(report);
        const expected = ['GH-AUTH-001', 'GH-AUTH-002', 'GH-HBA-003', 'GH-HBA-006', 'GH-HBA-011', 'GH-SSL-001', 'GH-ROLE-001',
          'GH-PRIV-001', 'GH-AUD-001', 'GH-LOG-001', 'GH-HBA-013'];
        for (const id of expected) assert.ok(found.includes(id), `${id} missing from ${found.join(' ')}`);
        assert.match(report.findings.find((f) => f.id === 'GH-AUTH-002')?.title ?? '', /\bapp\b/);
        assert.match(report.findings.find((f) => f.id === 'GH-ROLE-001')?.title ?? '', /^extra login superuser: app /);
        const nopw = report.findings.find((f) => f.id === 'GH-AUTH-004');
        assert.deepEqual([nopw?.severity, nopw?.title], ['medium', 'login role without a password: nopw is admitted by trust (host 127.0.0.1/32) with no password at all']);
        if (version >= 16) assert.equal(report.findings.find((f) => f.id === 'GH-AUTH-003')?.title, 'SCRAM secrets with fewer than 4096 iterations: lowiter (1024)');
        const shadow = report.findings.find((f) => f.id === 'GH-HBA-011');
        assert.deepEqual(shadow?.evidence.map((e) => (e.kind === 'file' ? e.line : 0)), [5, 4]);
        const enc = settingEvidence(report, 'GH-AUTH-001', 'password_encryption');
        assert.ok(enc?.kind === 'setting' && enc.file?.endsWith('/harness.conf') && (enc.line ?? 0) > 0, JSON.stringify(enc));
        assert.equal(enc.source, 'configuration file');
        const lc = settingEvidence(report, 'GH-LOG-001', 'log_connections');
        assert.ok(lc?.kind === 'setting' && lc.value === 'off' && lc.file?.endsWith('/harness.conf'), JSON.stringify(lc));
        // The least-privilege table names the superuser app and the lines that admit it.
        const table = report.tables.find((t) => t.id === 'GH-ROLE-004');
        const appRow = table?.rows.find((r) => r[0] === 'app');
        assert.ok(appRow, JSON.stringify(table));
        assert.match(appRow[1] ?? '', /host 0\.0\.0\.0\/0 md5 \(line 4\)/);
        assert.match(appRow[2] ?? '', /superuser/);
        assert.deepEqual(report.context?.targets, [`host=${c.socketDir} port=${c.port} user=postgres dbname=postgres`]);
        assert.equal(report.context?.releaseData?.source, 'bundled');
      });

      test("listen_addresses = '*' with a 0.0.0.0/0 line: GH-NET-001 at high", { skip: isolation ? false : 'listening on * safely needs a network namespace (root and unshare -n)' }, async () => {
        const { report } = await audit(socketInfo(c, 'postgres', c.superuserPassword));
        const f = report.findings.find((x) => x.id === 'GH-NET-001');
        assert.equal(f?.severity, 'high');
        assert.ok(f.evidence.some((e) => e.kind === 'setting' && e.name === 'listen_addresses' && e.value === '*' && e.file?.endsWith('/harness.conf')));
        // The server listens on * in its own network namespace: nothing here reaches its TCP port.
        const refused = await new Promise<string>((resolve) => {
          const s = connect({ host: '127.0.0.1', port: c.port }, () => { s.destroy(); resolve('connected'); });
          s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
        });
        assert.equal(refused, 'ECONNREFUSED');
      });

      test('the password never reaches the report or stderr', async () => {
        const { stdout, stderr } = await audit(socketInfo(c, 'postgres', c.superuserPassword), { format: 'text' });
        assert.ok(!stdout.includes(c.superuserPassword) && !stderr.includes(c.superuserPassword));
        assert.match(stdout, /GH-AUTH-002/);
      });

      test('as pg_monitor: pg_authid and pg_hba.conf checks are skipped with what they need, settings keep file:line', async () => {
        const { report } = await audit(socketInfo(c, 'watcher', 'watch-pw'));
        const found = ids(report);
        for (const id of ['GH-AUTH-002', 'GH-AUTH-003', 'GH-AUTH-004', 'GH-AUTH-005']) {
          assert.ok(!found.includes(id), `${id} must not be claimed without pg_authid`);
          const s = report.skipped.find((x) => x.id === id);
          assert.match(s?.needs ?? '', /^superuser \(pg_authid\) \(permission denied for table pg_authid\)$/, id);
        }
        for (const id of ['GH-HBA-003', 'GH-HBA-006', 'GH-HBA-015']) {
          assert.ok(!found.includes(id), id);
          assert.match(report.skipped.find((x) => x.id === id)?.needs ?? '', /EXECUTE on pg_hba_file_rules/, id);
        }
        assert.ok(skippedIds(report).includes('GH-CONF-001'));
        // pg_read_all_settings (in pg_monitor) shows sourcefile and sourceline.
        const enc = settingEvidence(report, 'GH-AUTH-001', 'password_encryption');
        assert.ok(enc?.kind === 'setting' && enc.file?.endsWith('/harness.conf'), JSON.stringify(enc));
        assert.ok(found.includes('GH-AUD-001') && found.includes('GH-ROLE-001') && found.includes('GH-PRIV-001'), found.join(' '));
      });

      test('as a plain role: hidden settings are skipped, visible ones show their source only', async () => {
        const { report } = await audit(socketInfo(c, 'nobody', 'nobody-pw'));
        const found = ids(report);
        assert.ok(!found.includes('GH-AUD-001'), 'shared_preload_libraries is hidden: no claim');
        assert.match(report.skipped.find((s) => s.id === 'GH-AUD-001')?.needs ?? '', /pg_read_all_settings/);
        const enc = settingEvidence(report, 'GH-AUTH-001', 'password_encryption');
        assert.deepEqual(enc, { kind: 'setting', name: 'password_encryption', value: 'md5', source: 'configuration file' });
      });

      test('EXECUTE and SELECT on pg_hba_file_rules alone: the rules come from the view, keeping file:line', async () => {
        await c.createRole('hbareader', { password: 'hba-pw', inRoles: ['pg_monitor'] });
        await c.query('GRANT EXECUTE ON FUNCTION pg_hba_file_rules() TO hbareader; GRANT SELECT ON pg_hba_file_rules TO hbareader');
        const { report } = await audit(socketInfo(c, 'hbareader', 'hba-pw'));
        const trust = report.findings.find((f) => f.id === 'GH-HBA-003');
        assert.deepEqual(trust?.evidence, [{ kind: 'file', file: `${c.dataDir}/pg_hba.conf`, line: 3, text: 'host all all 127.0.0.1 255.255.255.255 trust' }]);
        assert.ok(ids(report).includes('GH-HBA-011'));
        assert.ok(!skippedIds(report).includes('GH-HBA-003'));
      });

      test('--hba beside a plain role fills in what the server would not show', async () => {
        const { report } = await audit(socketInfo(c, 'nobody', 'nobody-pw'), { hba: `${c.dataDir}/pg_hba.conf` });
        assert.ok(ids(report).includes('GH-HBA-003'));
      });
    });

    describe('hardened cluster', () => {
      let c: Cluster;
      let certs: CertSet;
      const pgaudit = version === 15;
      before(async () => {
        certs = await makeCertSet();
        c = await startCluster({
          version,
          certs,
          conf: {
            ssl_min_protocol_version: 'TLSv1.2', password_encryption: 'scram-sha-256',
            log_connections: true, log_disconnections: true, log_line_prefix: '%m [%p] %q%u@%d from %h ',
            archive_mode: 'on', archive_command: 'mkdir -p ../archive && test ! -f ../archive/%f && cp %p ../archive/%f',
            ...(pgaudit ? { shared_preload_libraries: 'pgaudit', 'pgaudit.log': 'write, ddl, role' } : {}),
          },
        });
        await c.setHba([
          'local all postgres scram-sha-256',
          'hostssl postgres app 127.0.0.1/32 scram-sha-256',
        ].join('\n'), { exact: true });
        await c.createRole('owner_role', { login: false });
        await c.createRole('app', { password: 'app-secret' });
        await c.query([
          ...(pgaudit ? ['CREATE EXTENSION pgaudit'] : []),
          'CREATE SCHEMA app AUTHORIZATION owner_role', 'CREATE TABLE app.t (id int)', 'ALTER TABLE app.t OWNER TO owner_role',
          'GRANT USAGE ON SCHEMA app TO app', 'GRANT SELECT, INSERT ON app.t TO app',
          'REVOKE CONNECT, TEMPORARY ON DATABASE postgres FROM PUBLIC', 'GRANT CONNECT ON DATABASE postgres TO app',
          'SELECT pg_switch_wal()',
        ].join('; '));
        for (let i = 0; i < 100; i++) {
          const [row] = await c.query<{ n: number }>('SELECT archived_count::int AS n FROM pg_stat_archiver');
          if ((row?.n ?? 0) > 0) break;
          await new Promise((r) => setTimeout(r, 100));
        }
      });
      after(async () => { await c?.stop(); });

      test(`no critical or high finding${pgaudit ? ', pgaudit configured' : ' (no pgaudit in embedded PostgreSQL 18)'}`, async () => {
        const { code, report } = await audit(socketInfo(c, 'postgres', c.superuserPassword));
        const serious = report.findings.filter((f) => f.severity === 'critical' || f.severity === 'high');
        assert.deepEqual(serious.map((f) => `${f.id} ${f.title}`), []);
        assert.equal(code, 0);
        const found = ids(report);
        if (pgaudit) assert.ok(!found.some((id) => id.startsWith('GH-AUD-')), found.join(' '));
        else assert.ok(found.includes('GH-AUD-001'), 'PostgreSQL 18 here has no pgaudit: reported, at medium');
        for (const id of ['GH-BAK-001', 'GH-BAK-003', 'GH-BAK-004', 'GH-SSL-001', 'GH-SSL-002', 'GH-SSL-004', 'GH-SSL-005', 'GH-LOG-001', 'GH-LOG-002', 'GH-PRIV-001', 'GH-PRIV-002']) {
          assert.ok(!found.includes(id), `${id}: ${JSON.stringify(report.findings.find((f) => f.id === id))}`);
        }
        // The superuser could read everything: only the restore test is skipped.
        assert.deepEqual(skippedIds(report), ['GH-BAK-005']);
        const app = report.tables.find((t) => t.id === 'GH-ROLE-004')?.rows.find((r) => r[0] === 'app');
        assert.deepEqual(app?.slice(1), ['hostssl 127.0.0.1/32 scram-sha-256 (line 2)', '-', '0', '-']);
      });

      test('a key file others can read (changed after start: PostgreSQL checks only when it loads the key) is GH-SSL-005', async () => {
        const key = `${c.dataDir}/server.key`;
        await chmod(key, 0o644);
        try {
          const { report } = await audit(socketInfo(c, 'postgres', c.superuserPassword));
          const f = report.findings.find((x) => x.id === 'GH-SSL-005');
          assert.equal(f?.severity, 'high');
          assert.equal(f.title, `private key file readable by others: ${key} has mode 0644`);
        } finally {
          await chmod(key, 0o600);
        }
      });

      test('--release-data with a newer minor: GH-PATCH-002 at high, and the report names the table', async () => {
        const [v] = await c.query<{ n: number }>("SELECT current_setting('server_version_num')::int AS n");
        const major = Math.floor((v?.n ?? 0) / 10000);
        const minor = (v?.n ?? 0) % 10000;
        const file = join(c.socketDir, 'releases.json');
        await writeFile(file, JSON.stringify({ asOf: '2026-11-20', source: 'test', majors: { [major]: { latestMinor: minor + 1, latestReleased: '2026-11-12', eol: '2030-11-14' } } }));
        const { report } = await audit(socketInfo(c, 'postgres', c.superuserPassword), { releaseData: file });
        assert.deepEqual(report.findings.filter((f) => f.id.startsWith('GH-PATCH')).map((f) => [f.id, f.severity, f.title]), [
          ['GH-PATCH-002', 'high', `old minor release: ${major}.${minor} is behind ${major}.${minor + 1} (released 2026-11-12)`],
        ]);
        assert.deepEqual(report.context.releaseData, { asOf: '2026-11-20', source: file });
      });

      test('sslmode over TCP: prefer and verify-full use TLS (hostssl admits), disable is refused by pg_hba.conf', async () => {
        const tcp = `host=127.0.0.1 port=${c.port} user=app password=app-secret dbname=postgres`;
        assert.notEqual((await audit(tcp)).code, 2);
        assert.notEqual((await audit(`${tcp} host=localhost sslmode=verify-full sslrootcert=${certs.caCert}`)).code, 2);
        const plain = await audit(`${tcp} sslmode=disable`);
        assert.equal(plain.code, 2);
        assert.match(plain.stderr, /failed: no pg_hba\.conf entry for host "127\.0\.0\.1", user "app", database "postgres", no encryption/);
        const wrongCa = await audit(`${tcp} sslmode=verify-full sslrootcert=${c.dataDir}/../nonexistent.crt`);
        assert.match(wrongCa.stderr, /root certificate file ".*nonexistent\.crt" does not exist/);
      });

      test('the CLI end to end: exit 0 at --fail-on high, exit 1 at --fail-on info', async () => {
        const { spawnSync } = await import('node:child_process');
        const cli = new URL('../../../dist/cli.js', import.meta.url).pathname;
        const info = `host=${c.socketDir} port=${c.port} user=postgres dbname=postgres`;
        const env = { PATH: process.env.PATH ?? '', HOME: '/nonexistent', PGPASSWORD: c.superuserPassword };
        const high = spawnSync(process.execPath, [cli, 'audit', info, '--fail-on', 'high'], { env, encoding: 'utf8' });
        assert.equal(high.status, 0, high.stderr);
        assert.match(high.stdout, /Summary: 0 critical, 0 high/);
        const low = spawnSync(process.execPath, [cli, 'audit', info, '--fail-on', 'info', '--format', 'json'], { env, encoding: 'utf8' });
        assert.equal(low.status, 1, low.stderr);
        assert.ok(!low.stdout.includes(c.superuserPassword));
        const wrong = spawnSync(process.execPath, [cli, 'audit', info.replace('user=postgres', 'user=app'), '--fail-on', 'high'], { env: { ...env, PGPASSWORD: 'wrong' }, encoding: 'utf8' });
        assert.equal(wrong.status, 2);
        assert.match(wrong.stderr, /^gatehouse audit: connection to socket ".*\/\.s\.PGSQL\.\d+" failed: .*app/);
      });
    });
  });
}

describe('connection problems', () => {
  test('sslmode=prefer (the default) falls back to plaintext when the server has no TLS', { skip: versions.includes(18) ? false : 'no PostgreSQL 18' }, async () => {
    const c = await startCluster({ version: 18 });
    try {
      const { code, report } = await audit(`host=127.0.0.1 port=${c.port} user=postgres password='${c.superuserPassword}' dbname=postgres`);
      assert.equal(code, 1);
      assert.ok(ids(report).includes('GH-SSL-001'));
    } finally {
      await c.stop();
    }
  });
  test('a refused connection is exit 2 with a clear message', async () => {
    const { code, stderr } = await audit('host=127.0.0.1 port=1 user=x dbname=y password=hunter2 connect_timeout=2');
    assert.equal(code, 2);
    assert.match(stderr, /^gatehouse audit: connection to server at "127\.0\.0\.1", port 1 failed: .*ECONNREFUSED/);
    assert.ok(!stderr.includes('hunter2'));
  });
  test('on a terminal, a progress line on stderr is drawn and cleared', async () => {
    let stderr = '';
    const code = await runAudit('host=127.0.0.1 port=1 user=x dbname=y connect_timeout=2', { format: 'json', failOn: 'high' }, {
      out: () => undefined, err: (t) => (stderr += t), isTTY: false, errIsTTY: true, env: {},
    });
    assert.equal(code, 2);
    assert.match(stderr, /^\r\x1b\[Kgatehouse audit: collecting connecting …\r\x1b\[Kgatehouse audit: connection to server at "127\.0\.0\.1", port 1 failed: /);
  });
  test('a malformed conninfo is exit 2 in libpq\'s words', async () => {
    const { code, stderr } = await audit("host='unterminated");
    assert.equal(code, 2);
    assert.equal(stderr, 'gatehouse audit: invalid connection string: unterminated quoted string in connection info string\n');
  });
});
