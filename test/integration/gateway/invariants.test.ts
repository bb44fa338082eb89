/**
 * DESIGN.md security invariants 1, 2, 4, 5, 6 and 7, each with a test that fails if it breaks
 * (3 is covered by the SCRAM unit tests: nonce prefix, GS2 header, iteration bounds,
 * timingSafeEqual). A counting TCP proxy sits between gatehouse and PostgreSQL.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { startCluster, freePort, type Cluster } from '../../harness/pg.js';
import { makeCertSet, type CertSet } from '../../harness/certs.js';
import { gssencRequest, passwordMessage, saslInitialResponse, saslResponse, sslRequest, startupMessage } from '../../../src/protocol/frontend/encode.js';
import { MessageFramer } from '../../../src/protocol/framer.js';
import { backendMessageCap } from '../../../src/protocol/codes.js';
import { decodeAuthentication, decodeErrorResponse } from '../../../src/protocol/backend/decode.js';
import { FrameReader } from '../../../src/session/reader.js';
import { ScramClient } from '../../../src/auth/scram/client.js';
import { psql, startGatehouse, verifierOf, type Gatehouse } from './fixture.js';

const PW = 'invariant-pw';

/** A TCP proxy that counts connections and bytes in each direction. */
async function countingProxy(targetPort: number): Promise<{ port: number; conns: number; up: number; down: number; server: Server; reset(): void }> {
  const port = await freePort();
  const stats = { port, conns: 0, up: 0, down: 0, server: null as unknown as Server, reset() { this.conns = this.up = this.down = 0; } };
  stats.server = createServer((c: Socket) => {
    stats.conns++;
    const s = connect({ host: '127.0.0.1', port: targetPort });
    c.on('data', (d) => { stats.up += d.length; s.write(d); });
    s.on('data', (d) => { stats.down += d.length; c.write(d); });
    c.on('close', () => s.destroy());
    s.on('close', () => c.destroy());
    c.on('error', () => s.destroy());
    s.on('error', () => c.destroy());
  });
  await new Promise<void>((r) => stats.server.listen(port, '127.0.0.1', () => r()));
  return stats;
}

/** Opens a raw socket, sends `bytes`, returns everything received until the server closes (or timeout). */
function exchange(port: number, bytes: Buffer, timeoutMs = 3000): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = connect({ host: '127.0.0.1', port }, () => s.write(bytes));
    const timer = setTimeout(() => { s.destroy(); resolve({ data: Buffer.concat(chunks), closed: false }); }, timeoutMs);
    s.on('data', (d) => chunks.push(d));
    s.on('close', () => { clearTimeout(timer); resolve({ data: Buffer.concat(chunks), closed: true }); });
    s.on('error', () => undefined);
  });
}

describe('security invariants (PostgreSQL 18)', () => {
  let certs: CertSet;
  let cluster: Cluster;
  let proxy: Awaited<ReturnType<typeof countingProxy>>;
  let gh: Gatehouse;

  before(async () => {
    certs = await makeCertSet();
    cluster = await startCluster({ version: 18 });
    await cluster.createRole('app', { password: PW });
    proxy = await countingProxy(cluster.port);
    gh = await startGatehouse({
      cluster, certs, upstreamPort: proxy.port,
      hba: 'host all app,nobody 127.0.0.1/32 scram-sha-256\nhost all trusted 127.0.0.1/32 trust\nhost all clear 127.0.0.1/32 password\n',
      users: [`"app" "${await verifierOf(cluster, 'app')}"`],
      extraYaml: 'guard: {max_handshakes_per_source: 4}',
    });
  });
  after(async () => {
    await gh?.stop();
    proxy?.server.close();
    await cluster?.stop();
  });

  test('1: no byte reaches the server before the client authenticated', async () => {
    proxy.reset();
    const bad = await psql(`host=127.0.0.1 port=${gh.port} user=app dbname=postgres sslmode=disable`, 'select 1', { password: 'wrong' });
    assert.match(bad.stderr, /28P01|password authentication failed/);
    const nobody = await psql(`host=127.0.0.1 port=${gh.port} user=nobody dbname=postgres sslmode=disable`, 'select 1', { password: 'x' });
    assert.match(nobody.stderr, /password authentication failed for user "nobody"/);
    const nohba = await psql(`host=127.0.0.1 port=${gh.port} user=other dbname=postgres sslmode=disable`, 'select 1');
    assert.match(nohba.stderr, /no pg_hba\.conf entry/);
    assert.deepEqual([proxy.conns, proxy.up, proxy.down], [0, 0, 0], 'the upstream saw nothing');
    const ok = await psql(`host=127.0.0.1 port=${gh.port} user=app dbname=postgres sslmode=disable`, 'select 42', { password: PW });
    assert.equal(ok.stdout, '42');
    assert.equal(proxy.conns, 1, 'the upstream saw exactly the admitted client');
  });

  test('2: the startup packet is capped at 10,000 bytes and closed before it is buffered', async () => {
    const len = Buffer.alloc(4);
    len.writeInt32BE(10_001);
    const r = await exchange(gh.port, len);
    assert.ok(r.closed, 'closed on the length word alone');
    const ok = Buffer.alloc(8);
    ok.writeInt32BE(7);
    assert.ok((await exchange(gh.port, ok)).closed, 'a length below 8 is refused too');
  });

  test('2: a second SSLRequest is refused as PostgreSQL refuses it', async () => {
    // Over TLS a repeated SSLRequest is "unsupported frontend protocol 1234.5679".
    const raw = connect({ host: '127.0.0.1', port: gh.port });
    await new Promise((r) => raw.once('connect', r));
    raw.write(sslRequest);
    await new Promise((r) => raw.once('data', r));
    const t = tlsConnect({ socket: raw, rejectUnauthorized: false });
    await new Promise((r) => t.once('secureConnect', r));
    const got: Buffer[] = [];
    t.on('data', (d: Buffer) => got.push(d));
    t.write(sslRequest);
    await new Promise((r) => t.once('close', r));
    const text = Buffer.concat(got).toString('latin1');
    assert.match(text, /0A000/);
    assert.match(text, /unsupported frontend protocol 1234\.5679: server supports 3\.0 to 3\.0/);
  });

  test('2: the handshake has a deadline (authentication_timeout)', async () => {
    const started = Date.now();
    const r = await exchange(gh.port, Buffer.from([0, 0, 0]), 10_000); // a partial startup packet, then silence
    assert.ok(r.closed);
    const took = Date.now() - started;
    assert.ok(took >= 4500 && took < 8000, `closed after ${took} ms with authentication_timeout 5s`);
  });

  test('2: concurrent handshakes per source address are capped; other sources are unaffected', async () => {
    const open = (): Promise<{ socket: ReturnType<typeof connect>; got: Buffer[]; closedWithin: (ms: number) => Promise<boolean> }> =>
      new Promise((resolve) => {
        const got: Buffer[] = [];
        const socket = connect({ host: '127.0.0.1', port: gh.port, localAddress: '127.0.0.2' }, () => {
          let closed = false;
          socket.on('close', () => (closed = true));
          socket.on('error', () => undefined);
          socket.on('data', (d: Buffer) => got.push(d));
          resolve({ socket, got, closedWithin: async (ms) => { await new Promise((r) => setTimeout(r, ms)); return closed; } });
        });
      });
    const held = [await open(), await open(), await open(), await open()];
    const fifth = await open();
    assert.equal(await fifth.closedWithin(300), true, 'the fifth handshake from 127.0.0.2 is closed at once');
    const fatal = decodeErrorResponse(Buffer.concat(fifth.got).subarray(5));
    assert.deepEqual([fatal.code, fatal.message], ['53300', 'too many unauthenticated connections from host "127.0.0.2"'],
      'with a 53300 FATAL sent before reading anything, as PostgreSQL sends "sorry, too many clients already"');
    for (const h of held) assert.equal(await h.closedWithin(0), false, 'the first four are still open');
    const ok = await psql(`host=127.0.0.1 port=${gh.port} user=app dbname=postgres sslmode=disable`, 'select 1', { password: PW });
    assert.equal(ok.stdout, '1', '127.0.0.1 still gets in');
    assert.ok(gh.logs.some((l) => l.includes('connection refused by guard') && l.includes('127.0.0.2')));
    for (const h of held) h.socket.destroy();
    // The slots free when the gateway sees those sockets close; give a loaded machine time.
    await new Promise((r) => setTimeout(r, 500));
    const again = await open();
    assert.equal(await again.closedWithin(200), false, 'slots are released when handshakes end');
    again.socket.destroy();
  });

  test('direct TLS without ALPN "postgresql" is closed; with it, the startup proceeds', async () => {
    const attempt = (alpn: string[] | undefined): Promise<string> => new Promise((resolve) => {
      const t = tlsConnect({ host: '127.0.0.1', port: gh.port, rejectUnauthorized: false, ...(alpn ? { ALPNProtocols: alpn } : {}) });
      const got: Buffer[] = [];
      t.on('secureConnect', () => t.write(startupMessage(new Map([['user', 'app'], ['database', 'postgres']]))));
      t.on('data', (d: Buffer) => { got.push(d); t.destroy(); });
      t.on('error', () => undefined);
      t.on('close', () => resolve(Buffer.concat(got).toString('latin1')));
    });
    assert.equal(await attempt(undefined), '', 'no ALPN: closed without a reply');
    assert.match(await attempt(['postgresql']), /^R.*SCRAM-SHA-256-PLUS/s, 'ALPN postgresql: SCRAM (with PLUS) is offered');
  });

  test('GSSENCRequest is answered N and the startup goes on; 3.2 and _pq_ options get NegotiateProtocolVersion', async () => {
    const startup32 = startupMessage(new Map([['user', 'app'], ['database', 'postgres'], ['_pq_.fancy', 'on']]), 2);
    const r = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      const s = connect({ host: '127.0.0.1', port: gh.port }, () => s.write(gssencRequest));
      s.once('data', (d: Buffer) => {
        chunks.push(d);
        s.write(startup32);
        s.on('data', (more: Buffer) => { chunks.push(more); if (Buffer.concat(chunks).includes('SCRAM-SHA-256')) s.destroy(); });
      });
      s.on('close', () => resolve(Buffer.concat(chunks)));
      s.on('error', () => undefined);
    });
    assert.equal(String.fromCharCode(r[0]!), 'N');
    assert.equal(String.fromCharCode(r[1]!), 'v', 'NegotiateProtocolVersion first');
    assert.equal(r.readInt32BE(6), 0x30000, 'newest version gatehouse speaks: 3.0');
    assert.equal(r.readInt32BE(10), 1, 'one unsupported option');
    assert.match(r.toString('latin1'), /_pq_\.fancy\0R/);
  });

  /** A raw frontend: sends frames, reads backend messages with the codec. */
  async function rawClient(user: string): Promise<{ send(b: Buffer): void; next(): Promise<{ type: string; body: Buffer }>; close(): void }> {
    const sock = connect({ host: '127.0.0.1', port: gh.port });
    await new Promise((r) => sock.once('connect', r));
    sock.on('error', () => undefined);
    const reader = new FrameReader(sock);
    const framer = new MessageFramer(backendMessageCap);
    sock.write(startupMessage(new Map([['user', user], ['database', 'postgres']])));
    return {
      send: (b) => sock.write(b),
      next: async () => { const f = await reader.read(framer); return { type: String.fromCharCode(f.type), body: f.body }; },
      close: () => sock.destroy(),
    };
  }

  test('a SASLInitialResponse without data gets an empty challenge and the exchange goes on (auth-sasl.c)', async () => {
    const c = await rawClient('app');
    try {
      const auth = async (): Promise<ReturnType<typeof decodeAuthentication>> => {
        const m = await c.next();
        assert.equal(m.type, 'R', m.type === 'E' ? decodeErrorResponse(m.body).message : m.type);
        return decodeAuthentication(m.body);
      };
      assert.equal((await auth()).code, 10);
      const scram = new ScramClient({ password: PW }, {});
      const first = scram.initial();
      c.send(saslInitialResponse(first.mechanism, null));
      const empty = await auth();
      assert.ok(empty.code === 11 && empty.data.length === 0, 'an empty SASLContinue');
      c.send(saslResponse(first.data));
      const serverFirst = await auth();
      assert.equal(serverFirst.code, 11);
      c.send(saslResponse(scram.serverFirst(serverFirst.code === 11 ? serverFirst.data : Buffer.alloc(0))));
      const final = await auth();
      assert.equal(final.code, 12);
      scram.serverFinal(final.code === 12 ? final.data : Buffer.alloc(0));
      assert.equal((await auth()).code, 0, 'AuthenticationOk');
    } finally {
      c.close();
    }
  });

  test('an empty cleartext password is refused with 28P01 "empty password returned by client"', async () => {
    const c = await rawClient('clear');
    try {
      const m = await c.next();
      assert.equal(decodeAuthentication(m.body).code, 3);
      c.send(passwordMessage(''));
      const e = await c.next();
      assert.equal(e.type, 'E');
      const f = decodeErrorResponse(e.body);
      assert.deepEqual([f.code, f.message], ['28P01', 'empty password returned by client']);
    } finally {
      c.close();
    }
  });

  test('4: passwords never reach the log', async () => {
    await psql(`host=127.0.0.1 port=${gh.port} user=app dbname=postgres sslmode=disable`, 'select 1', { password: 'planted-Secret-4711' });
    assert.ok(gh.logs.length > 0);
    assert.ok(!gh.logs.join('\n').includes('planted-Secret-4711'));
    assert.ok(!gh.logs.join('\n').includes(PW));
  });

  test('5: an unknown role and a wrong password look the same on the wire', async () => {
    const start = (user: string): Buffer => startupMessage(new Map([['user', user], ['database', 'postgres']]));
    const known = await exchange(gh.port, start('app'), 1500);
    const unknown = await exchange(gh.port, start('nobody'), 1500);
    // AuthenticationSASL with the same mechanisms for both.
    assert.equal(known.data.toString('latin1'), unknown.data.toString('latin1'));
    assert.match(known.data.toString('latin1'), /SCRAM-SHA-256/);
  });

  test('6: a reload with a broken pg_hba.conf changes nothing and says where', async () => {
    const before = gh.gateway.state;
    await gh.write('pg_hba.conf', 'host all app 127.0.0.1/32 scram-sha-256\nhosts all all 0.0.0.0/0 trust\n');
    const r = gh.gateway.reload();
    assert.equal(r.ok, false);
    assert.match(r.error ?? '', /pg_hba\.conf:2/);
    assert.match(r.error ?? '', /invalid connection type "hosts"/);
    assert.equal(gh.gateway.state, before, 'the old state stays');
    const ok = await psql(`host=127.0.0.1 port=${gh.port} user=app dbname=postgres sslmode=disable`, 'select 1', { password: PW });
    assert.equal(ok.stdout, '1');
    await gh.write('pg_hba.conf', 'host all app,nobody 127.0.0.1/32 scram-sha-256\nhost all trusted 127.0.0.1/32 trust\nhost all clear 127.0.0.1/32 password\n');
    assert.equal(gh.gateway.reload().ok, true);
  });

  test('7: TLS below 1.2 is refused', async () => {
    const raw = connect({ host: '127.0.0.1', port: gh.port });
    await new Promise((r) => raw.once('connect', r));
    raw.write(sslRequest);
    await new Promise((r) => raw.once('data', r));
    const t = tlsConnect({ socket: raw, rejectUnauthorized: false, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' });
    const outcome = await new Promise<string>((r) => {
      t.once('secureConnect', () => r('connected'));
      t.once('error', (e) => r(`error: ${e.message}`));
    });
    assert.match(outcome, /^error/);
  });

  test('7: the admin console is closed by default: an authenticated role gets FATAL 08P01 "not allowed", and nothing reaches a server', async () => {
    assert.deepEqual(gh.gateway.state.config.admin, { users: [], stats_users: [] });
    proxy.reset();
    for (const database of ['gatehouse', 'pgbouncer']) {
      const c = new pg.Client({ host: '127.0.0.1', port: gh.port, user: 'app', password: PW, database, ssl: false });
      await assert.rejects(c.connect(), { code: '08P01', message: 'not allowed', severity: 'FATAL' });
    }
    assert.equal(proxy.conns, 0, 'no server connection was opened');
  });

  test('7: pg over TLS still works after all that (and with sslmode=require)', async () => {
    const c = new pg.Client({ host: 'localhost', port: gh.port, user: 'app', password: PW, database: 'postgres', ssl: { ca: await readFile(certs.caCert, 'utf8') } });
    await c.connect();
    assert.equal((await c.query('select 1 as x')).rows[0].x, 1);
    await c.end();
  });
});
