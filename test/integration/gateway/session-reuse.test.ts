/**
 * Session-mode server reuse (native/reuse.h, src/pool/session-servers.ts), as PgBouncer does it:
 * a client that leaves its server idle leaves it, after DISCARD ALL, to the next client with the
 * same database, role and startup parameters. Checked against real PostgreSQL: the backend pid
 * the next client sees, that nothing of the last session survives, and that a server left busy
 * (in a transaction, mid-query, or with an unsynced extended-protocol message) is never reused.
 * Each test uses its own application_name, so its servers are its own.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { readFile } from 'node:fs/promises';
import { availableVersions, startCluster, type Cluster } from '../../harness/pg.js';
import { makeCertSet, type CertSet } from '../../harness/certs.js';
import { startGatehouse, verifierOf, type Gatehouse } from './fixture.js';
import { byName, eventually, psqlTable } from '../admin/console-support.js';

const PW = 'reuse-pw-1';
const ADMIN_PW = 'reuse-admin-1';

/** A Parse message for the unnamed statement with no Sync after it (protocol-message-formats). */
function parseMessage(sql: string): Buffer {
  const body = Buffer.concat([Buffer.from('\0'), Buffer.from(`${sql}\0`), Buffer.from([0, 0])]);
  const head = Buffer.alloc(5);
  head[0] = 0x50;
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

const versions = await availableVersions();

for (const version of versions) {
  describe(`session-mode server reuse on PostgreSQL ${version}`, () => {
    let certs: CertSet;
    let cluster: Cluster;
    let gh: Gatehouse;
    /** Idle servers kept for clients with this application_name. */
    const kept = (app: string): number => gh.gateway.pools.sessionServers.idle().filter((v) => v.applicationName === app).length;
    const connect = async (app: string, db = 'postgres'): Promise<pg.Client> => {
      const c = new pg.Client({ host: '127.0.0.1', port: gh.port, user: 'app', password: PW, database: db, application_name: app });
      await c.connect();
      return c;
    };
    const pidOf = async (c: pg.Client): Promise<number> => (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const alive = async (pid: number): Promise<boolean> =>
      (await cluster.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [pid]))[0]!.n === 1;
    /** One client's session: its backend pid. */
    const oneSession = async (app: string, work?: (c: pg.Client) => Promise<unknown>): Promise<number> => {
      const c = await connect(app);
      const pid = await pidOf(c);
      await work?.(c);
      await c.end();
      return pid;
    };

    before(async () => {
      certs = await makeCertSet();
      cluster = await startCluster({ version, hba: 'host all all 127.0.0.1/32 scram-sha-256\nlocal all all trust' });
      await cluster.createRole('app', { password: PW });
      await cluster.query('CREATE TABLE reuse_rows (x int)');
      await cluster.query('GRANT ALL ON reuse_rows TO app');
      gh = await startGatehouse({
        cluster, certs,
        hba: 'host all all 127.0.0.1/32 scram-sha-256',
        users: [`"app" "${await verifierOf(cluster, 'app')}"`, `"admin1" "${ADMIN_PW}"`],
        extraYaml: 'admin: {users: [admin1]}',
      });
    });
    after(async () => {
      await gh?.stop();
      await cluster?.stop();
    });

    test('the next client with the same parameters gets the same backend, and nothing of the last session', async () => {
      const pid = await oneSession('same', async (c) => {
        await c.query("SET work_mem = '77MB'");
        await c.query("SET DateStyle = 'German'");
        await c.query('CREATE TEMP TABLE gone (x int)');
        await c.query('PREPARE p AS SELECT 1');
        await c.query('LISTEN ch');
        await c.query('SELECT pg_advisory_lock(42)');
      });
      await eventually(() => kept('same') === 1);
      const c = await connect('same');
      try {
        assert.equal(await pidOf(c), pid, 'the second client got the first one\'s server');
        const r = await c.query(`SELECT current_setting('work_mem') AS wm, current_setting('DateStyle') AS ds,
          (SELECT count(*) FROM pg_prepared_statements)::int AS prepared, (SELECT count(*) FROM pg_listening_channels())::int AS listening,
          (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory')::int AS locks, to_regclass('pg_temp.gone') IS NULL AS no_temp`);
        assert.deepEqual(r.rows[0], { wm: '4MB', ds: 'ISO, MDY', prepared: 0, listening: 0, locks: 0, no_temp: true });
        assert.equal(kept('same'), 0, 'the server is in use, not idle');
      } finally {
        await c.end();
      }
    });

    test('a client that leaves without a query leaves its server too', async () => {
      const c = await connect('no-query');
      await c.end();
      await eventually(() => kept('no-query') === 1);
      const [row] = await cluster.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = 'no-query'");
      assert.equal(await oneSession('no-query'), row!.pid, 'the next client got that server');
    });

    test('a client with other startup parameters gets its own server', async () => {
      const pid = await oneSession('first-app');
      await eventually(() => kept('first-app') === 1);
      const other = await oneSession('second-app');
      assert.notEqual(other, pid);
      assert.equal(await alive(pid), true, 'the first server still waits for its own kind of client');
      assert.equal(await oneSession('first-app'), pid);
    });

    test('a client that leaves inside a transaction: the server ends and the transaction rolls back', async () => {
      const pid = await oneSession('in-xact', async (c) => {
        await c.query('BEGIN');
        await c.query('INSERT INTO reuse_rows VALUES (1)');
      });
      await eventually(async () => !(await alive(pid)));
      assert.equal(kept('in-xact'), 0);
      const rows = await cluster.query<{ n: number }>('SELECT count(*)::int AS n FROM reuse_rows');
      assert.equal(rows[0]!.n, 0);
      assert.notEqual(await oneSession('in-xact'), pid);
    });

    test('a client that vanishes mid-query: the server is not kept', async () => {
      const c = await connect('mid-query');
      const pid = await pidOf(c);
      c.on('error', () => undefined);
      const running = c.query('SELECT pg_sleep(2)').catch(() => undefined);
      await eventually(async () => (await cluster.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1 AND state = 'active'", [pid]))[0]!.n === 1);
      (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
      await running;
      await eventually(async () => !(await alive(pid)));
      assert.equal(kept('mid-query'), 0);
    });

    test('a client that leaves after an extended-protocol message without Sync: the server is not kept', async () => {
      const c = await connect('unsynced');
      const pid = await pidOf(c);
      const stream = (c as unknown as { connection: { stream: { write(b: Buffer): boolean } } }).connection.stream;
      stream.write(parseMessage('SELECT 2'));
      await new Promise((r) => setTimeout(r, 100));
      await c.end();
      await eventually(async () => !(await alive(pid)));
      assert.equal(kept('unsynced'), 0);
    });

    test('a kept server the server side ends is dropped, and the next client gets a new one', async () => {
      const pid = await oneSession('terminated');
      await eventually(() => kept('terminated') === 1);
      await cluster.query('SELECT pg_terminate_backend($1)', [pid]);
      await eventually(() => kept('terminated') === 0);
      const c = await connect('terminated');
      try {
        assert.notEqual(await pidOf(c), pid);
        assert.equal((await c.query('SELECT 1 AS one')).rows[0].one, 1);
      } finally {
        await c.end();
      }
    });

    test('SHOW SERVERS lists a kept server as idle and SHOW POOLS counts it in sv_idle', async () => {
      const pid = await oneSession('shown');
      await eventually(() => kept('shown') === 1);
      const admin = (sql: string) => psqlTable(`host=127.0.0.1 port=${gh.port} dbname=gatehouse user=admin1 sslmode=disable`, sql, ADMIN_PW);
      const server = byName(await admin('SHOW SERVERS')).find((r) => r.remote_pid === String(pid));
      assert.ok(server, 'the kept server is listed');
      assert.deepEqual([server.state, server.user, server.database, server.application_name, server.link], ['idle', 'app', 'postgres', 'shown', '']);
      const pool = byName(await admin('SHOW POOLS')).find((r) => r.database === 'postgres' && r.user === 'app');
      assert.equal(pool?.sv_idle, String(gh.gateway.pools.sessionServers.idle().length));
    });

    test('RECONNECT closes the servers kept for reuse', async () => {
      const pid = await oneSession('reconnect');
      await eventually(() => kept('reconnect') === 1);
      await psqlTable(`host=127.0.0.1 port=${gh.port} dbname=gatehouse user=admin1 sslmode=disable`, 'RECONNECT', ADMIN_PW);
      assert.equal(kept('reconnect'), 0);
      await eventually(async () => !(await alive(pid)));
    });

    test('TLS clients on the native TLS engine leave their server for the next one too', async () => {
      const tls = await startGatehouse({
        cluster, certs, hba: 'hostssl all all 127.0.0.1/32 scram-sha-256',
        users: [`"app" "${await verifierOf(cluster, 'app')}"`], extraYaml: 'tls_engine: native',
      });
      try {
        const ca = await readFile(certs.caCert, 'utf8');
        const session = async (): Promise<number> => {
          const c = new pg.Client({ host: 'localhost', port: tls.port, user: 'app', password: PW, database: 'postgres',
            application_name: 'tls', ssl: { ca }, enableChannelBinding: true });
          await c.connect();
          const pid = await pidOf(c);
          await c.end();
          return pid;
        };
        const pid = await session();
        await eventually(() => tls.gateway.pools.sessionServers.idle().length === 1);
        assert.equal(await session(), pid);
      } finally {
        await tls.stop();
      }
      await eventually(async () => (await cluster.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'tls'"))[0]!.n === 0);
    });

    test('a kept server that does not answer server_check_query is dropped, and the client gets a new one', async () => {
      const checked = await startGatehouse({
        cluster, certs, hba: 'host all all 127.0.0.1/32 scram-sha-256', users: [`"app" "${await verifierOf(cluster, 'app')}"`],
        extraYaml: 'pool: {server_check_delay: 0, server_connect_timeout: 1}',
      });
      const session = async (): Promise<number> => {
        const c = new pg.Client({ host: '127.0.0.1', port: checked.port, user: 'app', password: PW, database: 'postgres', application_name: 'checked' });
        await c.connect();
        const pid = await pidOf(c);
        await c.end();
        return pid;
      };
      let stopped = 0;
      try {
        const pid = await session();
        await eventually(() => checked.gateway.pools.sessionServers.idle().length === 1);
        assert.equal(await session(), pid, 'a server that answers its check is reused');
        await eventually(() => checked.gateway.pools.sessionServers.idle().length === 1);
        // A backend that no longer answers (a stand-in for a server gone without a FIN).
        process.kill(pid, 'SIGSTOP');
        stopped = pid;
        const started = Date.now();
        const other = await session();
        assert.notEqual(other, pid);
        assert.ok(Date.now() - started >= 900, 'the check waited for server_connect_timeout');
        await eventually(() => checked.gateway.pools.sessionServers.idle().length === 1); // only the new server
      } finally {
        if (stopped) process.kill(stopped, 'SIGCONT');
        await checked.stop();
      }
    });

    test('a query sent one byte at a time is followed across reads: the server is still reused', async () => {
      const pid = await oneSession('bytewise', async (c) => {
        const stream = (c as unknown as { connection: { stream: { write(b: Buffer | string, ...rest: unknown[]): boolean } } }).connection.stream;
        const write = stream.write.bind(stream);
        let pieces = 0;
        // The next Query goes out byte by byte, 2 ms apart, so the relay reads its header and body in pieces.
        stream.write = (b: Buffer | string): boolean => {
          const bytes = Buffer.from(b);
          stream.write = write;
          void (async () => {
            for (const byte of bytes) {
              write(Buffer.from([byte]));
              pieces++;
              await new Promise((r) => setTimeout(r, 2));
            }
          })();
          return true;
        };
        assert.equal((await c.query('SELECT 42 AS answer')).rows[0].answer, 42);
        assert.equal(pieces, 5 + 'SELECT 42 AS answer'.length + 1, 'the Query went out one byte at a time');
      });
      await eventually(() => kept('bytewise') === 1);
      assert.equal(await oneSession('bytewise'), pid);
    });

    /** A gatehouse of its own with these pool settings; `session(app)` is one client's session, its backend pid. */
    const withPool = async (pool: string): Promise<{ gh: Gatehouse; session(app: string): Promise<number>; idle(app: string): number }> => {
      const own = await startGatehouse({
        cluster, certs, hba: 'host all all 127.0.0.1/32 scram-sha-256', users: [`"app" "${await verifierOf(cluster, 'app')}"`], extraYaml: `pool: ${pool}`,
      });
      return {
        gh: own,
        async session(app) {
          const c = new pg.Client({ host: '127.0.0.1', port: own.port, user: 'app', password: PW, database: 'postgres', application_name: app });
          await c.connect();
          const pid = await pidOf(c);
          await c.end();
          return pid;
        },
        idle: (app) => own.gateway.pools.sessionServers.idle().filter((v) => v.applicationName === app).length,
      };
    };

    test('the reset\'s ParameterStatus values are what the kept server reports (the relay reads the reply)', async () => {
      const own = await withPool(`{server_reset_query: "SET application_name = 'after-reset'"}`);
      try {
        const pid = await own.session('before-reset');
        await eventually(() => own.idle('after-reset') === 1);
        assert.equal(own.idle('before-reset'), 0);
        const r = await cluster.query<{ app: string }>('SELECT application_name AS app FROM pg_stat_activity WHERE pid = $1', [pid]);
        assert.equal(r[0]?.app, 'after-reset', 'the server ran the reset query');
      } finally {
        await own.gh.stop();
      }
    });

    for (const c of [
      { what: 'fails', pool: '{server_reset_query: "SELECT 1/0"}', app: 'reset-fails' },
      // Still running the reset past the timeout: never kept, closed (the backend ends once pg_sleep does).
      { what: 'does not answer within server_connect_timeout', pool: '{server_reset_query: "SELECT pg_sleep(2)", server_connect_timeout: 0.3}', app: 'reset-slow' },
    ]) {
      test(`a server whose reset ${c.what} is closed, not kept: the next client gets a new backend`, async () => {
        const own = await withPool(c.pool);
        try {
          const pid = await own.session(c.app);
          await new Promise((r) => setTimeout(r, 800));
          assert.equal(own.idle(c.app), 0, 'not kept');
          await eventually(async () => !(await alive(pid)), 10_000);
          assert.equal(own.idle(c.app), 0);
          assert.notEqual(await own.session(c.app), pid);
        } finally {
          await own.gh.stop();
        }
      });
    }

    test('many clients in a row share one backend', async () => {
      const pids = new Set<number>();
      for (let i = 0; i < 20; i++) {
        pids.add(await oneSession('row'));
        await eventually(() => kept('row') === 1);
      }
      assert.equal(pids.size, 1);
    });
  });
}
