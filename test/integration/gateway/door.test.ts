/**
 * The door, end to end, against real PostgreSQL 15 and 18 with real clients (issue 2 §6):
 * psql verify-full + channel_binding=require, exact 28P01 / 28000, reject lines, md5, password,
 * cert auth with and without a map, direct TLS with libpq 18, CancelRequest, pg and postgres.js.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import pg from 'pg';
import postgres from 'postgres';
import { availableVersions, startCluster, type Cluster } from '../../harness/pg.js';
import { makeCertSet, type CertSet } from '../../harness/certs.js';
import { cancelRequest } from '../../../src/protocol/frontend/encode.js';
import { psql, startGatehouse, verifierOf, type Gatehouse } from './fixture.js';

const PW = 'app-secret-Ü-1';
const MD5PW = 'md5-secret-2';

for (const version of await availableVersions()) {
  describe(`door on PostgreSQL ${version}`, () => {
    let certs: CertSet;
    let cluster: Cluster;
    let gh: Gatehouse;
    const url = (extra: string): string => `host=localhost port=${gh.port} dbname=postgres ${extra}`;

    before(async () => {
      certs = await makeCertSet();
      cluster = await startCluster({ version, hba: 'host all olduser 127.0.0.1/32 md5\nhost all all 127.0.0.1/32 scram-sha-256\nlocal all all scram-sha-256' });
      await cluster.createRole('app', { password: PW });
      await cluster.createRole('olduser', { password: MD5PW, encryption: 'md5' });
      await cluster.createRole('clear', { password: 'clear-pw' });
      await cluster.createRole('certuser', { password: 'unused-cert-pw' });
      await cluster.createRole('mapped', { password: 'mapped-pw' });
      await cluster.createRole('banned', { password: 'banned-pw' });
      gh = await startGatehouse({
        cluster, certs, clientCa: true, unixSocket: true,
        hba: [
          'hostssl all banned 127.0.0.1/32 reject',
          'hostssl all app 127.0.0.1/32 scram-sha-256',
          'hostssl all olduser 127.0.0.1/32 md5',
          'hostssl all clear 127.0.0.1/32 password',
          'hostssl all certuser 127.0.0.1/32 cert',
          'hostssl all mapped 127.0.0.1/32 cert map=m',
          'local all app scram-sha-256',
          'hostssl all all 127.0.0.1/32 scram-sha-256',
        ].join('\n'),
        ident: 'm  client-of-mapped  mapped\n',
        users: [
          `"app" "${await verifierOf(cluster, 'app')}"`,
          `"olduser" "${await verifierOf(cluster, 'olduser')}"`,
          `"clear" "clear-pw"`,
          `"certuser" "unused-cert-pw"`,
          `"mapped" "mapped-pw"`,
        ],
      });
    });
    after(async () => {
      await gh?.stop();
      await cluster?.stop();
    });

    test('psql with sslmode=verify-full channel_binding=require gets in (SCRAM-SHA-256-PLUS)', async () => {
      const r = await psql(url(`user=app sslmode=verify-full sslrootcert=${certs.caCert} channel_binding=require`),
        'select current_user, ssl from pg_stat_ssl where pid = pg_backend_pid()', { password: PW });
      assert.equal(r.stderr, '');
      assert.equal(r.code, 0);
      assert.equal(r.stdout.split('|')[0], 'app');
      const ok = gh.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'connection authorized' && l.user === 'app');
      assert.ok(ok, 'the success is logged');
      assert.match(String(ok.hba), /pg_hba\.conf:2$/);
      assert.equal(ok.method, 'scram-sha-256');
      assert.match(String(ok.tls_version), /^TLSv1\.[23]$/);
    });

    test('a wrong password gets the exact 28P01, and an unknown role the same', async () => {
      for (const user of ['app', 'nosuchrole']) {
        const r = await psql(url(`user=${user} sslmode=require`), 'select 1', { password: 'wrong' });
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, new RegExp(`FATAL:  password authentication failed for user "${user}"$`, 'm'));
      }
      await assert.rejects(
        async () => {
          const c = new pg.Client({ host: '127.0.0.1', port: gh.port, user: 'app', password: 'wrong', database: 'postgres', ssl: { rejectUnauthorized: false } });
          try { await c.connect(); } finally { await c.end().catch(() => undefined); }
        },
        (e: { code?: string }) => e.code === '28P01',
      );
    });

    test('a plaintext client against hostssl lines gets the exact 28000', async () => {
      const r = await psql(url('user=app sslmode=disable'), 'select 1', { password: PW });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /FATAL:  no pg_hba\.conf entry for host "127\.0\.0\.1", user "app", database "postgres", no encryption/);
      const c = new pg.Client({ host: '127.0.0.1', port: gh.port, user: 'app', password: PW, database: 'postgres', ssl: false });
      await assert.rejects(c.connect(), (e: { code?: string }) => e.code === '28000');
    });

    test('a reject line refuses with 28000 "pg_hba.conf rejects connection"', async () => {
      const r = await psql(url('user=banned sslmode=require'), 'select 1', { password: 'banned-pw' });
      assert.match(r.stderr, /FATAL:  pg_hba\.conf rejects connection for host "127\.0\.0\.1", user "banned", database "postgres", SSL encryption/);
    });

    test('md5 line: an md5 secret gets the MD5 challenge, and a SCRAM secret SCRAM, as PostgreSQL does', async () => {
      const r = await psql(url('user=olduser sslmode=require require_auth=md5'), 'select current_user', { password: MD5PW, libpq18: true });
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, 'olduser');
      const bad = await psql(url('user=olduser sslmode=require'), 'select 1', { password: 'nope' });
      assert.match(bad.stderr, /password authentication failed for user "olduser"/);
    });

    test('password line: cleartext over TLS, and the password never reaches the log', async () => {
      const r = await psql(url('user=clear sslmode=require require_auth=password'), 'select current_user', { password: 'clear-pw', libpq18: true });
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, 'clear');
      assert.ok(!gh.logs.join('\n').includes('clear-pw'));
      assert.ok(!gh.logs.join('\n').includes(PW));
    });

    test('cert auth: CN equal to the user, and through a pg_ident map', async () => {
      const own = await certs.client('certuser');
      const r = await psql(url(`user=certuser sslmode=verify-full sslrootcert=${certs.caCert} sslcert=${own.cert} sslkey=${own.key}`), 'select current_user');
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, 'certuser');
      const mappedCert = await certs.client('client-of-mapped');
      const m = await psql(url(`user=mapped sslmode=verify-full sslrootcert=${certs.caCert} sslcert=${mappedCert.cert} sslkey=${mappedCert.key}`), 'select current_user');
      assert.equal(m.stderr, '');
      assert.equal(m.stdout, 'mapped');
      assert.ok(true, gh.logs.join('\n'));
      const wrong = await psql(url(`user=certuser sslmode=verify-full sslrootcert=${certs.caCert} sslcert=${mappedCert.cert} sslkey=${mappedCert.key}`), 'select 1');
      assert.match(wrong.stderr, /FATAL:  certificate authentication failed for user "certuser"/);
      const none = await psql(url(`user=certuser sslmode=verify-full sslrootcert=${certs.caCert}`), 'select 1');
      assert.match(none.stderr, /FATAL:  connection requires a valid client certificate/);
    });

    test('direct TLS (sslnegotiation=direct) works with libpq 18', async () => {
      const r = await psql(url(`user=app sslmode=verify-full sslrootcert=${certs.caCert} sslnegotiation=direct channel_binding=require`),
        'select current_user', { password: PW, libpq18: true });
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, 'app');
      const log = gh.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.tls_direct === true);
      assert.ok(log, 'a direct TLS connection was logged');
    });

    test('the Unix socket is matched by local lines', async () => {
      const r = await psql(`host=${gh.socketDir} port=${gh.port} dbname=postgres user=app`, 'select current_user', { password: PW });
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, 'app');
    });

    test('pg with enableChannelBinding and postgres.js connect and query', async () => {
      const c = new pg.Client({ host: 'localhost', port: gh.port, user: 'app', password: PW, database: 'postgres', ssl: { ca: await readCa(certs) }, enableChannelBinding: true });
      await c.connect();
      try {
        const r = await c.query<{ n: number }>('select 1 + 1 as n');
        assert.equal(r.rows[0]?.n, 2);
      } finally {
        await c.end();
      }
      const sql = postgres({ host: 'localhost', port: gh.port, user: 'app', password: PW, database: 'postgres', ssl: { ca: await readCa(certs) }, max: 1 });
      try {
        const rows = await sql<{ u: string }[]>`select current_user as u, ${'x'}::text as p`;
        assert.equal(rows[0]?.u, 'app');
      } finally {
        await sql.end();
      }
    });

    test('CancelRequest stops pg_sleep(10) within a second', async () => {
      const c = new pg.Client({ host: 'localhost', port: gh.port, user: 'app', password: PW, database: 'postgres', ssl: { ca: await readCa(certs) } });
      await c.connect();
      try {
        const started = Date.now();
        const q = c.query('select pg_sleep(10)');
        await new Promise((r) => setTimeout(r, 300));
        const { processID, secretKey } = c as unknown as { processID: number; secretKey: number };
        const key = Buffer.alloc(4);
        key.writeInt32BE(secretKey);
        await new Promise<void>((resolve) => {
          const s = connect({ host: '127.0.0.1', port: gh.port }, () => s.end(cancelRequest(processID, key)));
          s.on('close', () => resolve());
        });
        await assert.rejects(q, (e: { code?: string }) => e.code === '57014');
        assert.ok(Date.now() - started < 1300, `cancelled after ${Date.now() - started} ms`);
      } finally {
        await c.end();
      }
    });
  });
}

async function readCa(certs: CertSet): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return readFile(certs.caCert, 'utf8');
}
