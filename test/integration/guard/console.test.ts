/**
 * The guard in the admin console and in Prometheus (issue 5): SHOW BANS, BAN, UNBAN through psql
 * against real PostgreSQL 18, and the guard's metrics after real refusals.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type Cluster } from '../../harness/pg.js';
import { makeCertSet, type CertSet } from '../../harness/certs.js';
import { startGatehouse, verifierOf, type Gatehouse } from '../gateway/fixture.js';
import { byName, psqlTable } from '../admin/console-support.js';
import { createMetricsRegistry } from '../../../src/metrics/index.js';
import { loginFrom } from './client.js';

const PW = 'console-guard-pw';
const ADMIN_PW = 'admin-guard-pw';
const STATS_PW = 'stats-guard-pw';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('guard in the admin console and metrics (PostgreSQL 18)', () => {
  let certs: CertSet;
  let cluster: Cluster;
  let gh: Gatehouse;
  let metrics: ReturnType<typeof createMetricsRegistry>;
  const console_ = (sql: string, user = 'admin1', pw = ADMIN_PW) =>
    psqlTable(`host=127.0.0.1 port=${gh.port} dbname=gatehouse user=${user} sslmode=disable`, sql, pw);
  const login = (from: string, password = PW) => loginFrom({ port: gh.port, from, user: 'app', password });

  before(async () => {
    certs = await makeCertSet();
    cluster = await startCluster({ version: 18 });
    await cluster.createRole('app', { password: PW });
    gh = await startGatehouse({
      cluster, certs,
      hba: 'host all all 127.0.0.0/8 scram-sha-256\n',
      users: [`"app" "${await verifierOf(cluster, 'app')}"`, `"admin1" "${ADMIN_PW}"`, `"stats1" "${STATS_PW}"`],
      extraYaml: 'admin: {users: [admin1], stats_users: [stats1]}\nguard: {ignore: [127.0.0.1]}',
    });
    metrics = createMetricsRegistry(gh.gateway.events, gh.gateway.view);
  });
  after(async () => {
    metrics?.dispose();
    await gh?.stop();
    await cluster?.stop();
  });

  test('SHOW BANS lists a ban made by failures, with PgBouncer-style columns', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await login('127.0.0.2', 'wrong')).kind, 'error');
    await sleep(50);
    const t = await console_('SHOW BANS');
    assert.equal(t.code, 0, t.stderr);
    assert.deepEqual(t.columns, ['source', 'reason', 'failures', 'banned_until']);
    const rows = byName(t);
    assert.deepEqual(rows.map((r) => [r.source, r.reason, r.failures]), [['127.0.0.2', 'auth: password authentication failed for user "app"', '5']]);
    assert.match(rows[0]!.banned_until!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    const stats = await console_('SHOW BANS', 'stats1', STATS_PW);
    assert.equal(stats.rows.length, 1, 'a stats user may look');
  });

  test('BAN source [duration] and UNBAN source; errors in PgBouncer\'s manner; stats users may not', async () => {
    const b = await console_('BAN 127.0.0.9 5min');
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(await login('127.0.0.9'), { kind: 'closed', bytes: 0 });
    const until = byName(await console_('SHOW BANS')).find((r) => r.source === '127.0.0.9')!;
    assert.equal(until.reason, 'admin');
    const u = await console_('UNBAN 127.0.0.2;');
    assert.equal(u.code, 0, u.stderr);
    assert.deepEqual(await login('127.0.0.2'), { kind: 'ok', value: '1' });
    assert.match((await console_('UNBAN 127.0.0.77')).stderr, /ERROR: {2}"127\.0\.0\.77" is not banned/);
    assert.match((await console_('BAN 127.0.0.9 soon')).stderr, /invalid command|invalid duration/);
    assert.match((await console_('BAN 127.0.0.9 0')).stderr, /invalid duration "0"/);
    assert.match((await console_('BAN 127.0.0.0:1')).stderr, /is not an IP address/);
    const refused = await console_('BAN 127.0.0.10', 'stats1', STATS_PW);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /admin/i);
    assert.equal((await login('127.0.0.10')).kind, 'ok');
    assert.equal((await console_('UNBAN 127.0.0.9')).code, 0);
  });

  test('metrics: refusals by reason, bans, failures by method and reason, handshakes in progress', async () => {
    const text = await metrics.registry.metrics();
    const value = (line: string): number => Number(new RegExp(`^${line.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    assert.equal(value('gatehouse_guard_rejected_total{reason="banned"}'), 1, 'the one login from 127.0.0.9 while banned');
    assert.equal(value('gatehouse_guard_bans_total{by="failures"}'), 1);
    assert.equal(value('gatehouse_guard_bans_total{by="admin"}'), 1);
    assert.equal(value('gatehouse_auth_failures_total{method="scram-sha-256",reason="auth"}'), 5);
    assert.equal(value('gatehouse_bans_active'), 0);
    assert.equal(value('gatehouse_handshakes_in_progress'), 0);
  });
});
