/**
 * The guard against real PostgreSQL 18 (issue 5): bans from wrong passwords with the right
 * password refused afterwards, other sources unaffected, expiry, bans across a restart, a deny
 * list that never reaches TLS, a handshake flood and a slowloris. 127.0.0.2, 127.0.0.3 … are
 * distinct sources (loopback addresses a client socket can bind).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { startCluster, type Cluster } from '../../harness/pg.js';
import { makeCertSet, type CertSet } from '../../harness/certs.js';
import { Gateway } from '../../../src/gateway/gateway.js';
import { sslRequest, startupMessage } from '../../../src/protocol/frontend/encode.js';
import { startGatehouse, verifierOf, type Gatehouse } from '../gateway/fixture.js';
import { exchangeFrom, loginFrom, openFrom } from './client.js';
import { FAIL2BAN_FAILREGEX, fail2banHosts } from './fail2ban.js';

const PW = 'guard-test-pw';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('guard on PostgreSQL 18', () => {
  let certs: CertSet;
  let cluster: Cluster;
  let gh: Gatehouse;
  const login = (from: string, password: string) => loginFrom({ port: gh.port, from, user: 'app', password });
  const guardYaml = (bantime: string): string =>
    `guard: {maxretry: 5, findtime: 1min, bantime: ${bantime}, ignore: [], deny: [127.0.0.7, "10.0.0.0/8"], state_file: bans.json}`;

  before(async () => {
    certs = await makeCertSet();
    cluster = await startCluster({ version: 18 });
    await cluster.createRole('app', { password: PW });
    await cluster.createRole('lockme', { password: PW });
    gh = await startGatehouse({
      cluster, certs,
      hba: 'host all app,lockme 127.0.0.0/8 scram-sha-256\n',
      users: [`"app" "${await verifierOf(cluster, 'app')}"`, `"lockme" "${await verifierOf(cluster, 'lockme')}"`],
      extraYaml: guardYaml('3s'),
    });
  });
  after(async () => {
    await gh?.stop();
    await cluster?.stop();
  });

  test('5 wrong passwords ban the source; the 6th attempt with the right password is closed with no byte; others get in; the ban ends', async () => {
    for (let i = 1; i <= 5; i++) {
      const r = await login('127.0.0.2', 'wrong');
      assert.deepEqual(r.kind === 'error' && [r.code, r.message], ['28P01', 'password authentication failed for user "app"'], `attempt ${i}`);
    }
    await sleep(50); // the 5th failure's event is handled after its FATAL is written
    assert.deepEqual(await login('127.0.0.2', PW), { kind: 'closed', bytes: 0 });
    assert.deepEqual(await login('127.0.0.3', PW), { kind: 'ok', value: '1' });
    const bans = gh.gateway.guard.bans();
    assert.deepEqual(bans.map((b) => [b.source, b.failures, b.reason]), [['127.0.0.2', 5, 'auth: password authentication failed for user "app"']]);
    const records = gh.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(records.some((r) => r.msg === 'source banned' && r.client_ip === '127.0.0.2' && r.failures === 5 && r.event === 'guard.ban'));
    assert.ok(records.some((r) => r.msg === 'connection refused by guard' && r.client_ip === '127.0.0.2' && r.reason === 'banned'));
    await sleep(Math.max(0, bans[0]!.banned_until - Date.now()) + 100);
    assert.deepEqual(await login('127.0.0.2', PW), { kind: 'ok', value: '1' }, 'after bantime the source gets in again');
  });

  test('the fail2ban filter in docs/guard.md matches each counted failure line, with its client address', () => {
    const hosts = fail2banHosts(gh.logs);
    assert.deepEqual(hosts.filter((h) => h === '127.0.0.2'), Array(5).fill('127.0.0.2'));
    assert.ok(!hosts.includes('127.0.0.3'), 'successful logins do not match');
    const doc = readFileSync(new URL('../../../docs/guard.md', import.meta.url), 'utf8');
    assert.ok(doc.includes(FAIL2BAN_FAILREGEX), 'docs/guard.md shows the regex this test checks');
  });

  test('a denied address is dropped before TLS: no \'S\', no ServerHello, not a byte', async () => {
    const ssl = await exchangeFrom(gh.port, '127.0.0.7', sslRequest);
    assert.deepEqual([ssl.data.length, ssl.closed], [0, true]);
    const direct = await new Promise<{ bytes: number; error: string }>((resolve) => {
      let bytes = 0;
      const raw = connect({ host: '127.0.0.1', port: gh.port, localAddress: '127.0.0.7' });
      raw.on('error', () => undefined);
      const t = tlsConnect({ socket: raw, rejectUnauthorized: false, ALPNProtocols: ['postgresql'] });
      t.on('data', (d: Buffer) => (bytes += d.length));
      t.on('error', (e) => resolve({ bytes, error: e.message }));
      t.on('secureConnect', () => resolve({ bytes, error: 'handshake completed' }));
    });
    assert.equal(direct.bytes, 0);
    assert.notEqual(direct.error, 'handshake completed');
    assert.ok(gh.logs.some((l) => l.includes('"reason":"denied"') && l.includes('127.0.0.7')));
  });

  test('a handshake flood from one source does not keep another source from connecting and querying', async () => {
    let refused = 0;
    const count = (e: { client: string; reason: string }): void => { if (e.client === '127.0.0.5' && e.reason === 'handshakes') refused++; };
    gh.gateway.events.on('guard', count);
    const flood = await Promise.all(Array.from({ length: 500 }, () => openFrom(gh.port, '127.0.0.5').catch(() => null)));
    const opened = flood.filter((f) => f !== null);
    for (const f of opened) {
      f.sock.on('error', () => undefined);
      f.sock.write(Buffer.from([0, 0, 0])); // a startup packet that never completes
    }
    assert.deepEqual(await login('127.0.0.3', PW), { kind: 'ok', value: '1' });
    await sleep(200);
    gh.gateway.events.off('guard', count);
    assert.equal(refused, 500 - 64, 'everything over the per-source cap of 64 was refused at accept');
    const lines = gh.logs.filter((l) => l.includes('connection refused by guard') && l.includes('127.0.0.5'));
    assert.equal(lines.length, 1, 'the log says it once, not 436 times');
    for (const f of opened) f.sock.destroy();
  });

  test('a slowloris that trickles its startup packet is closed at authentication_timeout', async () => {
    const { sock } = await openFrom(gh.port, '127.0.0.6');
    const started = Date.now();
    const packet = startupMessage(new Map([['user', 'app'], ['database', 'postgres']]));
    let i = 0;
    const drip = setInterval(() => { if (i < packet.length - 1 && !sock.destroyed) sock.write(packet.subarray(i, ++i)); }, 250);
    await new Promise((r) => sock.once('close', r));
    clearInterval(drip);
    const took = Date.now() - started;
    assert.ok(took >= 4500 && took < 8000, `closed after ${took} ms with authentication_timeout 5s (still sending)`);
  });

  test('lock_role_after locks a role name after failures from several sources; the right password then fails as a wrong one', async () => {
    const yaml = readFileSync(gh.configPath, 'utf8');
    await gh.write('gatehouse.yaml', yaml.replace('state_file: bans.json}', 'state_file: bans.json, lock_role_after: 2}'));
    assert.deepEqual(gh.gateway.reload(), { ok: true });
    const as = (from: string, password: string) => loginFrom({ port: gh.port, from, user: 'lockme', password });
    assert.equal((await as('127.0.0.8', 'wrong')).kind, 'error');
    assert.equal((await as('127.0.0.9', 'wrong')).kind, 'error');
    await sleep(50);
    const locked = await as('127.0.0.3', PW);
    assert.deepEqual(locked.kind === 'error' && [locked.code, locked.message], ['28P01', 'password authentication failed for user "lockme"']);
    assert.ok(gh.logs.some((l) => l.includes('"reason":"role is locked (guard.lock_role_after)"') && l.includes('"user":"lockme"')));
    assert.deepEqual(await login('127.0.0.3', PW), { kind: 'ok', value: '1' }, 'other roles are not affected');
    assert.ok(gh.gateway.guard.bans().some((b) => b.source === 'role:lockme'));
    assert.equal(gh.gateway.guard.unban('role:lockme'), true);
    assert.deepEqual(await as('127.0.0.3', PW), { kind: 'ok', value: '1' });
    await gh.write('gatehouse.yaml', yaml);
    assert.deepEqual(gh.gateway.reload(), { ok: true });
  });

  // Last: it stops the fixture's gateway.
  test('bans survive a restart (the state file)', async () => {
    await gh.write('gatehouse.yaml', readFileSync(gh.configPath, 'utf8').replace(guardYaml('3s'), guardYaml('1min')));
    assert.deepEqual(gh.gateway.reload(), { ok: true });
    for (let i = 0; i < 5; i++) assert.equal((await login('127.0.0.4', 'wrong')).kind, 'error');
    await sleep(50);
    assert.deepEqual(await login('127.0.0.4', PW), { kind: 'closed', bytes: 0 });
    await gh.gateway.shutdown('fast');
    const saved = JSON.parse(readFileSync(join(gh.dir, 'bans.json'), 'utf8')) as { bans: { source: string }[] };
    assert.ok(saved.bans.some((b) => b.source === '127.0.0.4'));
    const again = new Gateway(gh.configPath);
    await again.listen();
    try {
      assert.deepEqual(await login('127.0.0.4', PW), { kind: 'closed', bytes: 0 }, 'still banned after the restart');
      assert.deepEqual(await login('127.0.0.3', PW), { kind: 'ok', value: '1' });
      assert.equal(again.guard.unban('127.0.0.4'), true);
      assert.deepEqual(await login('127.0.0.4', PW), { kind: 'ok', value: '1' }, 'UNBAN lets it in');
    } finally {
      await again.shutdown('fast');
      await rm(join(gh.dir, 'bans.json'), { force: true });
    }
  });

});
