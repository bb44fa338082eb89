/**
 * The whole record path's own cost per statement (issue 6), in-process: TPC-B-like traffic as the
 * native relay's mirror hands it over (TapMirror entries with read times) through StatementTap, the
 * real classifier, AuditLog (JSON formatting, the SHA-256 chain) and a JSON file sink, until every
 * record is on disk. bench/tap.bench.ts measures the tap alone; bench/audit.bench.ts the same path
 * under a real pgbench load (where 2 shared cores make each microsecond here cost about three).
 *
 *   npx tsx bench/record-pipeline.bench.ts            # N=100000 TPC-B transactions (700,000 records) per round, 3 rounds
 *   node --cpu-prof --import tsx bench/record-pipeline.bench.ts
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Classifier, loadClassifier } from '../src/audit/classify.js';
import { StatementTap } from '../src/audit/tap.js';
import { AuditLog } from '../src/audit/log.js';
import { parseConfig } from '../src/config/load.js';
import { GatewayEvents } from '../src/events.js';
import { createLogger } from '../src/log.js';
import { TapMirror } from '../src/session/tap-mirror.js';
import type { AuditClassName } from '../src/audit/types.js';
import * as fe from '../src/protocol/frontend/encode.js';
import * as be from '../src/protocol/backend/encode.js';

const N = Number(process.env.N ?? 100_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SESSIONS = 16;
const ALL: ReadonlySet<AuditClassName> = new Set(['read', 'write', 'function', 'role', 'ddl', 'misc', 'misc_set']);

const TPCB = (i: number): string[] => [
  'BEGIN;',
  `UPDATE pgbench_accounts SET abalance = abalance + ${i % 5000 - 2500} WHERE aid = ${i % 100000 + 1};`,
  `SELECT abalance FROM pgbench_accounts WHERE aid = ${i % 100000 + 1};`,
  `UPDATE pgbench_tellers SET tbalance = tbalance + ${i % 5000} WHERE tid = ${i % 10 + 1};`,
  `UPDATE pgbench_branches SET bbalance = bbalance + ${i % 5000} WHERE bid = ${i % 1 + 1};`,
  `INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (${i % 10 + 1}, 1, ${i % 100000 + 1}, ${i % 5000}, CURRENT_TIMESTAMP);`,
  'END;',
];
const TAGS = ['BEGIN', 'UPDATE 1', 'SELECT 1', 'UPDATE 1', 'UPDATE 1', 'INSERT 0 1', 'COMMIT'].map((t) => be.commandComplete(t));
const READY_T = be.readyForQuery('T');
const READY_I = be.readyForQuery('I');

const dir = await mkdtemp(join(tmpdir(), 'gh-pipeline-'));
const settings = parseConfig(`hba: h\naudit:\n  log: [all]\n  on_sink_failure: block\n  sinks:\n    - {type: file, path: ${join(dir, 'audit.jsonl')}, format: json, fsync: never}\n`, join(dir, 'x.yaml')).audit;
const quiet = createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() }));
const log = await AuditLog.open(settings, new GatewayEvents(), quiet);
await loadClassifier();
const classifier = new Classifier();
const mirrors = Array.from({ length: SESSIONS }, (_, s) => {
  const tap = new StatementTap({
    info: { session: s + 1, user: 'bench', database: 'postgres', client: { address: '127.0.0.1', port: 5000 + s }, application_name: 'pgbench' },
    classifier, writer: log, classes: ALL, logParameter: false, rules: null,
  });
  const m = new TapMirror(tap);
  m.attach({ hold: () => undefined, fail: () => { throw new Error('the tap failed'); } });
  return m;
});
const queries = Array.from({ length: 1000 }, (_, i) => TPCB(i).map((t) => fe.query(t)));

async function round(): Promise<{ us: number; records: number }> {
  const t0 = process.cpuUsage();
  let at = performance.now();
  for (let i = 0; i < N; i++) {
    const m = mirrors[i % SESSIONS]!;
    const q = queries[i % queries.length]!;
    for (let k = 0; k < 7; k++) {
      m.entry(0, 0x51, q[k]!, at);
      at += 0.01;
      m.entry(1, 0x43, TAGS[k]!, at);
      m.entry(1, 0x5a, k === 6 ? READY_I : READY_T, at);
    }
    // A hand-over every 70 transactions (5 ms of a busy TPC-B run): let the writer run in between.
    if (i % 70 === 69) await new Promise((r) => setImmediate(r));
  }
  // Until every record is written (the runners' queues are empty).
  const runners = (log as unknown as { runners: Array<{ pending: number }> }).runners;
  while (runners.some((x) => x.pending > 0)) await new Promise((r) => setTimeout(r, 1));
  const cpu = process.cpuUsage(t0);
  return { us: (cpu.user + cpu.system) / (N * 7), records: N * 7 };
}

for (let r = 0; r < ROUNDS; r++) {
  const { us, records } = await round();
  console.log(`round ${r + 1}: ${us.toFixed(2)} µs of CPU a record (${records} records, all threads of this process)`);
}
console.log(`${((await stat(join(dir, 'audit.jsonl'))).size / 1e6).toFixed(0)} MB written`);
await log.close();
await classifier.close();
await rm(dir, { recursive: true, force: true });
