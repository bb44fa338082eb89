/**
 * Least privilege at the door (issue 6), against real PostgreSQL with real clients: every refusal
 * is checked on the server side — the table's contents, and the server's own log of every statement
 * it received (log_statement = all) — never only by what the client saw. Each case runs in
 * transaction pooling and in session pooling, in the simple and the extended protocol, outside and
 * inside a transaction block. The roles are superusers: the server would run anything they send.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { availableVersions } from '../../harness/pg.js';
import { psql } from '../gateway/fixture.js';
import { PW, client, errorOf, startDoor, type DoorSetup } from './door-support.js';

const POLICY = `policy:
  readers: {users: [ro, ro_s], read_only: true, deny_functions: [dangerous], deny_copy_program: true}
  writers: {users: [ao, ao_s], allow_only: [SELECT, INSERT]}
`;
const DENIED = 'permission denied by gatehouse policy: ';

for (const version of await availableVersions()) {
  describe(`door policy on PostgreSQL ${version}`, () => {
    let t: DoorSetup;
    const rows = async (): Promise<number[]> =>
      (await t.cluster.query<{ n: number }>('SELECT n FROM door_t ORDER BY n')).map((r) => r.n);

    before(async () => {
      t = await startDoor(version, ['ro', 'ro_s', 'ao', 'ao_s'], POLICY);
      await t.cluster.query('CREATE TABLE door_t (n int); INSERT INTO door_t VALUES (1), (2), (3)');
    });
    after(async () => {
      await t?.stop();
    });

    for (const [mode, s] of [['transaction', ''], ['session', '_s']] as const) {
      test(`${mode} pooling, simple protocol: read_only refuses writes, hidden writes, DDL and ROLE; SELECT runs`, async () => {
        const mark = await t.serverLogMark();
        const c = client(t.gh, `ro${s}`);
        await c.connect();
        const refused: [string, string][] = [
          ['INSERT INTO door_t VALUES (901)', 'read_only refuses INSERT'],
          ['UPDATE door_t SET n = 902 WHERE n = 1', 'read_only refuses UPDATE'],
          ['DELETE FROM door_t WHERE n > 0 AND 903 = 903', 'read_only refuses DELETE'],
          ['WITH d AS (DELETE FROM door_t WHERE 904 = 904 RETURNING n) SELECT count(*) FROM d', 'read_only refuses SELECT'],
          ['EXPLAIN ANALYZE DELETE FROM door_t WHERE 905 = 905', 'read_only refuses EXPLAIN'],
          ['CREATE TABLE door_906 (n int)', 'read_only refuses CREATE TABLE'],
          ["ALTER ROLE ao VALID UNTIL '2999-09-07'", 'read_only refuses ALTER ROLE'],
        ];
        for (const [sql, why] of refused) {
          assert.deepEqual(await errorOf(c.query(sql)), { code: '42501', message: `${DENIED}readers: ${why}` }, sql);
        }
        assert.deepEqual((await c.query('SELECT count(*)::int AS n FROM door_t WHERE 907 = 907')).rows, [{ n: 3 }]);
        await c.end();
        assert.deepEqual(await rows(), [1, 2, 3]);
        const log = await t.serverLogSince(mark);
        assert.ok(log.includes('WHERE 907 = 907'), 'the allowed SELECT reached the server (the log check works)');
        for (const [sql] of refused) assert.ok(!log.includes(sql), `never sent: ${sql}`);
        assert.equal((await t.cluster.query("SELECT to_regclass('door_906') AS r"))[0]?.r, null);
      });

      test(`${mode} pooling, extended protocol: refusals at Execute, named statements refused each time`, async () => {
        const mark = await t.serverLogMark();
        const c = client(t.gh, `ro${s}`);
        await c.connect();
        const e1 = await errorOf(c.query('INSERT INTO door_t VALUES ($1) /* 911 */', [911]));
        assert.deepEqual(e1, { code: '42501', message: `${DENIED}readers: read_only refuses INSERT` });
        for (let i = 0; i < 2; i++) {
          const e = await errorOf(c.query({ name: 'upd912', text: 'UPDATE door_t SET n = $1 WHERE n = 1 /* 912 */', values: [912] }));
          assert.deepEqual(e, { code: '42501', message: `${DENIED}readers: read_only refuses UPDATE` });
        }
        const e3 = await errorOf(c.query('SELECT pg_ls_dir($1) /* 913 */', ['.']));
        assert.deepEqual(e3, { code: '42501', message: `${DENIED}readers: deny_functions refuses pg_ls_dir` });
        assert.deepEqual((await c.query('SELECT n FROM door_t WHERE n = $1 /* 914 */', [2])).rows, [{ n: 2 }]);
        await c.end();
        assert.deepEqual(await rows(), [1, 2, 3]);
        const log = await t.serverLogSince(mark);
        assert.ok(log.includes('/* 914 */'), 'the allowed SELECT reached the server');
        for (const m of ['/* 911 */', '/* 912 */', '/* 913 */']) assert.ok(!log.includes(m), `never sent: ${m}`);
      });

      test(`${mode} pooling: deny_functions in a SELECT and deny_copy_program`, async () => {
        const mark = await t.serverLogMark();
        const marker = join(tmpdir(), `gatehouse-copy-program-${process.pid}-${mode}`);
        const c = client(t.gh, `ro${s}`);
        await c.connect();
        assert.deepEqual(await errorOf(c.query("SELECT length(pg_read_file('/etc/hostname')) AS n /* 921 */")),
          { code: '42501', message: `${DENIED}readers: deny_functions refuses pg_read_file` });
        assert.deepEqual(await errorOf(c.query(`COPY door_t TO PROGRAM 'touch ${marker}'`)),
          { code: '42501', message: `${DENIED}readers: deny_copy_program refuses COPY … PROGRAM` });
        assert.deepEqual((await c.query('SELECT upper($1) AS u', ['ok'])).rows, [{ u: 'OK' }]);
        await c.end();
        assert.equal(existsSync(marker), false, 'the program never ran');
        const log = await t.serverLogSince(mark);
        assert.ok(!log.includes('/* 921 */') && !log.includes(marker), 'neither reached the server');
      });

      test(`${mode} pooling: a refusal fails an open transaction block as PostgreSQL would (simple protocol)`, async () => {
        const mark = await t.serverLogMark();
        const c = client(t.gh, `ao${s}`);
        await c.connect();
        await c.query('BEGIN');
        await c.query('INSERT INTO door_t VALUES (931)');
        assert.deepEqual(await errorOf(c.query('DELETE FROM door_t WHERE n = 932')),
          { code: '42501', message: `${DENIED}writers: allow_only does not list DELETE` });
        const next = await errorOf(c.query('SELECT 1'));
        assert.equal(next.code, '25P02');
        assert.equal((await c.query('COMMIT')).command, 'ROLLBACK');
        assert.deepEqual((await c.query('SELECT 1 AS x')).rows, [{ x: 1 }], 'the session goes on');
        await c.end();
        assert.deepEqual(await rows(), [1, 2, 3], 'the INSERT before the refusal was rolled back');
        const log = await t.serverLogSince(mark);
        assert.ok(log.includes('INSERT INTO door_t VALUES (931)'), 'the INSERT did reach the server');
        assert.ok(!log.includes('n = 932'), 'the refused DELETE never did');
      });

      test(`${mode} pooling: a refusal fails an open transaction block as PostgreSQL would (extended protocol)`, async () => {
        const mark = await t.serverLogMark();
        const c = client(t.gh, `ao${s}`);
        await c.connect();
        await c.query('BEGIN');
        await c.query('INSERT INTO door_t VALUES ($1)', [941]);
        assert.deepEqual(await errorOf(c.query('DELETE FROM door_t WHERE n = $1 /* 942 */', [942])),
          { code: '42501', message: `${DENIED}writers: allow_only does not list DELETE` });
        assert.equal((await errorOf(c.query('SELECT $1::int AS x', [1]))).code, '25P02');
        assert.equal((await c.query('COMMIT')).command, 'ROLLBACK');
        await c.end();
        assert.deepEqual(await rows(), [1, 2, 3]);
        const log = await t.serverLogSince(mark);
        assert.ok(log.includes('INSERT INTO door_t VALUES ($1)'));
        assert.ok(!log.includes('/* 942 */'));
      });

      test(`${mode} pooling: a multi-statement text with one refused part runs nothing; allow_only`, async () => {
        const mark = await t.serverLogMark();
        const c = client(t.gh, `ao${s}`);
        await c.connect();
        assert.deepEqual(await errorOf(c.query('INSERT INTO door_t VALUES (951); DELETE FROM door_t WHERE n = 952')),
          { code: '42501', message: `${DENIED}writers: allow_only does not list DELETE` });
        assert.deepEqual(await errorOf(c.query('DROP TABLE door_t')),
          { code: '42501', message: `${DENIED}writers: allow_only does not list DROP TABLE` });
        assert.deepEqual((await c.query('SELECT count(*)::int AS n FROM door_t')).rows, [{ n: 3 }]);
        await c.end();
        assert.deepEqual(await rows(), [1, 2, 3]);
        const log = await t.serverLogSince(mark);
        assert.ok(!log.includes('VALUES (951)') && !log.includes('DROP TABLE'), 'nothing of either text reached the server');
      });
    }

    test('a replication connection is not inspected: its commands are the replication protocol\'s, not SQL', async () => {
      const r = await psql(`host=127.0.0.1 port=${t.gh.port} user=ro dbname=postgres sslmode=disable replication=database`, 'IDENTIFY_SYSTEM', { password: PW });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^\d+\|\d+\|/);
    });

    test('psql and postgres.js get the same refusal; the log line names the rule, not the statement', async () => {
      const mark = await t.serverLogMark();
      const r = await psql(`host=127.0.0.1 port=${t.gh.port} user=ro dbname=postgres sslmode=disable`, 'DELETE FROM door_t WHERE n = 961', { password: PW });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /ERROR: {2}permission denied by gatehouse policy: readers: read_only refuses DELETE/);
      const sql = postgres({ host: '127.0.0.1', port: t.gh.port, user: 'ro_s', password: PW, database: 'postgres', ssl: false, onnotice: () => undefined });
      try {
        const e = await errorOf(sql`DELETE FROM door_t WHERE n = ${962}`);
        assert.deepEqual(e, { code: '42501', message: `${DENIED}readers: read_only refuses DELETE` });
        assert.deepEqual([...await sql`SELECT count(*)::int AS n FROM door_t WHERE n > ${0}`], [{ n: 3 }]);
      } finally {
        await sql.end();
      }
      assert.deepEqual(await rows(), [1, 2, 3]);
      const log = await t.serverLogSince(mark);
      assert.ok(!log.includes('n = 961') && !log.includes('DELETE FROM door_t WHERE n = $1'));
      assert.ok(t.gh.logs.some((l) => l.includes('"msg":"statement refused by policy"') && l.includes('read_only refuses DELETE')), 'logged');
      assert.ok(!t.gh.logs.some((l) => l.includes('n = 961')), 'the log line carries no statement text');
    });
  });
}
