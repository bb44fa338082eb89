/**
 * Pool modes and their edges (issue 4): statement mode refuses transaction blocks with PgBouncer's
 * message; session state pins a transaction-mode client (or is refused with on_session_state:
 * reject); query_wait_timeout and max_client_conn give PgBouncer's errors; a server restart in the
 * middle of load gives clients errors, and the pools recover without restarting gatehouse.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { availableVersions } from '../../harness/pg.js';
import { PW, appBackends, client, errorOf, pgbench, sleep, startPoolSetup, type PoolSetup } from './support.js';
import { psql } from '../gateway/fixture.js';

const USERS = `users:
  stmt: {pool: {mode: statement}}
  tiny: {pool: {default_pool_size: 1, query_wait_timeout: 1s}}
  strict: {pool: {on_session_state: reject}}
  sess: {pool: {mode: session}}
  slow: {pool: {query_timeout: 1s}}
admin: {users: [app]}
`;

for (const version of await availableVersions()) {
  describe(`pool modes on PostgreSQL ${version}`, () => {
    let t: PoolSetup;

    before(async () => {
      t = await startPoolSetup(version, '{mode: transaction, default_pool_size: 3, server_login_retry: 1s, max_client_conn: 14}', USERS,
        ['stmt', 'tiny', 'strict', 'sess', 'slow']);
      const init = await pgbench(t.gh, ['-i', '-s', '1', '-q']);
      assert.equal(init.code, 0, init.out);
      await t.cluster.query('GRANT SELECT ON ALL TABLES IN SCHEMA public TO stmt');
    });
    after(async () => {
      await t?.stop();
    });

    test('statement mode: single statements pool; BEGIN gets PgBouncer\'s FATAL', async () => {
      const c = client(t.gh, { user: 'stmt' });
      await c.connect();
      assert.equal((await c.query('select current_user as u')).rows[0].u, 'stmt');
      assert.equal((await c.query({ name: 'p', text: 'select $1::int * 2 as d', values: [21] })).rows[0].d, 42);
      const e = await errorOf(c.query('BEGIN'));
      assert.equal(e.code, '08P01');
      assert.equal(e.message, 'transaction blocks not allowed in statement pooling mode');
      await c.end().catch(() => undefined);
      const r = await pgbench(t.gh, ['-U', 'stmt', '-S', '-M', 'extended', '-c', '4', '-j', '2', '-T', '2', '-n']);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /number of failed transactions: 0 \(0\.000%\)/);
    });

    test('a plain SET pins the client to its server until RESET ALL; nobody else sees it', async () => {
      const pinned = client(t.gh);
      const others = [client(t.gh), client(t.gh)];
      await pinned.connect();
      await Promise.all(others.map((c) => c.connect()));
      await pinned.query("SET work_mem = '9MB'");
      const pid = (await pinned.query('select pg_backend_pid() as p')).rows[0].p as number;
      const row = t.gh.gateway.pools.snapshot().clients.find((c) => c.pinned !== '');
      assert.ok(row, 'the snapshot shows a pinned client');
      for (let i = 0; i < 10; i++) {
        const [mine, ...theirs] = await Promise.all([
          pinned.query("select pg_backend_pid() as p, current_setting('work_mem') as w"),
          ...others.map((c) => c.query("select current_setting('work_mem') as w")),
        ]);
        assert.deepEqual(mine.rows[0], { p: pid, w: '9MB' });
        for (const r of theirs) assert.equal(r.rows[0].w, '4MB', 'the SET never leaked');
      }
      assert.ok(t.gh.logs.some((l) => l.includes('session state in transaction pooling mode: SET (pin)')), 'the event was logged');
      await pinned.query('RESET ALL');
      assert.equal(t.gh.gateway.pools.snapshot().clients.filter((c) => c.pinned !== '').length, 0, 'RESET ALL unpins');
      await Promise.all([pinned, ...others].map((c) => c.end()));
    });

    test('on_session_state: reject refuses LISTEN with 0A000; the session goes on', async () => {
      const c = client(t.gh, { user: 'strict' });
      await c.connect();
      const e = await errorOf(c.query('LISTEN chan'));
      assert.deepEqual(e, { code: '0A000', message: 'LISTEN is not allowed in transaction pooling mode' });
      assert.equal((await c.query('select 1 as x')).rows[0].x, 1);
      const e2 = await errorOf(c.query({ name: 'lock', text: 'select pg_advisory_lock($1)', values: [1] }));
      assert.equal(e2.code, '0A000');
      assert.equal(e2.message, 'advisory lock is not allowed in transaction pooling mode');
      await c.end();
    });

    test('query_wait_timeout: a client that cannot get a server in time gets PgBouncer\'s FATAL', async () => {
      const holder = client(t.gh, { user: 'tiny' });
      const waiter = client(t.gh, { user: 'tiny' });
      await holder.connect();
      await waiter.connect();
      await holder.query('BEGIN');
      const started = Date.now();
      const e = await errorOf(waiter.query('select 1'));
      assert.equal(e.code, '08P01');
      assert.equal(e.message, 'query_wait_timeout');
      assert.ok(Date.now() - started >= 1000);
      assert.equal((await holder.query('select 2 as x')).rows[0].x, 2, 'the holder was not disturbed');
      await holder.query('COMMIT');
      await holder.end();
      await waiter.end().catch(() => undefined);
    });

    test('query_timeout: the query is cancelled on the server and the client gets PgBouncer\'s "query timeout"', async () => {
      const c = client(t.gh, { user: 'slow' });
      await c.connect();
      const e = await errorOf(c.query('select pg_sleep(30)'));
      assert.equal(e.code, '08P01');
      assert.equal(e.message, 'query timeout');
      let running = 1;
      for (let i = 0; i < 40 && running > 0; i++) {
        await sleep(100);
        const r = await t.cluster.query<{ n: string }>("select count(*) as n from pg_stat_activity where usename = 'slow' and query like 'select pg_sleep%' and state = 'active'");
        running = Number(r[0]!.n);
      }
      assert.equal(running, 0, 'the backend stopped running it');
      await c.end().catch(() => undefined);
    });

    test('max_client_conn: the client over the cap gets "no more connections allowed (max_client_conn)"', async () => {
      const held = Array.from({ length: 14 }, () => client(t.gh));
      await Promise.all(held.map((c) => c.connect()));
      const over = client(t.gh);
      const e = await errorOf(over.connect());
      assert.equal(e.code, '08P01');
      assert.equal(e.message, 'no more connections allowed (max_client_conn)');
      await Promise.all(held.map((c) => c.end()));
      for (let i = 0; i < 40 && t.gh.gateway.pools.clientCount > 0; i++) await sleep(50);
      const again = client(t.gh);
      await again.connect();
      await again.end();
    });

    test('session mode per user still relays on its own server connection', async () => {
      const c = client(t.gh, { user: 'sess' });
      await c.connect();
      await c.query("SET work_mem = '5MB'");
      assert.equal((await c.query("select current_setting('work_mem') as w")).rows[0].w, '5MB');
      assert.equal(t.gh.gateway.pools.snapshot().clients.filter((r) => r.user === 'sess').length, 0, 'not in any pool');
      await c.end();
    });

    test('the admin console shows the pools in PgBouncer\'s columns: idle servers, pool_mode transaction; RECONNECT closes idle ones', async () => {
      const c = client(t.gh);
      await c.connect();
      await c.query('select 1');
      const console = (sql: string) => psql(`host=127.0.0.1 port=${t.gh.port} user=app dbname=pgbouncer sslmode=disable`, sql, { password: PW });
      const pools = await console('SHOW POOLS');
      assert.equal(pools.stderr, '');
      const row = pools.stdout.split('\n').find((l) => l.startsWith('postgres|app|'))?.split('|');
      assert.ok(row, pools.stdout);
      // database|user|cl_active|cl_waiting|…|sv_active(6)|…|sv_idle(9)|sv_used|sv_tested|sv_login|maxwait|maxwait_us|pool_mode(15)
      assert.equal(row[15], 'transaction');
      assert.ok(Number(row[9]) >= 1, `an idle server: ${row.join('|')}`);
      const servers = await console('SHOW SERVERS');
      assert.match(servers.stdout, /\|idle\|/);
      assert.equal((await console('RECONNECT postgres')).stderr, '');
      assert.equal(t.gh.gateway.pools.snapshot().pools.find((p) => p.user === 'app')?.sv_idle, 0, 'RECONNECT closed the idle servers');
      assert.equal((await c.query('select 2 as x')).rows[0].x, 2, 'a new server is opened for the next transaction');
      await c.end();
    });

    test('the server restarts under load: clients get errors, then new transactions succeed without restarting gatehouse', async () => {
      const inTx = client(t.gh);
      const errors: { code?: string; message: string }[] = [];
      inTx.on('error', (e) => errors.push(e as { code?: string; message: string }));
      await inTx.connect();
      await inTx.query('BEGIN');
      await inTx.query('select 1');
      const load = pgbench(t.gh, ['-c', '6', '-j', '2', '-T', '6', '-n']);
      await sleep(2000);
      await t.cluster.restart();
      const loaded = await load;
      assert.notEqual(loaded.code, 0, 'pgbench saw the restart');
      assert.match(loaded.out, /terminating connection due to administrator command|server conn crashed\?/);
      for (let i = 0; i < 40 && errors.length === 0; i++) await sleep(50);
      // The client in a transaction gets its server's own FATAL (it holds that server), then the connection ends.
      assert.equal(errors[0]?.code, '57P01', JSON.stringify(errors));
      await sleep(1200); // server_login_retry
      const after = await pgbench(t.gh, ['-c', '6', '-j', '2', '-T', '3', '-n']);
      assert.equal(after.code, 0, after.out);
      assert.match(after.out, /number of failed transactions: 0 \(0\.000%\)/);
      assert.ok(await appBackends(t.cluster) <= 3);
    });
  });
}
