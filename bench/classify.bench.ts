/**
 * Micro-benchmark of the statement classifier (not a test): µs per `classify()` for the texts the
 * session taps meet, against libpg-query's bare `parseSync` on the same text.
 *
 *   npm run build && node --import tsx bench/classify.bench.ts
 *
 * It measures the built dist/ (what `gatehouse serve` runs): under tsx the worker thread runs
 * through tsx's loader and stays several times slower for a long while.
 * - cached: the same text again (the exact-text LRU);
 * - pgbench -S: `SELECT abalance … WHERE aid = N;` with a new N each call (the shape LRU);
 * - 330-char CTE+UPDATE: a new alias each call, so neither LRU hits (parse, walk, redaction test),
 *   and a new literal each call (the shape LRU);
 * - ALTER ROLE … PASSWORD: uncached, through the scanner-based redaction;
 * - 20 KB INSERT: a new text each call, awaited one at a time through the worker thread; also the
 *   longest event-loop stall seen meanwhile, and the same text parsed on this thread for comparison.
 * Each figure is the median of 7 runs. Compare ratios within one run, not across machines.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseSync } from 'libpg-query';

const dist = new URL('../dist/audit/classify.js', import.meta.url);
const { Classifier, loadClassifier } = (await import(dist.href)) as typeof import('../src/audit/classify.js');

const RUNS = 7;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** µs per call of `fn(i)` over `n` calls, median of RUNS (after one warm-up run). */
function timeSync(n: number, fn: (i: number) => unknown): number {
  const runs: number[] = [];
  let seq = 0;
  for (let r = 0; r <= RUNS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn(seq++);
    const us = Number(process.hrtime.bigint() - t0) / 1000 / n;
    if (r > 0) runs.push(us);
  }
  return median(runs);
}

async function timeAsync(n: number, fn: (i: number) => unknown): Promise<number> {
  const runs: number[] = [];
  let seq = 0;
  for (let r = 0; r <= RUNS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await fn(seq++);
    const us = Number(process.hrtime.bigint() - t0) / 1000 / n;
    if (r > 0) runs.push(us);
  }
  return median(runs);
}

const pgbench = (i: number): string => `SELECT abalance FROM pgbench_accounts WHERE aid = ${(i * 7919) % 100000 + 1};`;
/** A 330-character CTE+UPDATE (research/ecosystem.md §3's case); `alias` defeats both LRUs, `limit` only the text one. */
const cte = (alias: number, limit = 1000): string =>
  `WITH recent AS (SELECT o.customer_id, o.total FROM orders o WHERE o.created_at > now() - interval '7 days'), `
  + `totals AS (SELECT customer_id, sum(total) AS spent FROM recent GROUP BY customer_id) `
  + `UPDATE customers c${alias} SET tier = CASE WHEN t.spent > ${limit} THEN 'gold' ELSE 'silver' END `
  + `FROM totals t WHERE t.customer_id = c${alias}.id RETURNING c${alias}.id`;
const role = (i: number): string => `ALTER ROLE app_${i} WITH LOGIN PASSWORD 'bench-secret-${i}' VALID UNTIL '2030-01-01'`;
const bigInsert = (i: number): string =>
  `INSERT INTO events_${i} (id, kind, payload) VALUES ${Array.from({ length: 1000 }, (_, r) => `(${r}, 'k${r % 7}', 'p')`).join(', ')}`;

await loadClassifier();
const c = new Classifier();
const results: Array<[string, number, string]> = [];

const cachedText = pgbench(1);
c.classifySync(cachedText);
results.push(['cached (same text)', timeSync(200_000, () => c.classify(cachedText)), 'exact-text LRU']);
results.push(['pgbench -S, new aid each call', timeSync(200_000, (i) => c.classify(pgbench(i))), 'shape LRU']);
results.push(['  parseSync of the same', timeSync(50_000, (i) => parseSync(pgbench(i))), 'libpg-query alone']);
console.log(`(CTE is ${cte(1).length} chars)`);
results.push(['CTE+UPDATE, uncached', timeSync(5_000, (i) => c.classify(cte(i))), 'parse + walk']);
results.push(['  parseSync of the same', timeSync(5_000, (i) => parseSync(cte(i))), 'libpg-query alone']);
results.push(['CTE+UPDATE, new literal each call', timeSync(50_000, (i) => c.classify(cte(0, i))), 'shape LRU']);
results.push(['ALTER ROLE … PASSWORD, uncached', timeSync(5_000, (i) => c.classify(role(i))), 'parse + scanner redaction']);

const big = bigInsert(0);
console.log(`(INSERT is ${Buffer.byteLength(big)} bytes)`);
// WebAssembly tiers up in the background: warm the worker's copy before timing it.
for (let i = 0; i < 60; i++) await c.classify(bigInsert(100_000 + i));
const idle = monitorEventLoopDelay({ resolution: 1 });
idle.enable();
await new Promise((resolve) => setTimeout(resolve, 2000));
idle.disable();
const h = monitorEventLoopDelay({ resolution: 1 });
h.enable();
results.push(['20 KB INSERT via worker, awaited', await timeAsync(20, (i) => c.classify(bigInsert(i + 1))), 'worker thread']);
h.disable();
const stallMs = h.max / 1e6;
const idleStallMs = idle.max / 1e6;
results.push(['  classifySync of the same', timeSync(20, (i) => c.classifySync(`${bigInsert(i + 10_000)} `)), 'on this thread']);
await c.close();

for (const [name, us, how] of results) console.log(`${name.padEnd(36)} ${us.toFixed(2).padStart(10)} µs  (${how})`);
console.log(`longest event-loop stall while the worker parsed: ${stallMs.toFixed(2)} ms (idle for 2 s on this machine: ${idleStallMs.toFixed(2)} ms)`);
