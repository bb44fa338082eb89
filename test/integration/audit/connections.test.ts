/**
 * Connection, statement and session-end records through a real gatehouse in front of a real
 * PostgreSQL, to a JSON file (chained, with an HMAC) and a pgAudit-format file: a successful and a
 * failed login carry the hba file:line, the method and the SQLSTATE; planted passwords (the failed
 * login's, and one in an ALTER ROLE … PASSWORD) appear in no output.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { availableVersions, startCluster, type Cluster } from '../../harness/pg.js';
import { makeCertSet } from '../../harness/certs.js';
import { psql, startGatehouse, verifierOf, type Gatehouse } from '../gateway/fixture.js';
import { verifyFiles } from '../../../src/audit/verify.js';

const PW = 'records-app-pw';
const PLANTED_LOGIN = 'planted-Login-Secret-4711';
const PLANTED_SQL = 'planted-Sql-Secret-0815';
const KEY = 'an-hmac-key-for-the-records-test-0123456789';

let cluster: Cluster;
let gh: Gatehouse | undefined;
let out: string;

before(async () => {
  const [version] = await availableVersions();
  const certs = await makeCertSet();
  cluster = await startCluster({ version: version!, hba: 'host all all 127.0.0.1/32 scram-sha-256' });
  await cluster.createRole('app', { password: PW, superuser: true });
  out = await mkdtemp(join(tmpdir(), 'gh-records-'));
  await writeFile(join(out, 'audit.key'), `${KEY}\n`, { mode: 0o600 });
  gh = await startGatehouse({
    cluster, certs,
    hba: 'hostssl all app 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 reject\n',
    users: [`"app" "${await verifierOf(cluster, 'app')}"`],
    extraYaml: [
      'audit:',
      '  log: [all]',
      '  log_parameter: true',
      `  hmac_key_file: ${join(out, 'audit.key')}`,
      '  on_sink_failure: block',
      '  sinks:',
      `    - {type: file, path: ${join(out, 'audit.jsonl')}, fsync: always}`,
      `    - {type: file, path: ${join(out, 'audit.log')}, format: pgaudit}`,
    ].join('\n'),
  });
});

after(async () => {
  await gh?.stop();
  await cluster?.stop();
  await rm(out, { recursive: true, force: true });
});

test('a successful and a failed login, statements and session ends are recorded in both formats; no secret anywhere', async () => {
  const url = `host=localhost port=${gh!.port} dbname=postgres user=app sslmode=require application_name=records-test`;
  const ok = await psql(url, 'select 1', { password: PW });
  assert.equal(ok.code, 0, ok.stderr);
  const alter = await psql(url, `ALTER ROLE app PASSWORD '${PLANTED_SQL}'`, { password: PW });
  assert.equal(alter.code, 0, alter.stderr);
  const bad = await psql(url, 'select 1', { password: PLANTED_LOGIN });
  assert.match(bad.stderr, /FATAL:  password authentication failed for user "app"/);
  const hbaPath = join(gh!.dir, 'pg_hba.conf');
  const logLines = [...gh!.logs];
  await gh!.stop(); // flushes and closes the sinks
  gh = undefined;

  const json = (await readFile(join(out, 'audit.jsonl'), 'utf8')).trimEnd().split('\n');
  const recs = json.map((l) => JSON.parse(l) as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any
  const conns = recs.filter((r) => r.kind === 'connection');
  const success = conns.filter((r) => r.outcome === 'success');
  assert.equal(success.length, 2);
  for (const r of success) {
    assert.deepEqual(r.hba, { file: hbaPath, line: 1 });
    assert.equal(r.method, 'scram-sha-256');
    assert.equal(r.user, 'app');
    assert.equal(r.database, 'postgres');
    assert.equal(r.application_name, 'records-test');
    assert.match(r.tls.version, /^TLSv1\.[23]$/);
    assert.equal(typeof r.tls.cipher, 'string');
    assert.equal(r.client.address, '127.0.0.1');
    assert.ok(r.client.port > 0);
    assert.equal(r.sqlstate, undefined);
    assert.ok(r.duration_ms >= 0);
  }
  const failed = conns.filter((r) => r.outcome === 'failure');
  assert.equal(failed.length, 1);
  const f = failed[0]!;
  assert.deepEqual([f.sqlstate, f.hba, f.method, f.user], ['28P01', { file: hbaPath, line: 1 }, 'scram-sha-256', 'app']);

  const ends = recs.filter((r) => r.kind === 'disconnection');
  assert.equal(ends.length, 2);
  assert.ok(ends.every((r) => r.bytes_in > 0 && r.bytes_out > 0 && r.user === 'app'));
  const select = recs.find((r) => r.kind === 'statement' && r.statement === 'select 1');
  assert.deepEqual([select?.class, select?.command, select?.statement_id, select?.substatement_id], ['READ', 'SELECT', 1, 1]);
  const role = recs.find((r) => r.kind === 'statement' && r.class === 'ROLE');
  assert.equal(role?.command, 'ALTER ROLE');
  assert.match(role?.statement ?? '', /<REDACTED>/);

  const verified = await verifyFiles([join(out, 'audit.jsonl')], Buffer.from(KEY));
  assert.equal(verified.problem, undefined);
  assert.equal(verified.records, json.length);

  const text = await readFile(join(out, 'audit.log'), 'utf8');
  const esc = hbaPath.replaceAll('.', '\\.');
  assert.match(text, new RegExp(`^\\S+ \\S+ UTC \\[\\d+\\] app@postgres LOG:  connection authorized: user=app database=postgres application_name=records-test host=127\\.0\\.0\\.1 port=\\d+ hba=${esc}:1 method=scram-sha-256 SSL enabled \\(protocol=TLSv1\\.[23], cipher=\\S+\\) duration_ms=\\d+$`, 'm'));
  assert.match(text, new RegExp(`^\\S+ \\S+ UTC \\[\\d+\\] app@postgres LOG:  connection failed: sqlstate=28P01 user=app database=postgres application_name=records-test host=127\\.0\\.0\\.1 port=\\d+ hba=${esc}:1 method=scram-sha-256 SSL enabled .* reason="password authentication failed for user ""app""" duration_ms=\\d+$`, 'm'));
  assert.match(text, /^\S+ \S+ UTC \[\d+\] app@postgres LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,select 1,<none>$/m);
  assert.match(text, /^\S+ \S+ UTC \[\d+\] app@postgres LOG:  disconnection: session time: \d+:\d\d:\d\d\.\d{3} user=app database=postgres host=127\.0\.0\.1 port=\d+ bytes_in=\d+ bytes_out=\d+/m);

  for (const [name, content] of [['audit.jsonl', json.join('\n')], ['audit.log', text], ['gatehouse log', logLines.join('\n')]] as const) {
    assert.ok(!content.includes(PLANTED_LOGIN), `${name} holds the failed login's password`);
    assert.ok(!content.includes(PLANTED_SQL), `${name} holds the ALTER ROLE password`);
  }
});
