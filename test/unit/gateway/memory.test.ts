/**
 * MemoryRelease (src/gateway/memory.ts) decides when to give memory back: once per burst of
 * connections, after `release_memory_after` with no arrival, and only while the main thread is
 * idle. Table-driven over a fake clock, probe and reclaimers; the real reclaimers are checked to
 * exist and run here (Node 20 on glibc, with the native addon that `npm install` builds).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayEvents } from '../../../src/events.js';
import { defaultReclaimers, IDLE_UTILIZATION, MemoryRelease, type MemoryReleaseEvent } from '../../../src/gateway/memory.js';
import { nativeRelayStatus } from '../../../src/session/native-relay.js';

/**
 * One step: advance the clock, then the checks start (the process's startup), connections arrive,
 * or a check runs with this busy share (and, when it releases, what it says ended).
 */
type Step = { at: number; start: true } | { at: number; arrive: number } | { at: number; check: number; released: boolean; after?: 'startup' | 'burst' };

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
];

for (const c of cases) {
  test(`memory release: ${c.name}`, () => {
    let now = 0;
    let busy = 0;
    const calls: string[] = [];
    const events = new GatewayEvents();
    const seen: MemoryReleaseEvent[] = [];
    events.on('memory.release', (e) => seen.push(e));
    const m = new MemoryRelease(() => c.afterMs, events, { collect: () => calls.push('collect'), trim: () => (calls.push('trim'), true) },
      { now: () => now, busy: () => busy, rssKb: () => 1000 - calls.length * 100, youngKb: () => (calls.includes('collect') ? 1024 : 16384) });
    let arrivals = 0;
    for (const s of c.steps) {
      now = s.at;
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
      assert.deepEqual([e.rss_before_kb, e.rss_after_kb, e.young_before_kb, e.young_after_kb], [1000, 800, 16384, 1024]);
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
