/**
 * The admin console end to end (issue 4, "Admin console"): real PostgreSQL 15 and 18 behind
 * gatehouse, psql and pg as clients. Column names are PgBouncer's, asserted exactly; the role is
 * checked at login (through hba) and on every command.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { availableVersions, startCluster, type Cluster } from '../../harness/pg.js';
import { makeCertSet, type CertSet } from '../../harness/certs.js';
import { startGatehouse, verifierOf, type Gatehouse } from '../gateway/fixture.js';
import { byName, consoleClient, eventually, psqlBackground, psqlTable } from './console-support.js';

const APP_PW = 'app-pw-1';
const ADMIN_PW = 'admin-pw-1';
const STATS_PW = 'stats-pw-1';

const POOL_COLUMNS = ['database', 'user', 'cl_active', 'cl_waiting', 'cl_active_cancel_req', 'cl_waiting_cancel_req',
  'sv_active', 'sv_active_cancel', 'sv_being_canceled', 'sv_idle', 'sv_used', 'sv_tested', 'sv_login', 'maxwait',
  'maxwait_us', 'pool_mode', 'load_balance_hosts'];
const SOCKET_COLUMNS = ['type', 'user', 'database', 'replication', 'state', 'addr', 'port', 'local_addr', 'local_port',
  'connect_time', 'request_time', 'wait', 'wait_us', 'close_needed', 'ptr', 'link', 'remote_pid', 'tls',
  'application_name', 'prepared_statements', 'id'];
const STATS_FIELDS = ['server_assignment_count', 'xact_count', 'query_count', 'bytes_received', 'bytes_sent', 'xact_time',
  'query_time', 'wait_time', 'client_parse_count', 'server_parse_count', 'bind_count', 'client_connect_count'];
const STATS_COLUMNS = ['database', 'total_server_assignment_count', 'total_xact_count', 'total_query_count', 'total_received',
  'total_sent', 'total_xact_time', 'total_query_time', 'total_wait_time', 'total_client_parse_count',
  'total_server_parse_count', 'total_bind_count', 'total_client_connect_count', 'avg_server_assignment_count',
  'avg_xact_count', 'avg_query_count', 'avg_recv', 'avg_sent', 'avg_xact_time', 'avg_query_time', 'avg_wait_time',
  'avg_client_parse_count', 'avg_server_parse_count', 'avg_bind_count', 'avg_client_connect_count'];
const AVERAGES_COLUMNS = ['database', 'server_assignment_count', 'xact_count', 'query_count', 'bytes_received', 'bytes_sent',
  'xact_time', 'query_time', 'wait_time', 'avg_client_parse_count', 'avg_server_parse_count', 'avg_bind_count',
  'client_connect_count'];
const DATABASE_COLUMNS = ['name', 'host', 'port', 'database', 'force_user', 'pool_size', 'min_pool_size', 'reserve_pool_size',
  'server_lifetime', 'pool_mode', 'load_balance_hosts', 'max_connections', 'current_connections', 'max_client_connections',
  'current_client_connections', 'paused', 'disabled'];
const USER_COLUMNS = ['name', 'pool_size', 'reserve_pool_size', 'pool_mode', 'max_user_connections', 'current_connections',
  'max_user_client_connections', 'current_client_connections'];
const LISTS = ['databases', 'users', 'peers', 'pools', 'peer_pools', 'free_clients', 'used_clients', 'login_clients',
  'free_servers', 'used_servers', 'dns_names', 'dns_zones', 'dns_queries', 'dns_pending'];

/** pg_type OIDs PgBouncer uses: text 25, int4 23, numeric 1700. */
const TEXT = 25;
const INT4 = 23;
const NUMERIC = 1700;

for (const version of await availableVersions()) {
  describe(`admin console on PostgreSQL ${version}`, () => {
    let certs: CertSet;
    let cluster: Cluster;
    let gh: Gatehouse;
    const conn = (user: string, db = 'gatehouse'): string => `host=127.0.0.1 port=${gh.port} dbname=${db} user=${user} sslmode=disable`;
    const admin = (sql: string) => psqlTable(conn('admin1'), sql, ADMIN_PW);
    const configYaml = (statsUsers: string): string =>
      `admin: {users: [admin1], stats_users: [${statsUsers}]}\n`;

    before(async () => {
      certs = await makeCertSet();
      cluster = await startCluster({ version, hba: 'host all all 127.0.0.1/32 scram-sha-256\nlocal all all scram-sha-256' });
      await cluster.createRole('app', { password: APP_PW });
      gh = await startGatehouse({
        cluster, certs,
        hba: ['host pgbouncer nobody 127.0.0.1/32 reject', 'host all all 127.0.0.1/32 scram-sha-256'].join('\n'),
        users: [`"app" "${await verifierOf(cluster, 'app')}"`, `"admin1" "${ADMIN_PW}"`, `"stats1" "${STATS_PW}"`,
          `"stats2" "stats2-pw"`, `"nobody" "nobody-pw"`],
        databasesYaml: `databases:\n  "*": {host: 127.0.0.1, port: ${cluster.port}, sslmode: disable, password: upstream-secret}`,
        extraYaml: configYaml('stats1'),
      });
    });
    after(async () => {
      await gh?.stop();
      await cluster?.stop();
    });

    test('SHOW VERSION answers one `version` column through psql, on both console names', async () => {
      for (const db of ['gatehouse', 'pgbouncer']) {
        const t = await psqlTable(conn('admin1', db), 'SHOW VERSION;', ADMIN_PW);
        assert.equal(t.stderr, '');
        assert.deepEqual(t.columns, ['version']);
        assert.match(t.rows[0]![0]!, /^gatehouse \d+\.\d+\.\d+$/);
      }
      const overTls = await psqlTable(conn('admin1').replace('sslmode=disable', 'sslmode=require'), 'SHOW CLIENTS', ADMIN_PW);
      assert.equal(overTls.stderr, '');
      assert.match(byName(overTls).find((r) => r.user === 'admin1')?.tls ?? '', /^TLSv1\.[23]\//);
    });

    test('SHOW POOLS, CLIENTS and SERVERS show a live session with PgBouncer\'s columns and types', async () => {
      const app = new pg.Client({ host: '127.0.0.1', port: gh.port, user: 'app', password: APP_PW, database: 'postgres', application_name: 'app-under-test' });
      await app.connect();
      try {
        const pid = (await app.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
        const pools = await admin('show pools');
        assert.deepEqual(pools.columns, POOL_COLUMNS);
        const appPool = byName(pools).find((r) => r.database === 'postgres' && r.user === 'app');
        assert.ok(appPool, 'a pool for (postgres, app)');
        assert.equal(appPool.cl_active, '1');
        assert.equal(appPool.sv_active, '1');
        assert.equal(appPool.cl_waiting, '0');
        assert.equal(appPool.pool_mode, 'session');
        const consolePool = byName(pools).find((r) => r.database === 'gatehouse' && r.user === 'admin1');
        assert.equal(consolePool?.pool_mode, 'statement');

        const clients = await admin('SHOW CLIENTS');
        assert.deepEqual(clients.columns, SOCKET_COLUMNS);
        const c = byName(clients).find((r) => r.user === 'app');
        assert.ok(c);
        assert.equal(c.type, 'C');
        assert.equal(c.state, 'active');
        assert.equal(c.addr, '127.0.0.1');
        assert.equal(c.application_name, 'app-under-test');
        assert.match(c.connect_time ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);

        const servers = await admin('show servers');
        assert.deepEqual(servers.columns, SOCKET_COLUMNS);
        const s = byName(servers).find((r) => r.link === c.ptr);
        assert.ok(s, 'the server row links to the client');
        assert.equal(s.type, 'S');
        assert.equal(s.remote_pid, String(pid));
        assert.equal(s.port, String(cluster.port));

        const viaPg = await consoleClient(gh.port, 'admin1', ADMIN_PW);
        try {
          const r = await viaPg.query('SHOW POOLS');
          assert.deepEqual(r.fields.map((f) => f.name), POOL_COLUMNS);
          assert.deepEqual(r.fields.map((f) => f.dataTypeID), [TEXT, TEXT, ...Array<number>(13).fill(INT4), TEXT, TEXT]);
        } finally {
          await viaPg.end();
        }
      } finally {
        await app.end();
      }
    });

    test('SHOW STATS, STATS_TOTALS and STATS_AVERAGES count the session\'s queries and transactions', async () => {
      const app = new pg.Client({ host: '127.0.0.1', port: gh.port, user: 'app', password: APP_PW, database: 'template1' });
      await app.connect();
      for (let i = 0; i < 5; i++) await app.query('select 1');
      await app.query('begin');
      await app.query('select 2');
      await app.query('commit');
      await app.end();
      await eventually(async () => byName(await admin('SHOW CLIENTS')).every((r) => r.user !== 'app'));
      const viaPg = await consoleClient(gh.port, 'admin1', ADMIN_PW);
      try {
        const stats = await viaPg.query('SHOW STATS');
        assert.deepEqual(stats.fields.map((f) => f.name), STATS_COLUMNS);
        assert.deepEqual(stats.fields.map((f) => f.dataTypeID), [TEXT, ...Array<number>(24).fill(NUMERIC)]);
        const totals = await viaPg.query<Record<string, string>>('SHOW STATS_TOTALS');
        assert.deepEqual(totals.fields.map((f) => f.name), ['database', ...STATS_FIELDS]);
        const t1 = totals.rows.find((r) => r.database === 'template1');
        assert.ok(t1);
        // 5 autocommit selects + begin/select/commit: 8 ReadyForQuery, 6 transactions, one login.
        assert.equal(t1.query_count, '8');
        assert.equal(t1.xact_count, '6');
        assert.equal(t1.server_assignment_count, '1');
        assert.equal(t1.client_connect_count, '1');
        assert.ok(Number(t1.bytes_received) > 0 && Number(t1.bytes_sent) > 0);
        const avg = await viaPg.query('SHOW STATS_AVERAGES');
        assert.deepEqual(avg.fields.map((f) => f.name), AVERAGES_COLUMNS);
        // The same through psql.
        assert.deepEqual((await admin('SHOW STATS')).columns, STATS_COLUMNS);
        assert.deepEqual((await admin('SHOW STATS_TOTALS')).columns, ['database', ...STATS_FIELDS]);
        assert.deepEqual((await admin('SHOW STATS_AVERAGES')).columns, AVERAGES_COLUMNS);
      } finally {
        await viaPg.end();
      }
    });

    test('SHOW DATABASES, USERS, LISTS and CONFIG have PgBouncer\'s columns; secrets are masked', async () => {
      const dbs = await admin('SHOW DATABASES');
      assert.deepEqual(dbs.columns, DATABASE_COLUMNS);
      assert.ok(byName(dbs).some((r) => r.name === 'pgbouncer' && r.pool_mode === 'statement'));
      const users = await admin('SHOW USERS');
      assert.deepEqual(users.columns, USER_COLUMNS);
      assert.ok(byName(users).some((r) => r.name === 'app'));
      const lists = await admin('SHOW LISTS');
      assert.deepEqual(lists.columns, ['list', 'items']);
      assert.deepEqual(lists.rows.map((r) => r[0]), LISTS);
      const config = await admin('SHOW CONFIG');
      assert.deepEqual(config.columns, ['key', 'value', 'default', 'changeable']);
      const rows = new Map(byName(config).map((r) => [r.key, r]));
      assert.equal(rows.get('admin.users')?.value, 'admin1');
      assert.equal(rows.get('admin.users')?.changeable, 'yes');
      assert.equal(rows.get('listen.port')?.value, String(gh.port));
      assert.equal(rows.get('listen.port')?.changeable, 'no');
      assert.equal(rows.get('listen.port')?.default, '6432');
      assert.equal(rows.get('authentication_timeout')?.value, '5');
      assert.equal(rows.get('databases.*.password')?.value, '********');
      assert.equal(rows.get('metrics.listen')?.value, '');
      assert.ok(!config.rows.flat().some((v) => v.includes('upstream-secret') || v.includes(ADMIN_PW)), 'no secret is shown');
    });

    test('a stats user may SHOW but not RELOAD, PAUSE or KILL_CLIENT: "admin access needed"', async () => {
      const t = await psqlTable(conn('stats1'), 'SHOW POOLS', STATS_PW);
      assert.equal(t.stderr, '');
      assert.deepEqual(t.columns, POOL_COLUMNS);
      for (const cmd of ['RELOAD', 'PAUSE', 'KILL_CLIENT 1', 'SHUTDOWN', 'RESUME']) {
        const r = await psqlTable(conn('stats1'), cmd, STATS_PW);
        assert.notEqual(r.code, 0);
        assert.equal(r.stderr, 'ERROR:  admin access needed', cmd);
      }
    });

    test('a role in neither list gets FATAL 08P01 "not allowed" after authentication; hba still decides first', async () => {
      const r = await psqlTable(conn('app'), 'SHOW POOLS', APP_PW);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /FATAL:  not allowed$/m);
      const wrong = await psqlTable(conn('admin1'), 'SHOW POOLS', 'wrong');
      assert.match(wrong.stderr, /FATAL:  password authentication failed for user "admin1"$/m);
      const rejected = await psqlTable(conn('nobody', 'pgbouncer'), 'SHOW POOLS', 'nobody-pw');
      assert.match(rejected.stderr, /FATAL:  pg_hba\.conf rejects connection for host "127\.0\.0\.1", user "nobody", database "pgbouncer", no encryption$/m);
      const log = gh.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.user === 'app' && l.database === 'gatehouse');
      assert.equal(log?.sqlstate, '08P01');
    });

    test('unknown and malformed commands get PgBouncer\'s errors; the session goes on', async () => {
      const c = await consoleClient(gh.port, 'admin1', ADMIN_PW);
      try {
        await assert.rejects(c.query('SHOW FOO'), { code: '08P01', message: "invalid command 'SHOW FOO', use SHOW HELP;" });
        await assert.rejects(c.query('select * from pg_class'), { code: '08P01', message: "invalid command 'select * from pg_class', use SHOW HELP;" });
        await assert.rejects(c.query('KILL_CLIENT abc'), { code: '08P01', message: 'invalid client pointer supplied' });
        await assert.rejects(c.query('KILL_CLIENT 999999'), { code: '08P01', message: 'client not found' });
        await assert.rejects(c.query('PAUSE gatehouse'), { code: '08P01', message: 'cannot pause admin db: gatehouse' });
        await assert.rejects(c.query('RESUME'), { code: '08P01', message: 'pooler is not paused/suspended' });
        const ok = await c.query('  show  "version" ;  ');
        assert.equal(ok.fields[0]?.name, 'version');
        const fake = await c.query('SHOW client_encoding');
        assert.deepEqual(fake.rows, [{ client_encoding: 'UTF-8' }]);
      } finally {
        await c.end();
      }
    });

    test('the extended query protocol is refused with PgBouncer\'s message, then "bad packet"', async () => {
      const c = await consoleClient(gh.port, 'admin1', ADMIN_PW);
      await assert.rejects(c.query('SHOW POOLS', [1]), (e: Error & { code?: string }) => {
        assert.equal(e.code, '08P01');
        assert.equal(e.message, 'extended query protocol not supported by admin console');
        return true;
      });
      await c.end().catch(() => undefined);
    });

    test('KILL_CLIENT ends that client with FATAL 08P01 "admin forced disconnect"', async () => {
      const victim = psqlBackground(`host=127.0.0.1 port=${gh.port} dbname=postgres user=app sslmode=disable`, 'select pg_sleep(30)', APP_PW);
      let id = '';
      await eventually(async () => {
        id = byName(await admin('SHOW CLIENTS')).find((r) => r.user === 'app' && r.database === 'postgres')?.id ?? '';
        return id !== '';
      });
      const r = await admin(`KILL_CLIENT ${id}`);
      assert.equal(r.stderr, '');
      const v = await victim.done;
      assert.notEqual(v.code, 0);
      assert.match(v.stderr, /FATAL:  admin forced disconnect/);
    });

    test('PAUSE holds new clients (waiting in SHOW POOLS) until RESUME', async () => {
      assert.equal((await admin('PAUSE postgres')).stderr, '');
      const dbs = byName(await admin('SHOW DATABASES'));
      assert.equal(dbs.find((r) => r.name === 'postgres')?.paused, '1');
      const waiting = psqlBackground(`host=127.0.0.1 port=${gh.port} dbname=postgres user=app sslmode=disable`, 'select 42', APP_PW);
      await eventually(async () => byName(await admin('SHOW POOLS')).some((r) => r.database === 'postgres' && r.cl_waiting === '1'));
      const clients = byName(await admin('SHOW CLIENTS'));
      assert.ok(clients.some((r) => r.database === 'postgres' && r.state === 'waiting'));
      const again = await admin('RESUME postgres');
      assert.equal(again.stderr, '');
      const done = await waiting.done;
      assert.equal(done.stderr, '');
      assert.equal(done.stdout, '42');
      const err = await admin('RESUME postgres');
      assert.equal(err.stderr, 'ERROR:  database postgres is not paused');
    });

    test('KILL db ends its sessions with "database removed" and holds it until RESUME', async () => {
      const victim = psqlBackground(`host=127.0.0.1 port=${gh.port} dbname=postgres user=app sslmode=disable`, 'select pg_sleep(30)', APP_PW);
      await eventually(async () => byName(await admin('SHOW CLIENTS')).some((r) => r.user === 'app' && r.state === 'active'));
      assert.equal((await admin('KILL postgres')).stderr, '');
      const v = await victim.done;
      assert.match(v.stderr, /FATAL:  database removed/);
      assert.equal(byName(await admin('SHOW DATABASES')).find((r) => r.name === 'postgres')?.paused, '1');
      assert.equal((await admin('RESUME postgres')).stderr, '');
    });

    test('RELOAD re-reads the config: a newly listed stats user gets in; a broken file is F0000', async () => {
      const before = await psqlTable(conn('stats2'), 'SHOW VERSION', 'stats2-pw');
      assert.match(before.stderr, /FATAL:  not allowed/);
      const { readFile, writeFile } = await import('node:fs/promises');
      const original = await readFile(gh.configPath, 'utf8');
      await writeFile(gh.configPath, original.replace(configYaml('stats1'), configYaml('stats1, stats2')));
      try {
        assert.equal((await admin('RELOAD;')).stderr, '');
        const afterReload = await psqlTable(conn('stats2'), 'SHOW VERSION', 'stats2-pw');
        assert.equal(afterReload.stderr, '');
        await writeFile(gh.configPath, `${original}\nno_such_key: 1\n`);
        const c = await consoleClient(gh.port, 'admin1', ADMIN_PW);
        await assert.rejects(c.query('RELOAD'), { code: 'F0000', message: 'RELOAD failed, see logs for additional details' });
        await c.end();
      } finally {
        await writeFile(gh.configPath, original);
        await admin('RELOAD');
      }
    });

    test('PAUSE returns once the database\'s sessions have ended; RECONNECT marks servers close_needed and WAIT_CLOSE waits for them', async () => {
      const app = new pg.Client({ host: '127.0.0.1', port: gh.port, user: 'app', password: APP_PW, database: 'postgres' });
      await app.connect();
      try {
        assert.equal((await admin('RECONNECT postgres')).stderr, '');
        const servers = byName(await admin('SHOW SERVERS')).filter((r) => r.database === 'postgres');
        assert.deepEqual(servers.map((r) => r.close_needed), ['1']);
        const waitClose = psqlBackground(conn('admin1'), 'WAIT_CLOSE postgres', ADMIN_PW);
        const pause = psqlBackground(conn('admin1'), 'PAUSE postgres', ADMIN_PW);
        let settled = false;
        void Promise.all([waitClose.done, pause.done]).then(() => (settled = true));
        // Both commands are in the console (their clients are listed) and neither has answered.
        await eventually(async () => byName(await admin('SHOW CLIENTS')).filter((r) => r.database === 'gatehouse').length >= 3);
        assert.equal(settled, false, 'WAIT_CLOSE and PAUSE wait while the session holds its server');
        await app.end();
        const [w, p] = await Promise.all([waitClose.done, pause.done]);
        assert.deepEqual([w.code, w.stderr, p.code, p.stderr], [0, '', 0, '']);
      } finally {
        await app.end().catch(() => undefined);
        await admin('RESUME');
      }
    });

    test('a role dropped from the lists by RELOAD loses its open console session at the next command', async () => {
      const { readFile, writeFile } = await import('node:fs/promises');
      const original = await readFile(gh.configPath, 'utf8');
      const c = await consoleClient(gh.port, 'stats1', STATS_PW);
      try {
        await c.query('SHOW VERSION');
        await writeFile(gh.configPath, original.replace(configYaml('stats1'), configYaml('')));
        assert.equal((await admin('RELOAD')).stderr, '');
        await assert.rejects(c.query('SHOW VERSION'), { code: '08P01', message: 'not allowed' });
      } finally {
        await writeFile(gh.configPath, original);
        await admin('RELOAD');
        await c.end().catch(() => undefined);
      }
    });

    test('SHOW HELP is a NOTICE; SET of a driver parameter is ignored, any other SET refused', async () => {
      const help = await psqlTable(conn('admin1'), 'SHOW HELP', ADMIN_PW);
      assert.equal(help.code, 0);
      assert.match(help.stderr, /^NOTICE:  Console usage\nDETAIL:  \n\tSHOW HELP\|CONFIG/);
      const c = await consoleClient(gh.port, 'stats1', STATS_PW);
      const notices: string[] = [];
      c.on('notice', (n) => notices.push(n.message ?? ''));
      try {
        const r = await c.query('SET extra_float_digits = 3');
        assert.equal(r.command, 'SET');
        assert.deepEqual(notices, ['SET ignored']);
        await assert.rejects(c.query("SET log_level = 'debug'"), { code: '08P01', message: 'admin access needed' });
      } finally {
        await c.end();
      }
      const a = await consoleClient(gh.port, 'admin1', ADMIN_PW);
      await assert.rejects(a.query("SET log_level = 'debug'"), { code: '08P01', message: 'SET failed' });
      await a.end();
    });

    test('pgbouncer_exporter\'s queries, as it sends them through lib/pq (simple protocol)', async () => {
      const c = await consoleClient(gh.port, 'stats1', STATS_PW, 'pgbouncer');
      try {
        await c.query('SHOW STATS');
        const version = await c.query('SHOW VERSION;');
        assert.deepEqual(version.fields.map((f) => f.name), ['version']);
        const lists = await c.query<{ list: string; items: string }>('SHOW LISTS;');
        assert.equal(lists.fields.length, 2);
        for (const r of lists.rows) assert.ok(Number.isFinite(Number(r.items)));
        const config = await c.query('SHOW CONFIG;');
        assert.equal(config.fields.length, 4);
        for (const ns of ['DATABASES', 'STATS_TOTALS', 'POOLS']) {
          const r = await c.query(`SHOW ${ns};`);
          assert.ok(r.fields.length > 1, ns);
        }
      } finally {
        await c.end();
      }
    });
  });
}
