/**
 * Transaction pooling (issue 4): pgbench in simple, extended and prepared modes with 0 failures on
 * a pool smaller than the client count; 50 concurrent clients that never see each other's
 * SET LOCAL or transaction; tracked startup parameters re-applied per server; prepared statements
 * with pg and postgres.js across server connections; cancel routed to the server the client holds.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import postgres from 'postgres';
import { availableVersions } from '../../harness/pg.js';
import { nativeRelayStatus } from '../../../src/session/native-relay.js';
import { psql } from '../gateway/fixture.js';
import { PW, appBackends, cancel, client, connectedApps, errorOf, expectOwnAppNames, pgbench, sleep, startPoolSetup, type PoolSetup } from './support.js';

// Both engines: the native transaction plane (the default where it is built) and the JavaScript pool.
const engines = nativeRelayStatus().available ? ['native', 'node'] as const : ['node'] as const;

for (const version of await availableVersions()) for (const engine of engines) {
  describe(`transaction pooling on PostgreSQL ${version} (transaction_engine: ${engine})`, () => {
    let t: PoolSetup;

    before(async () => {
      t = await startPoolSetup(version, '{mode: transaction, default_pool_size: 4, server_check_delay: 0}', `transaction_engine: ${engine}\n`);
    });
    after(async () => {
      await t?.stop();
    });

    test('a client gets its startup parameters, and the server it lands on is switched to them', async () => {
      const [a, b] = await connectedApps(t.gh, 'alpha', 'beta');
      assert.equal((await a.query('select current_user as u')).rows[0].u, 'app');
      await expectOwnAppNames(a, 'alpha', b, 'beta');
      await a.end();
      await b.end();
    });

    test('clients with equal startup parameters share them until one changes its own (SET application_name)', async () => {
      // One map serves both (Pool.sharedVars); a's change must not become b's (b would then be SET to it).
      const [a, b] = await connectedApps(t.gh, 'gamma', 'gamma');
      await a.query("SET application_name = 'delta'");
      await expectOwnAppNames(a, 'delta', b, 'gamma');
      await a.end();
      await b.end();
    });

    test('pgbench simple, extended and prepared, 16 clients on 4 server connections: 0 failed transactions', async () => {
      const init = await pgbench(t.gh, ['-i', '-s', '1', '-q']);
      assert.equal(init.code, 0, init.out);
      // pgbench prepares each command synchronously on first use, which blocks its thread: with
      // fewer threads than clients, a client preparing inside the thread of one that holds a
      // server in an open transaction would wait on it forever (PgBouncer alike). One thread each.
      for (const [mode, jobs] of [['simple', '2'], ['extended', '2'], ['prepared', '16']] as const) {
        const r = await pgbench(t.gh, ['-M', mode, '-c', '16', '-j', jobs, '-T', '4', '-n']);
        assert.equal(r.code, 0, r.out);
        assert.match(r.out, /number of failed transactions: 0 \(0\.000%\)/, r.out);
        const processed = /number of transactions actually processed: (\d+)/.exec(r.out);
        assert.ok(processed && Number(processed[1]) > 100, r.out);
      }
      assert.ok(await appBackends(t.cluster) <= 4, 'the pool never opened more than default_pool_size');
    });

    test('50 concurrent clients: each sees only its own SET LOCAL and its own transaction', async () => {
      const clients = Array.from({ length: 50 }, () => client(t.gh));
      await Promise.all(clients.map((c) => c.connect()));
      const seen = new Set<string>();
      await Promise.all(clients.map(async (c, i) => {
        for (let round = 0; round < 6; round++) {
          await c.query('BEGIN');
          await c.query(`SET LOCAL work_mem = '${i + 64}kB'`);
          const x1 = (await c.query('select txid_current()::text as x')).rows[0].x as string;
          await sleep(Math.floor(Math.random() * 5));
          const r = await c.query("select current_setting('work_mem') as w, txid_current()::text as x");
          assert.equal(r.rows[0].w, `${i + 64}kB`, `client ${i} sees its own SET LOCAL`);
          assert.equal(r.rows[0].x, x1, `client ${i} stays in its own transaction`);
          assert.ok(!seen.has(x1), 'no two clients share a transaction');
          seen.add(x1);
          await c.query('COMMIT');
          const after = await c.query("select current_setting('work_mem') as w");
          assert.equal(after.rows[0].w, '4MB', 'SET LOCAL ended with the transaction');
        }
      }));
      await Promise.all(clients.map((c) => c.end()));
      assert.equal(seen.size, 300);
      assert.ok(await appBackends(t.cluster) <= 4);
    });

    test('named prepared statements (pg) survive moving between server connections', async () => {
      const clients = Array.from({ length: 8 }, () => client(t.gh));
      await Promise.all(clients.map((c) => c.connect()));
      await Promise.all(clients.map(async (c, i) => {
        for (let n = 0; n < 20; n++) {
          const r = await c.query({ name: 'add', text: 'select $1::int + $2::int as s', values: [i, n] });
          assert.equal(r.rows[0].s, i + n);
          const r2 = await c.query({ name: `own_${i}`, text: `select ${i}::int as me, $1::text as v`, values: [String(n)] });
          assert.deepEqual(r2.rows[0], { me: i, v: String(n) });
        }
      }));
      await Promise.all(clients.map((c) => c.end()));
    });

    test('postgres.js (prepares by default, Describe before Bind) across server connections', async () => {
      const sql = postgres({ host: '127.0.0.1', port: t.gh.port, user: 'app', password: PW, database: 'postgres', ssl: false, max: 10 });
      try {
        const results = await Promise.all(Array.from({ length: 200 }, (_, i) => sql`select ${i}::int as n, pg_backend_pid() as pid`));
        results.forEach((r, i) => assert.equal(r[0]!.n, i));
        const pids = new Set(results.map((r) => r[0]!.pid));
        assert.ok(pids.size > 1, 'the statements ran on more than one server connection');
        const [row] = await sql.begin(async (tx) => {
          await tx`create temporary table t_pjs(a int) on commit drop`;
          await tx`insert into t_pjs values (${7})`;
          return tx`select a from t_pjs`;
        });
        assert.equal(row!.a, 7);
      } finally {
        await sql.end();
      }
    });

    test('DEALLOCATE ALL and DISCARD ALL drop the client\'s statements as PostgreSQL does; a new Parse works', async () => {
      for (const drop of ['DEALLOCATE ALL', 'DISCARD ALL']) {
        const c = client(t.gh);
        await c.connect();
        assert.equal((await c.query({ name: 'q', text: 'select 1 as one' })).rows[0].one, 1);
        await c.query(drop);
        // pg remembers it prepared "q" and sends only Bind: the statement is gone, as on a direct connection.
        const e = await errorOf(c.query({ name: 'q', text: 'select 1 as one' }));
        assert.equal(e.code, '26000');
        assert.equal(e.message, 'prepared statement "q" does not exist');
        assert.equal((await c.query({ name: 'q2', text: 'select 2 as two' })).rows[0].two, 2);
        await c.end();
      }
    });

    test('COPY out and COPY in (simple and extended protocol) release the server only when the copy is over', async () => {
      const c = client(t.gh);
      await c.connect();
      await c.query('create table if not exists copy_t (a int)');
      const out = await psql(`host=127.0.0.1 port=${t.gh.port} user=app dbname=postgres sslmode=disable`,
        'copy (select g from generate_series(1, 5000) g) to stdout', { password: PW });
      assert.equal(out.stdout.split('\n').length, 5000, out.stderr);
      // psql's \copy runs seq on the client side and sends COPY … FROM STDIN, CopyData, CopyDone.
      const inp = await psql(`host=127.0.0.1 port=${t.gh.port} user=app dbname=postgres sslmode=disable`,
        "\\copy copy_t from program 'seq 1 2000'", { password: PW });
      assert.equal(inp.stderr, '');
      assert.equal((await c.query('select count(*)::int as n, sum(a)::int as s from copy_t')).rows[0].n, 2000);
      const failed = await errorOf(c.query("copy copy_t from stdin"));
      assert.equal(failed.code, '57014', 'pg refuses COPY FROM STDIN without a stream: CopyFail, and the pool goes on');
      assert.equal((await c.query('select 1 as x')).rows[0].x, 1);
      await c.end();
    });

    test('a cancel reaches the server the client holds; a client holding none is not cancelled', async () => {
      const c = client(t.gh);
      const idle = client(t.gh);
      await c.connect();
      await idle.connect();
      const running = c.query('select pg_sleep(20)');
      await sleep(300);
      await cancel(t.gh, c);
      const e = await errorOf(running);
      assert.equal(e.code, '57014');
      assert.equal(e.message, 'canceling statement due to user request');
      await cancel(t.gh, idle);
      await sleep(200);
      assert.equal((await idle.query('select 1 as x')).rows[0].x, 1, 'a cancel for a client with no server is dropped');
      assert.equal((await c.query('select 2 as x')).rows[0].x, 2);
      await c.end();
      await idle.end();
    });
  });
}
