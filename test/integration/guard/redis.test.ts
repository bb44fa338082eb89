/**
 * Two gatehouse processes share bans through a real Redis (Debian's redis-server): this test
 * process runs one gateway, a child process runs `gatehouse serve` for the other. Failures seen by
 * both add up to a ban that both enforce; BAN/UNBAN made on one reach the other; while Redis is
 * down each keeps its own bans and lets clean clients in; after a Redis restart (empty) the bans
 * are pushed back and shared again.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startCluster, freePort, type Cluster } from '../../harness/pg.js';
import { makeCertSet, type CertSet } from '../../harness/certs.js';
import { REDIS_SERVER, startRedis, type RedisServer } from '../../harness/redis.js';
import { startGatehouse, verifierOf, type Gatehouse } from '../gateway/fixture.js';
import { loginFrom, type DoorResult } from './client.js';
import { parseConfig } from '../../../src/config/load.js';
import { GatewayEvents } from '../../../src/events.js';
import { Guard } from '../../../src/net/guard/guard.js';
import { canonicalSource } from '../../../src/net/guard/cidr.js';

const PW = 'redis-test-pw';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `attempt` until `want` holds or `ms` passes; returns the last result. */
async function eventually(attempt: () => Promise<DoorResult>, want: (r: DoorResult) => boolean, ms = 4000): Promise<DoorResult> {
  const until = Date.now() + ms;
  for (;;) {
    const r = await attempt();
    if (want(r) || Date.now() > until) return r;
    await sleep(200);
  }
}
async function waitFor(cond: () => boolean, ms = 5000): Promise<boolean> {
  for (const until = Date.now() + ms; !cond() && Date.now() < until;) await sleep(100);
  return cond();
}
const dropped = (r: DoorResult): boolean => r.kind === 'closed' && r.bytes === 0;
const admitted = (r: DoorResult): boolean => r.kind === 'ok';

describe('bans shared through Redis by two gatehouse processes', { skip: REDIS_SERVER ? false : 'redis-server is not installed (apt-get install redis-server)' }, () => {
  let certs: CertSet;
  let cluster: Cluster;
  let redis: RedisServer;
  let a: Gatehouse;
  let b: { port: number; child: ChildProcess; logs: string[] };

  before(async () => {
    certs = await makeCertSet();
    cluster = await startCluster({ version: 18 });
    await cluster.createRole('app', { password: PW });
    redis = await startRedis();
    const guard = `guard: {maxretry: 5, findtime: 1min, bantime: 1min, ignore: [], store: "${redis.url}"}`;
    a = await startGatehouse({
      cluster, certs, hba: 'host all app 127.0.0.0/8 scram-sha-256\n',
      users: [`"app" "${await verifierOf(cluster, 'app')}"`], extraYaml: guard,
    });
    const port = await freePort();
    const config = await a.write('b.yaml', readFileSync(a.configPath, 'utf8').replace(`port: ${a.port}`, `port: ${port}`));
    const cli = new URL('../../../src/cli.ts', import.meta.url).pathname;
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    const logs: string[] = [];
    child.stdout.on('data', (d: Buffer) => logs.push(...d.toString().split('\n').filter(Boolean)));
    child.stderr.on('data', (d: Buffer) => logs.push(d.toString()));
    b = { port, child, logs };
    assert.ok(await waitFor(() => logs.some((l) => l.includes('gatehouse is ready')), 15_000), `the second gatehouse started: ${logs.join('\n')}`);
    const reachable = (lines: string[]): boolean => lines.some((l) => l.includes('guard store reachable'));
    assert.ok(await waitFor(() => reachable(a.logs) && reachable(b.logs)), 'both instances reached Redis');
  });
  after(async () => {
    b?.child.kill('SIGINT');
    await a?.stop();
    await redis?.stop();
    await cluster?.stop();
  });

  const login = (port: number, from: string, password = PW) => loginFrom({ port, from, user: 'app', password });

  test('failures on both instances add up to one ban that both enforce', async () => {
    for (const port of [a.port, a.port, a.port, b.port, b.port]) {
      const r = await login(port, '127.0.0.2', 'wrong');
      assert.equal(r.kind === 'error' && r.code, '28P01');
    }
    assert.ok(dropped(await eventually(() => login(b.port, '127.0.0.2'), dropped)), 'the instance that saw the 5th failure bans');
    assert.ok(dropped(await eventually(() => login(a.port, '127.0.0.2'), dropped)), 'the other enforces it within a sync period');
    assert.deepEqual(await login(a.port, '127.0.0.3'), { kind: 'ok', value: '1' });
    assert.deepEqual(await login(b.port, '127.0.0.3'), { kind: 'ok', value: '1' });
    assert.ok(a.logs.some((l) => l.includes('"msg":"source banned"') && l.includes('127.0.0.2') && l.includes('"by":"store"')));
  });

  test('BAN and UNBAN on one instance reach the other', async () => {
    a.gateway.guard.ban('127.0.0.5', 60_000);
    assert.ok(dropped(await eventually(() => login(b.port, '127.0.0.5'), dropped)));
    assert.equal(a.gateway.guard.unban('127.0.0.5'), true);
    assert.ok(admitted(await eventually(() => login(b.port, '127.0.0.5'), admitted)));
  });

  test('Redis down: each instance keeps its bans and lets clean clients in; Redis back (empty): bans are shared again', async () => {
    await redis.kill();
    assert.ok(await waitFor(() => a.logs.some((l) => l.includes('guard store unreachable'))), 'logged');
    assert.ok(dropped(await login(a.port, '127.0.0.2')), 'not "no limits": the shared ban still holds');
    assert.ok(dropped(await login(b.port, '127.0.0.2')));
    assert.deepEqual(await login(a.port, '127.0.0.3'), { kind: 'ok', value: '1' }, 'not "nobody gets in"');
    assert.deepEqual(await login(b.port, '127.0.0.3'), { kind: 'ok', value: '1' });
    for (let i = 0; i < 5; i++) assert.equal((await login(b.port, '127.0.0.4', 'wrong')).kind, 'error');
    assert.ok(dropped(await eventually(() => login(b.port, '127.0.0.4'), dropped)), 'local counting goes on without Redis');
    assert.deepEqual(await login(a.port, '127.0.0.4'), { kind: 'ok', value: '1' }, 'unshared while Redis is down');
    await redis.restart();
    assert.ok(dropped(await eventually(() => login(a.port, '127.0.0.4'), dropped, 8000)), 'after the restart, the other instance\'s ban arrives');
    assert.ok(dropped(await login(a.port, '127.0.0.2')));
    assert.ok(a.logs.some((l) => l.includes('guard store reachable; resynchronising')));
  });
});

describe('connection rates coordinated through Redis', { skip: REDIS_SERVER ? false : 'redis-server is not installed (apt-get install redis-server)' }, () => {
  test('two guards under one per-source rate: each allows its own burst, the fleet total refuses the rest of that second', async () => {
    const redis = await startRedis();
    const clock = { t: 1_700_000_000_500 };
    const cfg = parseConfig(`hba: x\nguard: {max_connections_per_second: 4, store: "${redis.url}"}\n`, '/g.yaml').guard;
    const guards = [new Guard(cfg, new GatewayEvents(), () => clock.t), new Guard(cfg, new GatewayEvents(), () => clock.t)];
    const up: boolean[] = [];
    try {
      for (const g of guards) g.start();
      guards.forEach((g, i) => (g as unknown as { events: GatewayEvents }).events.on('guard.store', (e) => { if (e.state === 'up') up[i] = true; }));
      assert.ok(await waitFor(() => up[0] === true && up[1] === true), 'both reached Redis');
      const src = canonicalSource('192.0.2.50');
      for (const g of guards) for (let i = 0; i < 3; i++) assert.equal(g.admit(src.text, src.addr).ok, true, 'within each local bucket');
      const refused = async (g: Guard): Promise<boolean> => {
        const a = g.admit(src.text, src.addr);
        if (a.ok) a.ticket.closed();
        return !a.ok && a.reason === 'rate';
      };
      // 6 in this second across the fleet > 4: once the counters are flushed, both refuse.
      await sleep(600);
      assert.equal(await refused(guards[0]!), true);
      assert.equal(await refused(guards[1]!), true);
      clock.t += 1000;
      assert.equal(await refused(guards[0]!), false, 'a new second, a new count');
    } finally {
      for (const g of guards) await g.close();
      await redis.stop();
    }
  });
});

describe('a Redis that is down when gatehouse starts', { skip: REDIS_SERVER ? false : 'redis-server is not installed (apt-get install redis-server)' }, () => {
  test('is logged as down, local bans work meanwhile, and they are shared once it comes up', async () => {
    const redis = await startRedis();
    await redis.kill();
    const cfg = parseConfig(`hba: x\nguard: {store: "${redis.url}"}\n`, '/g.yaml').guard;
    const events = [new GatewayEvents(), new GatewayEvents()];
    const states: string[][] = [[], []];
    events.forEach((e, i) => e.on('guard.store', (s) => states[i]!.push(s.state)));
    const guards = events.map((e) => new Guard(cfg, e));
    try {
      for (const g of guards) g.start();
      assert.ok(await waitFor(() => states.every((s) => s.includes('down'))), 'each says the store is down');
      guards[0]!.ban('192.0.2.60', 60_000);
      const src = canonicalSource('192.0.2.60');
      assert.deepEqual(guards[0]!.admit(src.text, src.addr), { ok: false, reason: 'banned' });
      assert.equal(guards[1]!.admit(src.text, src.addr).ok, true);
      await redis.restart();
      assert.ok(await waitFor(() => states.every((s) => s.includes('up')), 8000), 'both reconnect');
      assert.ok(await waitFor(() => !guards[1]!.admit(src.text, src.addr).ok, 4000), 'the ban made while Redis was down reaches the other guard');
    } finally {
      for (const g of guards) await g.close();
      await redis.stop();
    }
  });
});
