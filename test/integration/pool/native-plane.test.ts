/**
 * The native transaction plane (`transaction_engine: native`, native/txplane.h): simple-protocol
 * transactions are linked, relayed and released on the relay thread; everything else goes back to
 * the JavaScript pool at a point where it can carry on. Each test checks what the server and the
 * client really saw, and that the plane (not the JavaScript pool) carried what it should.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { availableVersions, type PgVersion } from '../../harness/pg.js';
import { nativePlaneTotals, TxReason } from '../../../src/pool/native-plane.js';
import { nativeRelayStatus } from '../../../src/session/native-relay.js';
import { appBackends, cancel, client, connectedApps, errorField, errorOf, expectOwnAppNames, pgbench, rawSession, sleep, startPoolSetup, type PoolSetup } from './support.js';
import * as fe from '../../../src/protocol/frontend/encode.js';
import { eventually } from '../admin/console-support.js';

const available = nativeRelayStatus().available;

/** A describe with its own gatehouse (PoolSetup) in front of PostgreSQL `version`; `setup()` is it, once `before` has run. */
function withPlane(name: string, version: PgVersion, poolYaml: string, extraYaml: string, body: (setup: () => PoolSetup) => void,
  upstream: 'disable' | 'require' = 'disable'): void {
  describe(name, { skip: available ? false : 'the native relay is not built' }, () => {
    let t: PoolSetup | undefined;
    before(async () => {
      t = await startPoolSetup(version, poolYaml, extraYaml, [], upstream);
    });
    after(async () => {
      await t?.stop();
    });
    body(() => t!);
  });
}

for (const version of await availableVersions()) {
  describe(`the native transaction plane on PostgreSQL ${version}`, { skip: available ? false : 'the native relay is not built' }, () => {
    let t: PoolSetup;
    const pool = () => [...t.gh.gateway.pools.pools.values()][0]!;
    const snapshot = () => t.gh.gateway.pools.snapshot();
    /** Why the client linked to the server with this backend pid is pinned ('' when it is not; undefined when no client is linked to it). */
    const pinnedOn = (pid: number): string | undefined => snapshot().clients.find((r) => r.link === snapshot().servers.find((x) => x.remote_pid === pid)?.id)?.pinned;
    /** Advisory locks on `objid` held in the server right now. */
    const advisoryLocks = async (objid: number): Promise<number> =>
      Number((await t.cluster.query<{ n: string }>(`select count(*) as n from pg_locks where locktype = 'advisory' and objid = ${objid}`))[0]!.n);
    const noneIdleInTransaction = async (): Promise<boolean> => {
      const r = await t.cluster.query<{ n: string }>("select count(*) as n from pg_stat_activity where usename = 'app' and state like 'idle in transaction%'");
      return Number(r[0]!.n) === 0;
    };

    before(async () => {
      t = await startPoolSetup(version, '{mode: transaction, default_pool_size: 2, query_wait_timeout: 2s, idle_transaction_timeout: 3s}',
        'transaction_engine: native\n');
      await t.cluster.query('create table plane_t(a int)');
      await t.cluster.query('grant all on plane_t to app');
    });
    after(async () => {
      await t?.stop();
    });

    test('pgbench -S and the TPC-B-like script run on the plane: 0 failed, every transaction counted, no statement handed back', async () => {
      const init = await pgbench(t.gh, ['-i', '-s', '1', '-q']);
      assert.equal(init.code, 0, init.out);
      const before = { ...nativePlaneTotals, byReason: [...nativePlaneTotals.byReason] };
      const xactsBefore = pool().plane!.info(pool()).counters[0]!;
      let processed = 0;
      for (const args of [['-S'], []]) {
        const r = await pgbench(t.gh, [...args, '-c', '8', '-j', '2', '-T', '3', '-n']);
        assert.equal(r.code, 0, r.out);
        assert.match(r.out, /number of failed transactions: 0 \(0\.000%\)/, r.out);
        processed += Number(/number of transactions actually processed: (\d+)/.exec(r.out)![1]);
      }
      assert.ok(processed > 100);
      assert.ok(nativePlaneTotals.clients >= before.clients + 16, 'every pgbench client was lent to the plane');
      // Only to have parameters set: a server still carrying another client's application_name (TXR_SIGNATURE).
      assert.equal(nativePlaneTotals.byReason[0], before.byReason[0], `no statement went back to JavaScript (by reason: ${before.byReason} -> ${nativePlaneTotals.byReason})`);
      assert.ok(nativePlaneTotals.escalations - before.escalations < 16, `${nativePlaneTotals.escalations - before.escalations} hand-backs`);
      // TPC-B's transactions are BEGIN … END on one server: the plane counts one per ReadyForQuery 'I'. JavaScript
      // carried each client's first transaction (its login) and those handed back; pgbench does not count the
      // transaction each client had in flight when -T ran out (at most 16).
      const xacts = pool().plane!.info(pool()).counters[0]! - xactsBefore;
      const inJs = 16 + nativePlaneTotals.escalations - before.escalations;
      assert.ok(xacts <= processed + 16 && xacts >= processed - inJs, `the plane carried ${xacts} transactions for pgbench's ${processed}`);
      assert.ok(await appBackends(t.cluster) <= 2, 'never more than default_pool_size servers');
    });

    test('30 clients in explicit transactions on 2 servers: each keeps its own transaction, an error aborts only its own', async () => {
      const clients = Array.from({ length: 30 }, () => client(t.gh));
      await Promise.all(clients.map(async (c) => { await c.connect(); await c.query('select 1'); }));
      const before = { ...nativePlaneTotals, byReason: [...nativePlaneTotals.byReason] };
      const seen = new Set<string>();
      await Promise.all(clients.map(async (c, i) => {
        for (let round = 0; round < 5; round++) {
          await c.query('begin');
          const x = (await c.query('select txid_current()::text as x')).rows[0].x as string;
          await c.query(`insert into plane_t values (${i})`);
          await sleep(Math.floor(Math.random() * 3));
          assert.equal((await c.query('select txid_current()::text as x')).rows[0].x, x, `client ${i} stays in its transaction`);
          assert.ok(!seen.has(x), 'no two clients share a transaction');
          seen.add(x);
          if (round % 2 === 1) {
            // An error aborts the block (status E): later statements get 25P02 until ROLLBACK, as from PostgreSQL.
            assert.equal((await errorOf(c.query('select 1/0'))).code, '22012');
            assert.equal((await errorOf(c.query('select 1'))).code, '25P02');
            await c.query('rollback');
          } else {
            await c.query('commit');
          }
          assert.equal((await c.query('select now() = statement_timestamp() as fresh')).rows[0].fresh, true, 'the next statement is in no open transaction');
        }
      }));
      await Promise.all(clients.map((c) => c.end()));
      assert.equal(seen.size, 150);
      assert.equal(nativePlaneTotals.byReason[0], before.byReason[0], 'all of it ran on the plane');
      const counts = await t.cluster.query<{ a: number; n: string }>('select a, count(*) as n from plane_t group by a');
      // Rounds 0, 2 and 4 committed an insert each; 1 and 3 rolled theirs back.
      assert.equal(counts.length, 30);
      for (const r of counts) assert.equal(Number(r.n), 3, `client ${r.a}`);
      await t.cluster.query('delete from plane_t');
      assert.ok(await appBackends(t.cluster) <= 2);
    });

    test('a multi-statement Query goes back to JavaScript and the client comes back to the plane; a Parse per query, eight times, keeps it in JavaScript', async () => {
      const c = client(t.gh);
      await c.connect();
      await c.query('select 1');
      const before = { ...nativePlaneTotals };
      const multi = await c.query('select 1 as a; select 2 as b') as unknown as Array<{ rows: Array<Record<string, number>> }>;
      assert.deepEqual(multi.map((r) => r.rows[0]), [{ a: 1 }, { b: 2 }]);
      assert.equal(nativePlaneTotals.escalations, before.escalations + 1);
      assert.equal(nativePlaneTotals.clients, before.clients + 1, 'lent again after its transaction');
      assert.equal((await c.query('select 3 as n')).rows[0].n, 3);
      assert.equal(nativePlaneTotals.escalations, before.escalations + 1, 'the next simple query stayed on the plane');
      // pg sends an unnamed Parse with every parameterised query: each goes back to JavaScript, which prepares it.
      assert.equal((await c.query('select $1::int + 1 as n', [41])).rows[0].n, 42);
      assert.equal(nativePlaneTotals.escalations, before.escalations + 2);
      assert.equal(nativePlaneTotals.clients, before.clients + 2, 'lent again after its Parse');
      for (let i = 0; i < 10; i++) assert.equal((await c.query('select $1::int as n', [i])).rows[0].n, i);
      // The multi-statement Query and seven Parses make eight hand-backs: from then on it stays in JavaScript.
      assert.equal(nativePlaneTotals.escalations, before.escalations + 8);
      assert.equal(nativePlaneTotals.clients, before.clients + 7);
      await c.end();
    });

    test('named statements on the plane: Describe and Bind reach the server under its name; unknown names and Close go through JavaScript', async () => {
      const r = await rawSession(t.gh);
      r.send(fe.parse('s1', 'select $1::int + 1 as n', [23]), fe.sync);
      assert.deepEqual((await r.untilReady()).map((m) => m.type), ['1', 'Z']);
      const before = [...nativePlaneTotals.byReason];
      const message = () => nativePlaneTotals.byReason[TxReason.Message]! - before[TxReason.Message]!;
      r.send(fe.describe('S', 's1'), fe.sync);
      const d = await r.untilReady();
      assert.deepEqual(d.map((m) => m.type), ['t', 'T', 'Z']);
      assert.equal(d[0]!.body.readUInt32BE(2), 23, 'one int4 parameter');
      for (let i = 0; i < 3; i++) {
        r.send(fe.bind('', 's1', [Buffer.from(String(i))]), fe.describe('P', ''), fe.execute(), fe.sync);
        const m = await r.untilReady();
        assert.deepEqual(m.map((x) => x.type), ['2', 'T', 'D', 'C', 'Z']);
        assert.equal(m[2]!.body.toString('utf8', 6), String(i + 1));
      }
      assert.equal(message(), 0, 'Describe, Bind, Execute and Sync ran on the plane');
      // A name the client never prepared: the server's own 26000, naming it as the client did.
      r.send(fe.bind('', 'nope', []), fe.execute(), fe.sync);
      const e = await r.untilReady();
      assert.deepEqual(e.map((m) => m.type), ['E', 'Z']);
      assert.equal(errorField(e[0]!.body, 'C'), '26000');
      assert.equal(errorField(e[0]!.body, 'M'), 'prepared statement "nope" does not exist');
      assert.equal(message(), 1);
      r.send(fe.close('S', 's1'), fe.sync);
      assert.deepEqual((await r.untilReady()).map((m) => m.type), ['3', 'Z']);
      assert.equal(message(), 2, 'Close went back');
      r.send(fe.bind('', 's1', [Buffer.from('1')]), fe.execute(), fe.sync);
      const gone = await r.untilReady();
      assert.equal(errorField(gone[0]!.body, 'C'), '26000', 'closed for this client, though the server keeps it for others');
      await r.end();
    });

    test('a Bind or Describe of the unnamed statement after a simple Query gets PostgreSQL\'s 26000, not the noop Parse\'s empty statement', async () => {
      const r = await rawSession(t.gh);
      // In one transaction (one server): the second Parse of the same text is answered by a noop
      // `Parse "" ""`, which leaves the server an empty unnamed statement.
      r.send(fe.query('begin'));
      await r.untilReady();
      r.send(fe.parse('u1', 'select 3 as n'), fe.sync);
      await r.untilReady();
      r.send(fe.parse('u2', 'select 3 as n'), fe.sync);
      await r.untilReady();
      for (const m of [[fe.bind('', '', []), fe.execute(), fe.sync], [fe.describe('S', ''), fe.sync]]) {
        r.send(...m);
        const e = await r.untilReady();
        assert.deepEqual(e.map((x) => x.type), ['E', 'Z'], 'not BindComplete and EmptyQueryResponse');
        assert.equal(errorField(e[0]!.body, 'C'), '26000');
        assert.equal(errorField(e[0]!.body, 'M'), 'unnamed prepared statement does not exist');
        assert.equal(e[1]!.body.toString('latin1'), 'E', 'the transaction failed, as on a direct connection');
        r.send(fe.query('rollback'), fe.query('begin'));
        await r.untilReady();
        await r.untilReady();
        r.send(fe.parse('u3', 'select 3 as n'), fe.sync);
        await r.untilReady();
      }
      // The client's own unnamed statement still works.
      r.send(fe.parse('', 'select 4 as n'), fe.bind('', '', []), fe.execute(), fe.sync);
      const ok = await r.untilReady();
      assert.deepEqual(ok.map((x) => x.type), ['1', '2', 'D', 'C', 'Z']);
      assert.equal(ok[2]!.body.toString('utf8', 6), '4');
      r.send(fe.query('commit'));
      await r.untilReady();
      await r.end();
    });

    test('a batch a byte at a time, pipelined batches, a Flush: answered as PostgreSQL answers them', async () => {
      const r = await rawSession(t.gh);
      r.send(fe.parse('s3', 'select $1::text || \'!\' as s', [25]), fe.sync);
      await r.untilReady();
      const before = [...nativePlaneTotals.byReason];
      const batch = (v: string) => [fe.bind('', 's3', [Buffer.from(v)]), fe.execute(), fe.sync];
      await r.trickle(Buffer.concat(batch('slow')));
      const slow = await r.untilReady();
      assert.deepEqual(slow.map((m) => m.type), ['2', 'D', 'C', 'Z']);
      assert.equal(slow[1]!.body.toString('utf8', 6), 'slow!');
      assert.equal(nativePlaneTotals.byReason[TxReason.Message], before[TxReason.Message], 'carried on the plane, split or not');
      // Three batches in one write; the second names a statement this client never prepared.
      r.send(...batch('a'), fe.bind('', 'nope', []), fe.execute(), fe.sync, ...batch('c'));
      const a = await r.untilReady();
      const e = await r.untilReady();
      const c = await r.untilReady();
      assert.equal(a[1]!.body.toString('utf8', 6), 'a!');
      assert.deepEqual(e.map((m) => m.type), ['E', 'Z']);
      assert.equal(errorField(e[0]!.body, 'C'), '26000');
      assert.equal(c[1]!.body.toString('utf8', 6), 'c!');
      // A Flush asks for the answers so far without a Sync: they come, then the Sync's ReadyForQuery.
      r.send(fe.bind('', 's3', [Buffer.from('f')]), fe.execute(), fe.flush);
      assert.deepEqual([(await r.next()).type, (await r.next()).type, (await r.next()).type], ['2', 'D', 'C']);
      r.send(fe.sync);
      assert.deepEqual((await r.untilReady()).map((m) => m.type), ['Z']);
      await r.end();
    });

    test('a server that lacks the statement: the client goes back once, JavaScript prepares it there, then the plane carries it', async () => {
      const r = await rawSession(t.gh);
      const other = client(t.gh);
      await other.connect();
      await other.query('select 1');
      // r prepares inside a transaction on server S; other then takes S (the newest idle), so r's next Bind lands on T.
      r.send(fe.query('begin'));
      await r.untilReady();
      r.send(fe.parse('s2', 'select $1::int * 2 as n', [23]), fe.sync);
      await r.untilReady();
      r.send(fe.query('commit'));
      await r.untilReady();
      await other.query('begin');
      const held = await other.query<{ n: string }>("select count(*) as n from pg_prepared_statements where statement like '%$1::int * 2%'");
      assert.equal(held.rows[0]!.n, '1', 'other holds the server r prepared on');
      const before = [...nativePlaneTotals.byReason];
      r.send(fe.bind('', 's2', [Buffer.from('21')]), fe.execute(), fe.sync);
      const m = await r.untilReady();
      assert.deepEqual(m.map((x) => x.type), ['2', 'D', 'C', 'Z']);
      assert.equal(m[1]!.body.toString('utf8', 6), '42');
      assert.equal(nativePlaneTotals.byReason[TxReason.Prepare]! - before[TxReason.Prepare]!, 1, 'it went back to be prepared there');
      const lacked = await other.query<{ n: string }>("select count(*) as n from pg_prepared_statements where statement like '%$1::int * 2%'");
      assert.equal(lacked.rows[0]!.n, '1', 'still held where it was, not prepared twice');
      await other.query('commit');
      const after = [...nativePlaneTotals.byReason];
      for (let i = 0; i < 6; i++) {
        if (i % 2 === 0) await other.query('select 1');
        r.send(fe.bind('', 's2', [Buffer.from(String(i))]), fe.execute(), fe.sync);
        assert.equal((await r.untilReady())[1]!.body.toString('utf8', 6), String(2 * i));
      }
      assert.deepEqual(nativePlaneTotals.byReason, after, 'both servers hold it now: nothing goes back');
      await other.end();
      await r.end();
    });

    test('pgbench -M prepared runs on the plane: 0 failed, one hand-back per client for its Parse', async () => {
      const before = { ...nativePlaneTotals, byReason: [...nativePlaneTotals.byReason] };
      const xactsBefore = pool().plane!.info(pool()).counters[0]!;
      const r = await pgbench(t.gh, ['-S', '-M', 'prepared', '-c', '8', '-j', '2', '-T', '3', '-n']);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /number of failed transactions: 0 \(0\.000%\)/, r.out);
      const processed = Number(/number of transactions actually processed: (\d+)/.exec(r.out)![1]);
      const by = nativePlaneTotals.byReason.map((n, i) => n - before.byReason[i]!);
      assert.ok(by[TxReason.Message]! <= 8, `hand-backs by reason: ${by}`);
      assert.ok(by[TxReason.Prepare]! <= 2, `at most once per server: ${by}`);
      const xacts = pool().plane!.info(pool()).counters[0]! - xactsBefore;
      assert.ok(xacts >= processed - 8 - (nativePlaneTotals.escalations - before.escalations), `the plane carried ${xacts} of ${processed}`);
    });

    test('the plane carries transaction-level advisory locks and words that only contain "into"; a session-level lock still goes to JavaScript and pins', async () => {
      const a = client(t.gh);
      await a.connect();
      await a.query('select 1');
      const before = nativePlaneTotals.byReason[TxReason.Message]!;
      await a.query('begin');
      await a.query('select pg_advisory_xact_lock(77)');
      assert.equal(await advisoryLocks(77), 1, 'held inside the transaction');
      await a.query('commit');
      assert.equal(await advisoryLocks(77), 0, 'gone with it');
      assert.deepEqual((await a.query('select 1 as pinto, 2 as into_date')).rows, [{ pinto: 1, into_date: 2 }]);
      assert.equal(nativePlaneTotals.byReason[TxReason.Message]! - before, 0, 'nothing was handed back');
      await a.query('select pg_try_advisory_lock(78)');
      assert.equal(nativePlaneTotals.byReason[TxReason.Message]! - before, 1, 'the session-level lock was');
      const pid = (await a.query('select pg_backend_pid() as p')).rows[0].p as number;
      assert.equal(pinnedOn(pid), 'advisory lock');
      await a.query('select pg_advisory_unlock_all()');
      assert.equal(snapshot().clients.filter((r) => r.pinned !== '').length, 0, 'pg_advisory_unlock_all() frees it');
      await a.end();
    });

    test('SET and a session advisory lock pin the client to its server as before; RESET ALL and unlock free it', async () => {
      const a = client(t.gh);
      const b = client(t.gh);
      await a.connect();
      await b.connect();
      await a.query('select 1');
      await a.query("SET work_mem = '7MB'");
      const pid = (await a.query('select pg_backend_pid() as p')).rows[0].p as number;
      for (let i = 0; i < 5; i++) {
        const [ra, rb] = await Promise.all([
          a.query("select current_setting('work_mem') as w, pg_backend_pid() as p"),
          b.query("select current_setting('work_mem') as w"),
        ]);
        assert.deepEqual(ra.rows[0], { w: '7MB', p: pid }, 'the pinned client keeps its server and its SET');
        assert.equal(rb.rows[0].w, '4MB', 'no other client sees it');
      }
      assert.equal(pinnedOn(pid), 'SET');
      await a.query('RESET ALL');
      await a.query('select pg_advisory_lock(4242)');
      assert.equal(await advisoryLocks(4242), 1);
      assert.equal((await a.query('select pg_backend_pid() as p')).rows[0].p, pid, 'the lock pins it to the same backend');
      await a.query('select pg_advisory_unlock(4242)');
      await a.end();
      await b.end();
    });

    // Anything created in pg_temp is temporary, whatever the statement says (RangeVarAdjustRelationPersistence).
    for (const create of ['SELECT 41 + 1 AS n INTO TEMP gh_into_temp', 'CREATE TABLE pg_temp.gh_into_temp AS SELECT 41 + 1 AS n']) {
      test(`${create.split(' ').slice(0, 2).join(' ')} … temporary: JavaScript pins the client to the server that holds the table; DISCARD TEMP frees it`, async () => {
        const a = client(t.gh);
        const b = client(t.gh);
        await a.connect();
        await b.connect();
        await a.query('select 1');
        const before = nativePlaneTotals.byReason[TxReason.Message]!;
        await a.query(create);
        assert.equal(nativePlaneTotals.byReason[TxReason.Message]! - before, 1, 'the plane handed the statement back');
        const pid = (await a.query('select pg_backend_pid() as p')).rows[0].p as number;
        for (let i = 0; i < 5; i++) {
          const [ra] = await Promise.all([a.query('select n, pg_backend_pid() as p from gh_into_temp'), b.query('select pg_sleep(0.01)')]);
          assert.deepEqual(ra.rows[0], { n: 42, p: pid }, 'the table is there on every statement');
        }
        assert.equal(pinnedOn(pid), 'temporary table');
        await a.query('DISCARD TEMP');
        assert.equal(snapshot().clients.filter((r) => r.pinned !== '').length, 0, 'DISCARD TEMP unpins it');
        await a.end();
        await b.end();
      });
    }

    test('set_config() in a SELECT: the client keeps the value on whichever server it lands on next', async () => {
      const [a, b] = await connectedApps(t.gh, 'before', 'other');
      await a.query('select 1');
      await a.query("select set_config('application_name', 'after', false)");
      await expectOwnAppNames(a, 'after', b, 'other');
      await a.end();
      await b.end();
    });

    test('a client that leaves mid-transaction: its server is closed, the next client finds nothing open', async () => {
      const a = client(t.gh);
      await a.connect();
      await a.query('select 1');
      await a.query('begin');
      await a.query('insert into plane_t values (1)');
      (a as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
      await eventually(noneIdleInTransaction);
      const b = client(t.gh);
      await b.connect();
      assert.equal((await b.query('select count(*)::int as n from plane_t')).rows[0].n, 0, 'the insert was rolled back');
      assert.equal((await b.query('select now() = statement_timestamp() as fresh')).rows[0].fresh, true, 'not inside an open transaction');
      await b.end();
    });

    test('the server dies mid-transaction: the client gets "server conn crashed?", new transactions succeed', async () => {
      const a = client(t.gh);
      await a.connect();
      await a.query('select 1');
      await a.query('begin');
      const pid = (await a.query('select pg_backend_pid() as p')).rows[0].p as number;
      const seen: Array<{ code?: string; message: string }> = [];
      a.on('error', (err: Error & { code?: string }) => seen.push({ code: err.code, message: err.message }));
      await t.cluster.query(`select pg_terminate_backend(${pid})`);
      // The server's own FATAL reaches the client first (PgBouncer forwards it too), then gatehouse's.
      await eventually(() => seen.length > 0);
      assert.equal(seen[0]!.code, '57P01', JSON.stringify(seen));
      await errorOf(a.query('select 1'));
      const b = client(t.gh);
      await b.connect();
      assert.equal((await b.query('select 5 as n')).rows[0].n, 5);
      await b.end();
    });

    test('SHOW POOLS, CLIENTS and SERVERS show the plane\'s links; a waiting client gets query_wait_timeout', async () => {
      const holders = [client(t.gh), client(t.gh)];
      const waiter = client(t.gh);
      for (const c of [...holders, waiter]) {
        await c.connect();
        await c.query('select 1');
      }
      for (const c of holders) {
        await c.query('begin');
        await c.query('select 1');
      }
      const p = snapshot().pools[0]!;
      assert.equal(p.sv_active, 2, 'both servers are linked on the plane');
      const linked = snapshot().servers.filter((s) => s.link !== null);
      assert.equal(linked.length, 2);
      for (const s of linked) assert.equal(snapshot().clients.find((c) => c.id === s.link)?.link, s.id, 'server and client name each other');
      const waiting = waiter.query('select 2');
      await eventually(() => snapshot().pools[0]!.cl_waiting === 1);
      const e = await errorOf(waiting);
      assert.equal(e.code, '08P01');
      assert.match(e.message, /query_wait_timeout/);
      for (const c of holders) {
        await c.query('commit');
        await c.end();
      }
      await eventually(() => snapshot().pools[0]!.sv_active === 0);
    });

    test('idle_transaction_timeout closes a client idle in a transaction on the plane; its session counts what the plane carried', async () => {
      const ends: Array<{ reason: string; queries: number; bytesIn: number }> = [];
      const onEnd = (e: { reason: string; bytes_in: number; counters?: { queries: number } }): void =>
        void ends.push({ reason: e.reason, queries: e.counters?.queries ?? -1, bytesIn: e.bytes_in });
      t.gh.gateway.events.on('session.end', onEnd);
      const a = client(t.gh);
      await a.connect();
      await a.query('select 1');
      await a.query('select 2');
      await a.query('begin');
      const seen: Array<{ code?: string; message: string }> = [];
      a.on('error', (err: Error & { code?: string }) => seen.push({ code: err.code, message: err.message }));
      await eventually(() => seen.length > 0, 6000);
      assert.deepEqual(seen[0], { code: '08P01', message: 'idle transaction timeout' });
      await eventually(noneIdleInTransaction);
      await eventually(() => ends.some((e) => e.reason === 'idle transaction timeout'));
      t.gh.gateway.events.off('session.end', onEnd);
      const end = ends.find((e) => e.reason === 'idle transaction timeout')!;
      // select 1 in JavaScript, then select 2 and begin on the plane: three queries, and their bytes.
      assert.equal(end.queries, 3, JSON.stringify(end));
      assert.equal(end.bytesIn, 14 + 14 + 11, 'two 14-byte Queries and an 11-byte one');
    });

    test('a cancel reaches the server a plane client holds', async () => {
      const a = client(t.gh);
      await a.connect();
      await a.query('select 1');
      const running = errorOf(a.query('select pg_sleep(10)'));
      await eventually(() => snapshot().pools[0]!.sv_active >= 1);
      await sleep(100);
      await cancel(t.gh, a);
      const e = await running;
      assert.equal(e.code, '57014');
      assert.equal((await a.query('select 1 as n')).rows[0].n, 1);
      await a.end();
    });

    // Last in this suite: it leaves the pool in statement mode.
    test('a reload to statement mode takes the plane\'s clients and servers back: a BEGIN then gets PgBouncer\'s FATAL', async () => {
      const idle = client(t.gh);
      const busy = client(t.gh);
      for (const c of [idle, busy]) {
        await c.connect();
        await c.query('select 1');
      }
      await busy.query('begin');
      await busy.query('select 1');
      await eventually(() => pool().nativeClients >= 2);
      const before = nativePlaneTotals.byReason[TxReason.Recall]!;
      const yaml = await readFile(t.gh.configPath, 'utf8');
      await writeFile(t.gh.configPath, yaml.replace('mode: transaction', 'mode: statement'));
      assert.equal(t.gh.gateway.reload().ok, true);
      await eventually(() => pool().nativeClients === 0 && pool().lent.size === 0);
      assert.ok(nativePlaneTotals.byReason[TxReason.Recall]! - before >= 2, 'both came back as recalled');
      assert.equal((await idle.query('select 2 as n')).rows[0].n, 2);
      assert.equal(pool().nativeClients, 0, 'and are not lent again');
      assert.match((await errorOf(idle.query('begin'))).message, /transaction blocks not allowed in statement pooling mode/);
      // busy was in a transaction on the plane: it goes on in JavaScript, where statement mode ends it.
      assert.match((await errorOf(busy.query('select 3'))).message, /transaction blocks not allowed in statement pooling mode/);
      await eventually(noneIdleInTransaction);
    });
  });

  withPlane(`prepared statements in order of use on the plane, PostgreSQL ${version}`, version, '{mode: transaction, default_pool_size: 1, max_prepared_statements: 2}', 'transaction_engine: native\n', (setup) => {

    test('the LRU evicts what nobody used, not what the plane used', async () => {
      const t = setup();
      const r = await rawSession(t.gh);
      r.send(fe.parse('a', 'select 1 as a'), fe.parse('b', 'select 2 as b'), fe.sync);
      await r.untilReady();
      const before = nativePlaneTotals.byReason[TxReason.Message]!;
      for (let i = 0; i < 3; i++) {
        r.send(fe.bind('', 'a', []), fe.execute(), fe.sync);
        assert.deepEqual((await r.untilReady()).map((m) => m.type), ['2', 'D', 'C', 'Z']);
      }
      assert.equal(nativePlaneTotals.byReason[TxReason.Message], before, '"a" ran on the plane');
      // A third statement on the one server (max_prepared_statements: 2) evicts the least recently used.
      r.send(fe.parse('c', 'select 3 as c'), fe.sync);
      await r.untilReady();
      r.send(fe.query("select string_agg(statement, ' | ' order by statement) as s from pg_prepared_statements"));
      const rows = await r.untilReady();
      const d = rows.find((m) => m.type === 'D')!;
      assert.equal(d.body.toString('utf8', 6), 'select 1 as a | select 3 as c');
      await r.end();
    });
  });

  withPlane(`the janitor on the native transaction plane, PostgreSQL ${version}`, version, '{mode: transaction, default_pool_size: 2, client_idle_timeout: 1500ms, server_idle_timeout: 1500ms}', 'transaction_engine: native\n', (setup) => {

    // The janitor reads the thread's rows in place (NativePlane.scan): the clients' and the idle servers' timeouts both come from it.
    test('client_idle_timeout ends an idle client on the plane, and server_idle_timeout closes the idle server it left there', async () => {
      const t = setup();
      const lent = nativePlaneTotals.clients;
      const c = client(t.gh);
      const seen: Array<{ code?: string; message: string }> = [];
      c.on('error', (e: Error & { code?: string }) => seen.push({ code: e.code, message: e.message }));
      await c.connect();
      assert.equal((await c.query('select 1 as n')).rows[0].n, 1);
      await eventually(() => nativePlaneTotals.clients > lent);
      const pool = [...t.gh.gateway.pools.pools.values()][0]!;
      assert.equal(pool.lent.size, 1, 'its server is idle on the plane');
      assert.equal(await appBackends(t.cluster), 1);
      await eventually(() => seen.length > 0, 6000);
      assert.deepEqual(seen[0], { code: '08P01', message: 'client_idle_timeout' });
      await eventually(async () => pool.lent.size === 0 && (await appBackends(t.cluster)) === 0, 6000);
    });
  });

  withPlane(`a lent client's socket, PostgreSQL ${version}`, version, '{mode: transaction, default_pool_size: 2}', 'transaction_engine: native\nguard: {max_connections_per_source: 2}\n', (setup) => {

    // Node's socket is let go when the plane takes a client (PooledClient#park); its 'close' listeners, the guard's count among
    // them, must still run when the client ends on the plane, and move to the new socket when the plane gives the client back.
    test('the guard\'s per-source count follows clients that end on the plane, and clients given back with a new socket', async () => {
      const t = setup();
      /** A connected client; a refusal (53300: the source's two slots are taken) is retried while earlier clients' ends come through. */
      const connected = async (): Promise<ReturnType<typeof client>> => {
        const until = Date.now() + 5000;
        for (;;) {
          const c = client(t.gh);
          const e = await c.connect().then(() => null, (err: Error & { code?: string }) => err);
          if (!e) return c;
          if (e.code !== '53300' || Date.now() > until) throw e;
          await sleep(50);
        }
      };
      for (let round = 0; round < 3; round++) {
        const lent = nativePlaneTotals.clients;
        const escalations = nativePlaneTotals.escalations;
        const a = await connected();
        const b = await connected();
        assert.equal((await a.query('select 1 as n')).rows[0].n, 1);
        assert.equal((await b.query('select 2 as n')).rows[0].n, 2);
        await eventually(() => nativePlaneTotals.clients >= lent + 2);
        // b goes back to JavaScript (SET is session state) on a socket made from the plane's descriptor.
        await b.query("set application_name = 'given-back'");
        assert.ok(nativePlaneTotals.escalations > escalations, 'b was given back');
        assert.equal((await b.query('show application_name')).rows[0].application_name, 'given-back');
        assert.equal((await a.query('select 3 as n')).rows[0].n, 3);
        const refused = await errorOf(client(t.gh).connect());
        assert.equal(refused.code, '53300', 'two connections from this source are open');
        // a ends on the plane, b in JavaScript: the next round's two clients need both slots back.
        await a.end();
        await b.end();
      }
    });
  });

  withPlane(`the native transaction plane with TLS to PostgreSQL ${version}`, version, '{mode: transaction, default_pool_size: 1}', 'transaction_engine: native\n', (setup) => {

    test('a TLS server leg is not lent, so neither are its clients: they share the one server in JavaScript', async () => {
      const t = setup();
      const before = nativePlaneTotals.clients;
      const a = client(t.gh);
      const b = client(t.gh);
      await a.connect();
      await b.connect();
      for (let i = 0; i < 10; i++) {
        const [ra, rb] = await Promise.all([a.query('select $1::int as n, ssl from pg_stat_ssl where pid = pg_backend_pid()', [i]), b.query('select 2 as n')]);
        assert.deepEqual(ra.rows[0], { n: i, ssl: true });
        assert.equal(rb.rows[0].n, 2);
        assert.equal((await a.query('select 1 as n')).rows[0].n, 1);
      }
      assert.equal(nativePlaneTotals.clients, before, 'no client was lent to the plane');
      await a.end();
      await b.end();
    });
  }, 'require');
}
