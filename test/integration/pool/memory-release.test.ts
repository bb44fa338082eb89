/**
 * `release_memory_after` (src/gateway/memory.ts): after a burst of transaction-mode logins, once
 * none has arrived for the interval, gatehouse collects and trims once, logs it, and the idle
 * clients it holds (on the native plane where it is built) go on working. No release while
 * connections keep arriving, none again without new ones, and the next burst gets its own.
 * Startup is the first burst: a process that no client has reached yet releases once too.
 * Memory figures are benchmarks' business (bench/idle-memory.bench.ts), not asserted here.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { availableVersions } from '../../harness/pg.js';
import { eventually } from '../admin/console-support.js';
import type { MemoryReleaseEvent } from '../../../src/gateway/memory.js';
import { client, startPoolSetup, type PoolSetup } from './support.js';

const version = (await availableVersions())[0]!;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe(`memory released after a burst (PostgreSQL ${version}, transaction mode)`, () => {
  let t: PoolSetup;
  const released: MemoryReleaseEvent[] = [];
  const held: pg.Client[] = [];

  before(async () => {
    t = await startPoolSetup(version, '{mode: transaction, default_pool_size: 4}', 'release_memory_after: 600ms');
    t.gh.gateway.events.on('memory.release', (e) => released.push(e));
  });
  after(async () => {
    await Promise.all(held.map((c) => c.end().catch(() => undefined)));
    await t.stop();
  });

  const login = async (): Promise<pg.Client> => {
    const c = client(t.gh);
    await c.connect();
    assert.equal((await c.query('SELECT 1 AS one')).rows[0].one, 1);
    held.push(c);
    return c;
  };

  test('startup is released once, with no connection', async () => {
    const startup = (): Record<string, unknown> | undefined =>
      t.gh.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'memory released after startup');
    await eventually(() => startup() !== undefined, 5000);
    assert.equal(startup()?.after, 'startup');
    assert.equal(startup()?.connections, 0);
    assert.equal(startup()?.level, 'info');
    await sleep(1500);
    assert.equal(t.gh.logs.filter((l) => l.includes('memory released')).length, 1, 'nothing more without connections');
    released.length = 0;
  });

  test('one release per burst, after the quiet, logged; the held clients still work', async () => {
    // Arrivals every 100 ms or so for about a second: never 600 ms of quiet, nor the 250 ms a large
    // burst needs (QUICK_QUIET_MS), so no release meanwhile.
    const burst = Date.now();
    for (let i = 0; i < 8; i++) {
      await Promise.all([login(), login()]);
      await sleep(100);
      assert.equal(released.length, 0, `no release while connections keep arriving (${Date.now() - burst} ms in)`);
    }
    await eventually(() => released.length === 1, 5000);
    const e = released[0]!;
    assert.equal(e.connections, 16, 'every connection of the burst, counted once');
    assert.equal(e.after, 'burst');
    assert.ok(e.rss_before_kb > 0 && e.rss_after_kb > 0 && e.young_before_kb > 0 && e.young_after_kb > 0 && e.pause_ms >= 0, JSON.stringify(e));
    const line = t.gh.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'memory released after a burst');
    assert.equal(line?.event, 'memory.release');
    assert.equal(line?.connections, 16);
    assert.equal(line?.level, 'info');
    for (const c of held) assert.equal((await c.query('SELECT 2 AS two')).rows[0].two, 2);
    await sleep(1500);
    assert.equal(released.length, 1, 'nothing more to give back without new connections');
    await login();
    await eventually(() => released.length === 2, 5000);
    assert.equal(released[1]!.connections, 1);
  });
});
