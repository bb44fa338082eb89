/**
 * PROXY protocol v1 and v2 in front of real PostgreSQL 18, with handcrafted headers: from a
 * trusted peer the header's source is the client for hba, bans and logs; from an untrusted peer
 * a header is a protocol violation; a trusted peer must send one; LOCAL means the peer itself.
 *
 * The hba file rejects 127.0.0.1 (the proxy) and admits only 192.0.2.0/24 and 2001:db8::/32, so a
 * login succeeds only when hba saw the address from the header.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type Cluster } from '../../harness/pg.js';
import { makeCertSet, type CertSet } from '../../harness/certs.js';
import { startGatehouse, verifierOf, type Gatehouse } from '../gateway/fixture.js';
import { exchangeFrom, loginFrom, openFrom } from './client.js';
import { proxyV2, tcp4Body, tcp6Body } from '../../support/proxy-header.js';
import { sslRequest, startupMessage } from '../../../src/protocol/frontend/encode.js';
import { connect } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { WireConn, scramLogin } from '../auth/pg-wire.js';
import { ScramClient } from '../../../src/auth/scram/client.js';
import { tlsServerEndPointHash } from '../../../src/auth/channel-binding.js';

const PW = 'proxy-test-pw';
const HBA = 'host all app 127.0.0.1/32 reject\nhost all app 192.0.2.0/24 scram-sha-256\nhost all app 2001:db8::/32 scram-sha-256\n';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const v1 = (src: string, port = 40000): Buffer => Buffer.from(`PROXY ${src.includes(':') ? 'TCP6' : 'TCP4'} ${src} ${src.includes(':') ? '2001:db8::1' : '10.0.0.1'} ${port} 6432\r\n`);
const records = (gh: Gatehouse): Record<string, unknown>[] => gh.logs.map((l) => JSON.parse(l) as Record<string, unknown>);

describe('PROXY protocol on PostgreSQL 18', () => {
  let certs: CertSet;
  let cluster: Cluster;
  let users: string[];

  before(async () => {
    certs = await makeCertSet();
    cluster = await startCluster({ version: 18 });
    await cluster.createRole('app', { password: PW });
    users = [`"app" "${await verifierOf(cluster, 'app')}"`];
  });
  after(async () => {
    await cluster?.stop();
  });

  const start = (version: 'v1' | 'v2'): Promise<Gatehouse> => startGatehouse({
    cluster, certs, hba: HBA, users,
    listenYaml: `proxy_protocol: ${version}, proxy_trusted: [127.0.0.1/32]`,
    extraYaml: 'guard: {maxretry: 3, ignore: []}',
  });

  describe('v1', () => {
    let gh: Gatehouse;
    before(async () => (gh = await start('v1')));
    after(async () => gh?.stop());
    const login = (prefix: Buffer, password = PW, from = '127.0.0.1') => loginFrom({ port: gh.port, from, user: 'app', password, prefix });

    test('the header\'s address is the client\'s for hba and the log (TCP4 and TCP6)', async () => {
      assert.deepEqual(await login(v1('192.0.2.10', 51000)), { kind: 'ok', value: '1' });
      assert.deepEqual(await login(v1('2001:DB8::77')), { kind: 'ok', value: '1' });
      const ok = records(gh).filter((r) => r.msg === 'connection authorized');
      assert.deepEqual(ok.map((r) => [r.client_ip, r.client_port]), [['192.0.2.10', 51000], ['2001:db8::77', 40000]]);

      assert.deepEqual(await loginFrom({ port: gh.port, from: '127.0.0.1', user: 'app', password: PW, prefix: v1('192.0.2.11'), prefixDelayMs: 200 }),
        { kind: 'ok', value: '1' }, 'a header that arrives alone, the startup packet later');
      const unknown = await login(Buffer.from('PROXY UNKNOWN\r\n'));
      assert.deepEqual(unknown.kind === 'error' && [unknown.code, unknown.message], ['28000',
        'pg_hba.conf rejects connection for host "127.0.0.1", user "app", database "postgres", no encryption'], 'UNKNOWN: the proxy\'s own address');
    });

    test('TLS after the header: SSLRequest, the handshake, then SCRAM-SHA-256-PLUS from the header\'s address', async () => {
      const raw = connect({ host: '127.0.0.1', port: gh.port });
      await new Promise((r) => raw.once('connect', r));
      raw.write(Buffer.concat([v1('192.0.2.12'), sslRequest]));
      const answer = await new Promise<Buffer>((r) => raw.once('data', r));
      assert.equal(answer.toString(), 'S');
      const tls = await new Promise<TLSSocket>((resolve, reject) => {
        const t = tlsConnect({ socket: raw, rejectUnauthorized: false }, () => resolve(t));
        t.once('error', reject);
      });
      const conn = new WireConn(tls);
      const certHash = tlsServerEndPointHash(tls.getPeerCertificate().raw);
      const r = await scramLogin(conn, 'app', (mechs) => new ScramClient({ password: PW }, { serverMechanisms: mechs, certHash }));
      conn.close();
      assert.deepEqual(r, { ok: true });
      const last = records(gh).filter((x) => x.msg === 'connection authorized').at(-1)!;
      assert.deepEqual([last.client_ip, last.tls_version], ['192.0.2.12', 'TLSv1.3']);
    });

    test('bans apply to the address in the header, not to the proxy', async () => {
      for (let i = 0; i < 3; i++) assert.equal((await login(v1('192.0.2.66'), 'wrong')).kind, 'error');
      await sleep(50);
      assert.deepEqual(await login(v1('192.0.2.66')), { kind: 'closed', bytes: 0 });
      assert.deepEqual(await login(v1('192.0.2.10')), { kind: 'ok', value: '1' }, 'the proxy and its other clients still get in');
      assert.deepEqual(gh.gateway.guard.bans().map((b) => b.source), ['192.0.2.66']);
    });

    test('an untrusted peer that sends a header is a protocol violation; a trusted peer must send one', async () => {
      const untrusted = await login(v1('192.0.2.10'), PW, '127.0.0.8');
      assert.deepEqual(untrusted, { kind: 'closed', bytes: 0 });
      const bare = await exchangeFrom(gh.port, '127.0.0.1', startupMessage(new Map([['user', 'app'], ['database', 'postgres']])));
      assert.deepEqual([bare.data.length, bare.closed], [0, true]);
      await sleep(50);
      const failed = records(gh).filter((r) => r.msg === 'connection failed' && r.sqlstate === '08P01');
      assert.ok(failed.some((r) => r.client_ip === '127.0.0.8' && r.reason === 'PROXY protocol header from an untrusted peer' && r.failure === 'protocol'));
      assert.ok(failed.some((r) => r.client_ip === '127.0.0.1' && r.reason === 'invalid PROXY protocol v1 header'));
      assert.ok(!gh.gateway.guard.bans().some((b) => b.source === '127.0.0.1'), 'a trusted proxy is never banned');
    });

    test('a header that never completes is closed at authentication_timeout', async () => {
      const { sock } = await openFrom(gh.port, '127.0.0.1');
      const started = Date.now();
      sock.write('PROXY TCP4 192.0.2.10 ');
      await new Promise((r) => sock.once('close', r));
      const took = Date.now() - started;
      assert.ok(took >= 4500 && took < 8000, `closed after ${took} ms`);
    });
  });

  describe('v2', () => {
    let gh: Gatehouse;
    before(async () => (gh = await start('v2')));
    after(async () => gh?.stop());
    const login = (prefix: Buffer) => loginFrom({ port: gh.port, from: '127.0.0.1', user: 'app', password: PW, prefix });

    test('PROXY over TCP4 and TCP6 (with a TLV), LOCAL, and a v1 header where v2 is expected', async () => {
      const tlv = Buffer.from([0x04, 0x00, 0x02, 0x00, 0x00]);
      assert.deepEqual(await login(proxyV2(1, 0x11, Buffer.concat([tcp4Body('192.0.2.20', '10.0.0.1', 50001, 6432), tlv]))), { kind: 'ok', value: '1' });
      assert.deepEqual(await login(proxyV2(1, 0x21, tcp6Body('20010db8000000000000000000000020', '20010db8000000000000000000000001', 50002, 6432))),
        { kind: 'ok', value: '1' });
      const ok = records(gh).filter((r) => r.msg === 'connection authorized');
      assert.deepEqual(ok.map((r) => [r.client_ip, r.client_port]), [['192.0.2.20', 50001], ['2001:db8::20', 50002]]);
      const local = await login(proxyV2(0, 0x00, Buffer.alloc(0)));
      assert.deepEqual(local.kind === 'error' && local.message,
        'pg_hba.conf rejects connection for host "127.0.0.1", user "app", database "postgres", no encryption', 'LOCAL: the proxy itself');
      assert.deepEqual(await login(v1('192.0.2.20')), { kind: 'closed', bytes: 0 });
      await sleep(50);
      assert.ok(records(gh).some((r) => r.msg === 'connection failed' && r.reason === 'invalid PROXY protocol v2 signature'));
    });
  });
});
