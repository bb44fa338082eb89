/**
 * The native session relay (native/relay.c, src/session/native-relay.ts) with real PostgreSQL and
 * real clients: which sessions it carries (plaintext TCP and Unix, not TLS, not with
 * relay_engine: node), that its counters match pgbench's, large COPYs both ways byte for byte, and
 * every way a session ends (client hang-up, the server killed, KILL_CLIENT, cancel, shutdown).
 * `nativeRelayTotals` counts the sessions the addon carried, so a silent fallback to the
 * JavaScript relay fails these tests.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { availableVersions, clientBin, startCluster, type Cluster } from '../../harness/pg.js';
import { runClient } from '../../harness/pg-process.js';
import { makeCertSet, type CertSet } from '../../harness/certs.js';
import { nativeTlsInTests, psql, startGatehouse, verifierOf, type Gatehouse } from './fixture.js';
import { byName, eventually, psqlBackground, psqlTable } from '../admin/console-support.js';
import { nativeRelayStatus, nativeRelayTotals } from '../../../src/session/native-relay.js';
import type { SessionEndEvent } from '../../../src/events.js';

const PW = 'native-pw-1';
const ADMIN_PW = 'native-admin-1';


/** 300,000 COPY text lines (about 30 MB), deterministic. */
function copyData(): Buffer {
  const lines: string[] = [];
  for (let i = 1; i <= 300_000; i++) lines.push(`${i}\t${(i * 2654435761 >>> 0).toString(16).padStart(8, '0').repeat(11)}\n`);
  return Buffer.from(lines.join(''));
}

const versions = await availableVersions();

describe('the native relay is built', () => {
  test('the addon loads (npm install builds it with node-gyp)', () => {
    // A worktree whose node_modules was copied has no build/: `node scripts/build-native.mjs` builds it.
    assert.deepEqual(nativeRelayStatus(), { available: true, detail: 'native relay available' },
      'the native relay is not built: run npm install (or node scripts/build-native.mjs)');
  });
});

for (const version of versions) {
  describe(`native session relay on PostgreSQL ${version}`, () => {
    let certs: CertSet;
    let cluster: Cluster;
    let gh: Gatehouse;
    const ends: SessionEndEvent[] = [];
    const tcp = (db = 'postgres', ssl = 'disable'): string => `host=127.0.0.1 port=${gh.port} dbname=${db} user=app sslmode=${ssl}`;
    const admin = (sql: string) => psqlTable(`host=127.0.0.1 port=${gh.port} dbname=gatehouse user=admin1 sslmode=disable`, sql, ADMIN_PW);
    const stats = async (db: string): Promise<Record<string, string>> => byName(await admin('SHOW STATS')).find((r) => r.database === db) ?? {};
    /** Waits for the next session.end after `since` events. */
    const endAfter = async (since: number): Promise<SessionEndEvent> => {
      await eventually(() => ends.slice(since).some((e) => e.user === 'app'));
      return ends.slice(since).find((e) => e.user === 'app')!;
    };
    const backendPid = async (query: string): Promise<number> => {
      let pid = 0;
      await eventually(async () => {
        const rows = await cluster.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE query = $1', [query]);
        pid = rows[0]?.pid ?? 0;
        return pid !== 0;
      });
      return pid;
    };

    before(async () => {
      certs = await makeCertSet();
      cluster = await startCluster({ version, hba: 'host all all 127.0.0.1/32 scram-sha-256\nlocal all all trust' });
      await cluster.createRole('app', { password: PW });
      await cluster.query('CREATE DATABASE appdb OWNER app');
      gh = await startGatehouse({
        cluster, certs, unixSocket: true,
        hba: ['host all all 127.0.0.1/32 scram-sha-256', 'hostssl all all 127.0.0.1/32 scram-sha-256', 'local all all scram-sha-256'].join('\n'),
        users: [`"app" "${await verifierOf(cluster, 'app')}"`, `"admin1" "${ADMIN_PW}"`],
        extraYaml: 'admin: {users: [admin1]}',
      });
      gh.gateway.events.on('session.end', (e) => ends.push(e));
    });
    after(async () => {
      await gh?.stop();
      await cluster?.stop();
    });

    test('plaintext TCP and Unix-socket sessions are carried natively; a TLS session by the JavaScript relay', async () => {
      const before = nativeRelayTotals.started;
      const n = ends.length;
      const plain = await psql(tcp(), 'select 1', { password: PW });
      assert.equal(plain.stdout, '1', plain.stderr);
      assert.equal(nativeRelayTotals.started, before + 1);
      const end = await endAfter(n);
      assert.equal(end.reason, 'client closed');
      assert.ok(end.bytes_in > 0 && end.bytes_out > 0);
      assert.equal(end.counters?.xacts, 1);
      const unix = await psql(`host=${gh.socketDir} port=${gh.port} dbname=postgres user=app`, 'select 2', { password: PW });
      assert.equal(unix.stdout, '2', unix.stderr);
      assert.equal(nativeRelayTotals.started, before + 2);
      const tls = await psql(tcp('postgres', 'require'), 'select 3', { password: PW });
      assert.equal(tls.stdout, '3', tls.stderr);
      if (nativeTlsInTests()) assert.equal(nativeRelayTotals.started, before + 3, 'tls_engine: native relays TLS natively too');
      else assert.equal(nativeRelayTotals.started, before + 2, 'the TLS session stays with the JavaScript relay');
      await eventually(() => nativeRelayTotals.ended === nativeRelayTotals.started);
    });

    test('an ErrorResponse on a native session is reported with its SQLSTATE (server.error)', async () => {
      const seen: string[] = [];
      const on = (e: { sqlstate: string }): void => void seen.push(e.sqlstate);
      gh.gateway.events.on('server.error', on);
      try {
        const started = nativeRelayTotals.started;
        const r = await psql(tcp(), 'select 1/0', { password: PW });
        assert.match(r.stderr, /ERROR:  division by zero/);
        assert.equal(nativeRelayTotals.started, started + 1);
        await eventually(() => seen.length > 0);
        assert.deepEqual(seen, ['22012']);
      } finally {
        gh.gateway.events.off('server.error', on);
      }
    });

    test('SHOW STATS counts pgbench -S transactions relayed natively exactly', async () => {
      const init = await runClient(clientBin('pgbench'), ['-i', '-s', '1', '-q', '-h', cluster.socketDir, '-p', String(cluster.port), '-U', 'app', 'appdb'], {});
      assert.equal(init.code, 0, init.stderr);
      const s0 = await stats('appdb');
      const started = nativeRelayTotals.started;
      const r = await runClient(clientBin('pgbench'), ['-S', '-n', '-c', '4', '-j', '2', '-t', '200', '-h', '127.0.0.1', '-p', String(gh.port), '-U', 'app', 'appdb'],
        { PGPASSWORD: PW, PGSSLMODE: 'disable' });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /number of transactions actually processed: 800\/800/);
      // pgbench's own first connection (scale and partition queries) plus its 4 clients.
      assert.equal(nativeRelayTotals.started, started + 5);
      await eventually(() => nativeRelayTotals.ended === nativeRelayTotals.started);
      const s1 = await stats('appdb');
      const delta = (k: string): number => Number(s1[k]) - Number(s0[k] ?? 0);
      assert.equal(delta('total_xact_count'), 802);
      assert.equal(delta('total_query_count'), 802);
      assert.equal(delta('total_server_assignment_count'), 5);
      assert.ok(delta('total_received') > 800 * 20, `received ${delta('total_received')}`);
      assert.ok(delta('total_query_time') > 0);
    });

    test('pgbench -C (a new native session per transaction): every relay starts, ends and is counted', async () => {
      const s0 = await stats('appdb');
      const started = nativeRelayTotals.started;
      const r = await runClient(clientBin('pgbench'), ['-S', '-n', '-C', '-c', '4', '-j', '2', '-t', '50', '-h', '127.0.0.1', '-p', String(gh.port), '-U', 'app', 'appdb'],
        { PGPASSWORD: PW, PGSSLMODE: 'disable' });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /number of transactions actually processed: 200\/200/);
      assert.equal(nativeRelayTotals.started, started + 201);
      await eventually(() => nativeRelayTotals.ended === nativeRelayTotals.started);
      const s1 = await stats('appdb');
      assert.equal(Number(s1.total_xact_count) - Number(s0.total_xact_count), 202);
      assert.equal(Number(s1.total_server_assignment_count) - Number(s0.total_server_assignment_count), 201);
    });

    test('a 30 MB COPY in and back out arrives byte for byte', async () => {
      const data = copyData();
      const inFile = join(gh.dir, 'copy-in.txt');
      const outFile = join(gh.dir, 'copy-out.txt');
      await writeFile(inFile, data);
      const s0 = await stats('appdb');
      const started = nativeRelayTotals.started;
      const r = await psql(tcp('appdb'), `create table big (id int primary key, v text)`, { password: PW });
      assert.equal(r.stderr, '');
      const copyIn = await psql(tcp('appdb'), `\\copy big from '${inFile}'`, { password: PW, timeoutMs: 120_000 });
      assert.equal(copyIn.stderr, '');
      assert.equal(copyIn.stdout, 'COPY 300000');
      const copyOut = await psql(tcp('appdb'), `\\copy (select * from big order by id) to '${outFile}'`, { password: PW, timeoutMs: 120_000 });
      assert.equal(copyOut.stderr, '');
      assert.ok((await readFile(outFile)).equals(data), 'COPY TO returned what COPY FROM sent');
      assert.equal(nativeRelayTotals.started, started + 3);
      await eventually(() => nativeRelayTotals.ended === nativeRelayTotals.started);
      const s1 = await stats('appdb');
      assert.ok(Number(s1.total_received) - Number(s0.total_received) > data.length);
      assert.ok(Number(s1.total_sent) - Number(s0.total_sent) > data.length);
    });

    test('a client that hangs up mid-query: the server connection is closed', async () => {
      const n = ends.length;
      const started = nativeRelayTotals.started;
      const victim = psqlBackground(tcp(), 'select pg_sleep(1.5)', PW);
      await backendPid('select pg_sleep(1.5)');
      assert.equal(nativeRelayTotals.started, started + 1);
      victim.child.kill('SIGKILL');
      assert.equal((await endAfter(n)).reason, 'client closed');
      // Once its sleep is over the backend finds its connection closed and exits.
      await eventually(async () => (await cluster.query('SELECT 1 FROM pg_stat_activity WHERE query = $1', ['select pg_sleep(1.5)'])).length === 0);
    });

    test('the server killed mid-session: the client gets its FATAL', async () => {
      const n = ends.length;
      const victim = psqlBackground(tcp(), 'select pg_sleep(30)', PW);
      const pid = await backendPid('select pg_sleep(30)');
      await cluster.query('SELECT pg_terminate_backend($1)', [pid]);
      const v = await victim.done;
      assert.notEqual(v.code, 0);
      assert.match(v.stderr, /FATAL:  terminating connection due to administrator command/);
      assert.equal((await endAfter(n)).reason, 'server closed');
    });

    test('KILL_CLIENT ends a native session with FATAL 08P01 "admin forced disconnect"', async () => {
      const n = ends.length;
      const started = nativeRelayTotals.started;
      const victim = psqlBackground(tcp(), 'select pg_sleep(30)', PW);
      await backendPid('select pg_sleep(30)');
      assert.equal(nativeRelayTotals.started, started + 1);
      const id = byName(await admin('SHOW CLIENTS')).find((r) => r.user === 'app')?.id ?? '';
      assert.notEqual(id, '');
      assert.equal((await admin(`KILL_CLIENT ${id}`)).stderr, '');
      const v = await victim.done;
      assert.match(v.stderr, /FATAL:  admin forced disconnect/);
      assert.equal((await endAfter(n)).reason, 'closed by gatehouse');
    });

    test('Ctrl-C (CancelRequest) cancels a query on a native session', async () => {
      const started = nativeRelayTotals.started;
      const victim = psqlBackground(tcp(), 'select pg_sleep(10)', PW);
      await backendPid('select pg_sleep(10)');
      assert.equal(nativeRelayTotals.started, started + 1);
      victim.child.kill('SIGINT');
      const v = await victim.done;
      assert.match(v.stderr, /ERROR:  canceling statement due to user request/);
    });

    test('SHOW CLIENTS shows the last request of a native session', async () => {
      const started = nativeRelayTotals.started;
      const c = new pg.Client({ host: '127.0.0.1', port: gh.port, user: 'app', password: PW, database: 'postgres', ssl: false });
      await c.connect();
      try {
        // request_time has one-second resolution: the query comes a second after the login.
        await new Promise((r) => setTimeout(r, 1100));
        await c.query('select 1');
        assert.equal(nativeRelayTotals.started, started + 1);
        const row = byName(await admin('SHOW CLIENTS')).find((r) => r.user === 'app');
        assert.ok(row, 'the session is listed');
        assert.ok(row.request_time! > row.connect_time!, `request_time ${row.request_time}, connect_time ${row.connect_time}`);
      } finally {
        await c.end();
      }
    });
  });

  describe(`relay_engine on PostgreSQL ${version}`, () => {
    let certs: CertSet;
    let cluster: Cluster;
    let node: Gatehouse;
    let auto: Gatehouse;
    before(async () => {
      certs = await makeCertSet();
      cluster = await startCluster({ version, hba: 'host all all 127.0.0.1/32 scram-sha-256' });
      await cluster.createRole('app', { password: PW });
      const o = { cluster, certs, hba: 'host all all 127.0.0.1/32 scram-sha-256', users: [`"app" "${await verifierOf(cluster, 'app')}"`] };
      node = await startGatehouse({ ...o, extraYaml: 'relay_engine: node' });
      auto = await startGatehouse(o);
    });
    after(async () => {
      await node?.stop();
      await auto?.stop();
      await cluster?.stop();
    });

    test('relay_engine: node keeps every session on the JavaScript relay', async () => {
      const started = nativeRelayTotals.started;
      const r = await psql(`host=127.0.0.1 port=${node.port} dbname=postgres user=app sslmode=disable`, 'select 7', { password: PW });
      assert.equal(r.stdout, '7', r.stderr);
      assert.equal(nativeRelayTotals.started, started);
    });

    test('a fast shutdown ends native sessions with 57P01', async () => {
      const started = nativeRelayTotals.started;
      const victim = psqlBackground(`host=127.0.0.1 port=${auto.port} dbname=postgres user=app sslmode=disable`, 'select pg_sleep(30)', PW);
      await eventually(() => nativeRelayTotals.started === started + 1);
      await auto.gateway.shutdown('fast');
      const v = await victim.done;
      assert.match(v.stderr, /FATAL:  terminating connection due to administrator command/);
      await eventually(() => nativeRelayTotals.ended === nativeRelayTotals.started);
    });
  });
}
