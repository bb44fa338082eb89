/**
 * MemoryRelease (src/gateway/memory.ts) decides when to give memory back: once per burst of
 * connections, after `release_memory_after` with no arrival (QUICK_QUIET_MS for a burst that grew
 * RSS by LARGE_BURST_KB), and only while the main thread is idle. Table-driven over a fake clock,
 * probe and reclaimers; the real reclaimers are checked to exist and run here (Node 20 on glibc,
 * with the native addon that `npm install` builds), and the collection to shrink the young
 * generation a burst of garbage grew.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayEvents } from '../../../src/events.js';
import { getHeapSpaceStatistics } from 'node:v8';
import { defaultReclaimers, IDLE_UTILIZATION, LARGE_BURST_KB, MemoryRelease, QUICK_QUIET_MS, type MemoryReleaseEvent } from '../../../src/gateway/memory.js';
import { loadedAddon, nativeRelayStatus } from '../../../src/session/native-relay.js';

/**
 * One step: advance the clock (and set RSS, in KB, when `rss` is given; 1000 at first), then the
 * checks start (the process's startup), connections arrive, or a check runs with this busy share
 * (and, when it releases, what it says ended and whether the burst was large). A release gives
 * 200 KB back.
 */
type Step = { at: number; rss?: number } & ({ start: true } | { arrive: number } | { check: number; released: boolean; after?: 'startup' | 'burst'; large?: boolean });

interface Case { name: string; afterMs: number; steps: Step[] }

const cases: Case[] = [
  { name: 'no connection: nothing to give back', afterMs: 1000, steps: [{ at: 5000, check: 0, released: false }] },
  {
    name: 'a burst, then quiet for the whole interval: released once', afterMs: 1000, steps: [
      { at: 0, arrive: 50 }, { at: 999, check: 0, released: false }, { at: 1000, check: 0, released: true },
      { at: 2000, check: 0, released: false }, { at: 60_000, check: 0, released: false },
    ],
  },
  {
    name: 'arrivals keep coming: the quiet is counted from the last', afterMs: 1000, steps: [
      { at: 0, arrive: 10 }, { at: 900, arrive: 1 }, { at: 1500, check: 0, released: false }, { at: 1900, check: 0, released: true },
    ],
  },
  {
    name: 'a busy main thread defers it until an idle check', afterMs: 1000, steps: [
      { at: 0, arrive: 3 }, { at: 2000, check: IDLE_UTILIZATION, released: false }, { at: 3000, check: 0.5, released: false },
      { at: 4000, check: IDLE_UTILIZATION - 0.001, released: true },
    ],
  },
  {
    name: 'a second burst is a second release', afterMs: 500, steps: [
      { at: 0, arrive: 5 }, { at: 600, check: 0, released: true }, { at: 700, arrive: 2 }, { at: 1100, check: 0, released: false },
      { at: 1200, check: 0, released: true },
    ],
  },
  { name: '0 turns it off', afterMs: 0, steps: [{ at: 0, arrive: 100 }, { at: 3_600_000, check: 0, released: false }] },
  {
    name: 'startup is the first burst: released once after the quiet, without any connection', afterMs: 1000, steps: [
      { at: 0, start: true }, { at: 999, check: 0, released: false }, { at: 1000, check: 0, released: true, after: 'startup' },
      { at: 2000, check: 0, released: false }, { at: 60_000, check: 0, released: false },
    ],
  },
  {
    name: 'connections soon after startup: one release for both, counted as a burst', afterMs: 1000, steps: [
      { at: 0, start: true }, { at: 500, arrive: 3 }, { at: 1000, check: 0, released: false },
      { at: 1500, check: 0, released: true, after: 'burst' }, { at: 3000, check: 0, released: false },
    ],
  },
  { name: 'startup with 0: off', afterMs: 0, steps: [{ at: 0, start: true }, { at: 3_600_000, check: 0, released: false }] },
  {
    name: `a burst that grew RSS by ${LARGE_BURST_KB} KB over the last release's is released after ${QUICK_QUIET_MS} ms of quiet`, afterMs: 10_000, steps: [
      { at: 0, start: true }, { at: 10_000, check: 0, released: true, after: 'startup' }, // leaves 800
      { at: 20_000, arrive: 1000, rss: 800 + LARGE_BURST_KB }, { at: 20_000 + QUICK_QUIET_MS - 1, check: 0, released: false },
      { at: 20_000 + QUICK_QUIET_MS, check: 0, released: true, large: true }, { at: 40_000, check: 0, released: false },
    ],
  },
  {
    name: 'a burst that grew RSS by less waits for release_memory_after', afterMs: 10_000, steps: [
      { at: 0, start: true }, { at: 10_000, check: 0, released: true, after: 'startup' },
      { at: 20_000, arrive: 1000, rss: 800 + LARGE_BURST_KB - 1 }, { at: 20_000 + QUICK_QUIET_MS, check: 0, released: false },
      { at: 29_999, check: 0, released: false }, { at: 30_000, check: 0, released: true, large: false },
    ],
  },
  {
    name: 'a large burst still waits for an idle main thread', afterMs: 10_000, steps: [
      { at: 0, start: true }, { at: 10_000, check: 0, released: true, after: 'startup' },
      { at: 20_000, arrive: 5, rss: 900 + LARGE_BURST_KB }, { at: 21_000, check: 0.2, released: false },
      { at: 21_250, check: 0, released: true, large: true },
    ],
  },
  {
    name: 'growth counts from the lowest RSS seen since the last release', afterMs: 10_000, steps: [
      { at: 0, start: true }, { at: 10_000, check: 0, released: true, after: 'startup' }, // leaves 800
      { at: 11_000, arrive: 1, rss: 500 }, { at: 11_100, check: 0, released: false }, // V8 shrank more later: 500
      { at: 12_000, arrive: 1000, rss: 500 + LARGE_BURST_KB }, { at: 12_000 + QUICK_QUIET_MS, check: 0, released: true, large: true },
    ],
  },
  {
    name: 'a release_memory_after shorter than the quick quiet still rules', afterMs: 100, steps: [
      { at: 0, start: true }, { at: 100, check: 0, released: true, after: 'startup' },
      { at: 1000, arrive: 10, rss: 800 + LARGE_BURST_KB }, { at: 1100, check: 0, released: true, large: true },
    ],
  },
  {
    name: 'without a start (no baseline) every burst waits for release_memory_after', afterMs: 1000, steps: [
      { at: 0, arrive: 10, rss: 1000 + 10 * LARGE_BURST_KB }, { at: 999, check: 0, released: false }, { at: 1000, check: 0, released: true, large: false },
    ],
  },
];

for (const c of cases) {
  test(`memory release: ${c.name}`, () => {
    let now = 0;
    let busy = 0;
    const calls: string[] = [];
    const events = new GatewayEvents();
    const seen: MemoryReleaseEvent[] = [];
    events.on('memory.release', (e) => seen.push(e));
    let rss = 1000;
    const m = new MemoryRelease(() => c.afterMs, events, { collect: () => calls.push('collect'), trim: () => (calls.push('trim'), true) },
      { now: () => now, busy: () => busy, rssKb: () => rss - calls.length * 100, youngKb: () => (calls.includes('collect') ? 1024 : 16384) });
    let arrivals = 0;
    for (const s of c.steps) {
      now = s.at;
      if (s.rss !== undefined) rss = s.rss;
      if ('start' in s) {
        m.start();
        m.stop(); // the checks run here, by hand
        continue;
      }
      if ('arrive' in s) {
        for (let i = 0; i < s.arrive; i++) m.arrived();
        arrivals += s.arrive;
        continue;
      }
      busy = s.check;
      calls.length = 0;
      const e = m.check();
      assert.equal(e !== null, s.released, `at ${s.at} ms (busy ${s.check})`);
      if (!e) {
        assert.deepEqual(calls, [], 'nothing collected or trimmed');
        continue;
      }
      assert.deepEqual(calls, ['collect', 'trim'], 'one collection, then one trim');
      assert.equal(e.connections, arrivals, 'the connections since the last release');
      assert.equal(e.after, s.after ?? 'burst');
      if (s.large !== undefined) assert.equal(e.large, s.large, 'large burst');
      assert.deepEqual([e.rss_before_kb, e.rss_after_kb, e.young_before_kb, e.young_after_kb], [rss, rss - 200, 16384, 1024]);
      rss -= 200;
      assert.equal(seen.at(-1), e, 'emitted as memory.release');
      arrivals = 0;
    }
  });
}

test('memory release: a missing reclaimer is skipped; with neither there is nothing to start', () => {
  const events = new GatewayEvents();
  let now = 0;
  const probe = { now: () => now, busy: () => 0, rssKb: () => 1, youngKb: () => 1 };
  let trimmed = 0;
  const m = new MemoryRelease(() => 1000, events, { collect: null, trim: () => (trimmed++, false) }, probe);
  assert.equal(m.available, true);
  m.arrived();
  now = 1000;
  assert.notEqual(m.check(), null);
  assert.equal(trimmed, 1);
  assert.equal(new MemoryRelease(() => 1000, events, { collect: null, trim: null }, probe).available, false);
});

test('memory release: the real reclaimers are there and run', () => {
  const r = defaultReclaimers();
  assert.equal(typeof r.collect, 'function', 'a full collection can be asked for');
  assert.equal((globalThis as { gc?: unknown }).gc, undefined, 'without exposing gc() to the process');
  r.collect!();
  assert.equal(r.trim!(), false, 'nothing has loaded the addon yet: no trim (loading it would start the relay thread)');
  if (nativeRelayStatus().available) assert.equal(typeof r.trim!(), 'boolean', 'once loaded, malloc_trim runs');
});

test('memory release: with the addon loaded, the collection shrinks the young generation a burst of garbage grew', (t) => {
  if (!nativeRelayStatus().available || !loadedAddon()) return t.skip('native addon not built');
  const young = (): number => (getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0) / 1024;
  const kept: object[] = [];
  for (let i = 0; i < 2_000_000; i++) {
    const o = { i, s: `row ${i}` };
    if (i % 100 === 0) kept.push(o); // survivors: scavenges grow the semi-spaces
  }
  const grown = young();
  assert.ok(grown > 2048, `the young generation grew (${grown} KB)`);
  defaultReclaimers().collect!();
  // A plain gc() here keeps it (allocation was fast just now); the pressure notification does not.
  assert.ok(young() <= 1024, `shrunk from ${grown} KB to ${young()} KB`);
  assert.equal(kept.length, 20_000);
});
