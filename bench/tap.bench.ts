/**
 * The session tap's own cost per statement (issue 6), in-process: pgbench-like traffic (a new
 * literal every time, as `pgbench -S` and TPC-B send) through StatementTap with the real classifier
 * and a writer that keeps nothing, so the number is the tap's (frame reads, classification cache,
 * decision, record object) without the record writer's (JSON, chain, sinks: see bench/audit.bench.ts).
 *
 *   npx tsx bench/tap.bench.ts          # N=200000 statements per case
 */
import { Classifier, loadClassifier } from '../src/audit/classify.js';
import { StatementTap } from '../src/audit/tap.js';
import { compilePolicy, rulesFor } from '../src/audit/policy.js';
import { parseConfig } from '../src/config/load.js';
import type { AuditClassName, PolicyRecord, StatementRecord } from '../src/audit/types.js';
import * as fe from '../src/protocol/frontend/encode.js';
import * as be from '../src/protocol/backend/encode.js';

const N = Number(process.env.N ?? 200_000);
const ALL: ReadonlySet<AuditClassName> = new Set(['read', 'write', 'function', 'role', 'ddl', 'misc', 'misc_set']);
let written = 0;
const writer = { write: (_r: StatementRecord | PolicyRecord): void => void written++, accepting: true, whenAccepting: () => Promise.resolve() };
const info = { session: 1, user: 'bench', database: 'postgres', client: { address: '127.0.0.1', port: 5000 } };

const TPCB = (i: number): string[] => [
  `UPDATE pgbench_accounts SET abalance = abalance + ${i % 5000 - 2500} WHERE aid = ${i % 100000 + 1};`,
  `SELECT abalance FROM pgbench_accounts WHERE aid = ${i % 100000 + 1};`,
  `UPDATE pgbench_tellers SET tbalance = tbalance + ${i % 5000} WHERE tid = ${i % 10 + 1};`,
  `UPDATE pgbench_branches SET bbalance = bbalance + ${i % 5000} WHERE bid = ${i % 1 + 1};`,
  `INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (${i % 10 + 1}, 1, ${i % 100000 + 1}, ${i % 5000}, CURRENT_TIMESTAMP);`,
];
const complete = be.commandComplete('SELECT 1');
const ready = be.readyForQuery('I');

function simple(tap: StatementTap, texts: Buffer[]): void {
  for (const q of texts) {
    tap.query(q);
    tap.server(0x43, complete);
    tap.server(0x5a, ready);
  }
}

function extended(tap: StatementTap, binds: Buffer[], parse: Buffer, exec: Buffer): void {
  for (const b of binds) {
    tap.parse(parse);
    tap.bind(b);
    tap.execute(exec);
    tap.sync();
    tap.server(0x43, complete);
    tap.server(0x5a, ready);
  }
}

function time(name: string, statements: number, f: () => void): void {
  f(); // warm: caches, JIT
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  f();
  const ns = Number(process.hrtime.bigint() - t0);
  console.log(`${name.padEnd(44)} ${(ns / statements / 1000).toFixed(2).padStart(6)} µs/statement  (heap +${((process.memoryUsage().heapUsed - heap0) / 1e6).toFixed(0)} MB before GC)`);
}

await loadClassifier();
const classifier = new Classifier();
const rules = rulesFor(compilePolicy(parseConfig('hba: h\npolicy:\n  r: {read_only: true, deny_functions: [dangerous]}\n', '/x.yaml').policy), 'bench', 'postgres');
const tapOf = (records: boolean, policy: boolean): StatementTap => new StatementTap({
  info, classifier, writer, classes: records ? ALL : new Set(), logParameter: false, rules: policy ? rules : null,
});

const selects = Array.from({ length: N }, (_, i) => fe.query(`SELECT abalance FROM pgbench_accounts WHERE aid = ${i % 100000 + 1};`));
const tpcb = Array.from({ length: N / 5 }, (_, i) => TPCB(i).map((t) => fe.query(t))).flat();
const parse = fe.parse('', 'SELECT abalance FROM pgbench_accounts WHERE aid = $1');
const binds = Array.from({ length: N }, (_, i) => fe.bind('', '', [Buffer.from(String(i % 100000 + 1))]));
const exec = fe.execute();

time('simple -S, records [all]', N, () => simple(tapOf(true, false), selects));
time('simple -S, policy only (read_only)', N, () => simple(tapOf(false, true), selects));
time('simple TPC-B statements, records [all]', tpcb.length, () => simple(tapOf(true, false), tpcb));
time('extended -S (Parse/Bind/Execute/Sync), records', N, () => extended(tapOf(true, false), binds, parse, exec));
console.log(`${written} records handed to the writer`);
await classifier.close();
