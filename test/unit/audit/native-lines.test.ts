/**
 * native/auditline.h against the TypeScript it stands in for: the lines lines() builds for a
 * batch of prebuilt entries are byte for byte those prebuiltStatementJson() and Chain.appendJson()
 * build one by one (sealed with a key and not), so the chain they continue is the same; and
 * AuditLog, which batches a hand-over's prebuilt records for it, writes them in order with the
 * records it builds itself, falling back to building them itself when the native call fails. The
 * addon is required, not optional: CI builds it, and a missing build must fail this file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Chain, GENESIS } from '../../../src/audit/chain.js';
import { prebuiltStatementJson } from '../../../src/audit/format.js';
import { AuditLog } from '../../../src/audit/log.js';
import { LINE_STRIDE, onLineBuilder, onShape, shapeCached, templateOf, type LineBuilder, type Template } from '../../../src/audit/prebuilt.js';
import { verifyFiles } from '../../../src/audit/verify.js';
import { parseConfig } from '../../../src/config/load.js';
import { GatewayEvents } from '../../../src/events.js';
import type { AuditSessionInfo } from '../../../src/audit/types.js';
import { prng } from '../../support/prng.js';
import { quietLogger, stmt } from './helpers.js';

const addon = ((): LineBuilder & { linePart(id: number, part: Buffer): boolean } => {
  try {
    return createRequire(import.meta.url)('../../../build/Release/gatehouse_relay.node') as LineBuilder & { linePart(id: number, part: Buffer): boolean };
  } catch (e) {
    throw new Error(`the native addon is not built (node scripts/build-native.mjs): ${(e as Error).message}`, { cause: e });
  }
})();
const native: LineBuilder = { part: (id, part) => addon.linePart(id, part), lines: (...a) => addon.lines(...a) };

const KEY = Buffer.from('k'.repeat(32));
/** Longer than SHA-256's block: HMAC hashes it first. */
const LONG_KEY = Buffer.from('0123456789abcdef'.repeat(5));
const TIME = new Date('2026-12-05T21:00:05.756Z');

/** A prebuilt entry as native/fastrec.h hands it over (from its 'R'): template id, CommandComplete tag, statement text. */
function entry(id: number, tag: string, text: string): Buffer {
  const cc = Buffer.alloc(6 + tag.length);
  cc[0] = 0x43;
  cc.writeUInt32BE(cc.length - 1, 1);
  cc.write(tag, 5, 'latin1');
  const json = JSON.stringify(text);
  const m = Buffer.alloc(21 + cc.length + json.length);
  m[0] = 0x52;
  m.writeUInt32BE(m.length - 1, 1);
  m.writeUInt32LE(id, 5);
  m.writeDoubleLE(1234.5, 9);
  m.writeUInt32LE(cc.length, 17);
  cc.copy(m, 21);
  m.write(json, 21 + cc.length, 'latin1');
  return m;
}

interface Rec { m: Buffer; statementId: number; durationMs: number; rows: number; session: number }

/** Template ids 4090..4093 (out of the way of prebuilt.ts's own, which the AuditLog test below uses). */
const PARTS = [
  '"class":"READ","command":"SELECT","objects":[{"type":"TABLE","name":"public.pgbench_accounts"}]',
  '"class":"WRITE","command":"UPDATE","objects":[{"type":"TABLE","name":"public.pgbench_tellers"}]',
  '"class":"MISC","command":"BEGIN","objects":[]',
  '"class":"READ","command":"SELECT","objects":[{"type":"TABLE","name":"public.\\"odd name\\""}]',
];
for (const [i, p] of PARTS.entries()) assert.equal(addon.linePart(4090 + i, Buffer.from(p)), true);

const SESSIONS = [
  '"session":7,"user":"bench","database":"bench","client":{"socket":"tcp","address":"127.0.0.1","port":47028},"application_name":"pgbench"',
  '"session":8,"user":"José","database":"données","client":{"socket":"unix"},"application_name":"app ☃ 🐘"',
  '"session":9,"user":"u","database":"d","client":{"socket":"tcp","address":"::1","port":1}',
];

/** Durations as tap.ts durationBetween() rounds them, including halves, whole numbers and large ones. */
function durations(): number[] {
  const r = prng(6);
  const out = [0, 0.001, 0.0005, 0.0015, 0.1 + 0.2, 1.5, 12, 123.456, 999999.999, 2.675, 0.0104999];
  for (let i = 0; i < 300; i++) out.push(r() * 10 ** Math.floor(r() * 7));
  return out.map((d) => Math.round(d * 1000) / 1000);
}

function records(): { buffer: Buffer; recs: Rec[] } {
  const r = prng(7);
  const ms: Buffer[] = [];
  const recs: Rec[] = [];
  const rows = [-1, 0, 1, 42, 123456789012, 9007199254740991];
  const texts = ['SELECT abalance FROM pgbench_accounts WHERE aid = 5678', 'BEGIN', 'say "hi"\\ \t tab', 'x'.repeat(3000)];
  durations().forEach((durationMs, i) => {
    const t = Math.floor(r() * 4);
    const m = entry(4090 + t, rows[i % rows.length]! >= 0 ? `SELECT ${rows[i % rows.length]}` : 'BEGIN', texts[i % texts.length]!);
    ms.push(m);
    recs.push({ m, statementId: i + 1, durationMs, rows: rows[i % rows.length]!, session: i % SESSIONS.length });
  });
  // One buffer, as a hand-over's blob, with the entries at odd offsets.
  const buffer = Buffer.concat([Buffer.from('pad'), ...ms.flatMap((m) => [m, Buffer.from('.')])]);
  let at = 3;
  for (const rec of recs) {
    rec.m = buffer.subarray(at, at + rec.m.length);
    at += rec.m.length + 1;
  }
  return { buffer, recs };
}

function nums(recs: Rec[]): Float64Array {
  const n = new Float64Array(recs.length * LINE_STRIDE);
  recs.forEach((r, i) => n.set([r.m.byteOffset, r.m.length, r.statementId, r.durationMs, r.rows, r.session], i * LINE_STRIDE));
  return n;
}

for (const key of [undefined, KEY, LONG_KEY]) {
  test(`lines() writes what prebuiltStatementJson() and the chain write, byte for byte (${key ? `sealed, a ${key.length}-byte key` : 'no key'})`, () => {
    const { recs } = records();
    const chain = new Chain({ seq: 41, hash: 'ab'.repeat(32) }, key);
    const expected = recs.map((r) => {
      const text = r.m.toString('latin1', 21 + r.m.readUInt32LE(17));
      return chain.appendJson(prebuiltStatementJson(SESSIONS[r.session]!, r.statementId, PARTS[r.m.readUInt32LE(5) - 4090]!, text, r.durationMs, r.rows, TIME));
    });
    const [got, last] = addon.lines(recs[0]!.m.buffer, nums(recs), recs.length, SESSIONS, 42, 'ab'.repeat(32), TIME.toISOString(), key);
    assert.equal(got.length, expected.length);
    for (let i = 0; i < got.length; i++) assert.equal(got[i], expected[i], `record ${i + 1} (duration ${recs[i]!.durationMs}, rows ${recs[i]!.rows})`);
    assert.equal(last, chain.position.hash, 'the last hash continues the chain');
  });
}

test('lines() refuses what it cannot build, rather than writing a wrong line', () => {
  const good = entry(4090, 'SELECT 1', 'SELECT 1');
  const call = (m: Buffer, row: number[], sessions = SESSIONS, prev = GENESIS, time = TIME.toISOString()) =>
    addon.lines(m.buffer, Float64Array.from(row), 1, sessions, 1, prev, time);
  const ok = [good.byteOffset, good.length, 1, 0.5, 1, 0];
  assert.equal(call(good, ok)[0].length, 1);
  const unregistered = entry(4095, 'SELECT 1', 'x');
  assert.throws(() => call(unregistered, [unregistered.byteOffset, unregistered.length, 1, 0.5, 1, 0]), /not a prebuilt record/);
  assert.throws(() => call(good, [good.byteOffset, good.buffer.byteLength + 1, 1, 0.5, 1, 0]), /out of range/, 'past the buffer');
  assert.throws(() => call(good, [good.byteOffset, good.length, 1, -1, 1, 0]), /out of range/, 'a negative duration');
  assert.throws(() => call(good, [good.byteOffset, good.length, 1.5, 0.5, 1, 0]), /out of range/, 'a statement id that is no integer');
  assert.throws(() => call(good, [good.byteOffset, good.length, 1, 0.5, 1, 3]), /out of range/, 'no such session');
  assert.throws(() => call(good, ok, SESSIONS, 'short'), /lines\(entries/, 'a hash that is not 64 hex');
  const cc = Buffer.from(good);
  cc.writeUInt32LE(good.length, 17);
  assert.throws(() => call(cc, [cc.byteOffset, cc.length, 1, 0.5, 1, 0]), /not a prebuilt record/, 'a CommandComplete longer than the entry');
});

// AuditLog batches prebuilt records for the builder, and writes its own records after them in order.

const info = (session: number): AuditSessionInfo => ({
  session, user: 'bench', database: 'bench', client: { address: '127.0.0.1', port: 40000 + session }, application_name: 'pgbench',
});

let runs = 0;

async function writeMixed(builder: LineBuilder | null, key: boolean): Promise<{ lines: Record<string, unknown>[]; verified: Awaited<ReturnType<typeof verifyFiles>> }> {
  const dir = await mkdtemp(join(tmpdir(), 'gh-lines-'));
  const keyFile = join(dir, 'k');
  if (key) await (await import('node:fs/promises')).writeFile(keyFile, KEY);
  const s = parseConfig(`hba: h\naudit:\n${key ? `  hmac_key_file: ${keyFile}\n` : ''}  on_sink_failure: block\n  sinks: [{type: file, path: a.jsonl, fsync: never}]\n`, join(dir, 'gatehouse.yaml')).audit;
  onLineBuilder(builder);
  try {
    const log = await AuditLog.open(s, new GatewayEvents(), quietLogger());
    let id = 0;
    onShape((_k, i) => ((id = i), true));
    shapeCached(`SELECT abalance FROM native_lines_${++runs} WHERE aid = ?`, { class: 'READ', command: 'SELECT', objects: [], functions: [], text: 'x' });
    onShape(null);
    const t = templateOf(id) as Template;
    const hand = (n: number, from: number): Buffer[] => {
      // Its own memory, as a hand-over's blob (Buffer.concat may share its pool with the previous one).
      const raw = Buffer.concat(Array.from({ length: n }, (_, i) => entry(id, 'SELECT 1', `SELECT abalance FROM t WHERE aid = ${from + i}`)));
      const blob = Buffer.alloc(raw.length);
      raw.copy(blob);
      const out: Buffer[] = [];
      for (let at = 0; at < blob.length; at += out.at(-1)!.length) out.push(blob.subarray(at, at + 1 + blob.readUInt32BE(at + 1)));
      return out;
    };
    let sid = 0;
    // A hand-over of 5, a record the writer builds itself, 3 more of the same hand-over, then a second hand-over's 4.
    const first = hand(8, 1);
    for (const m of first.slice(0, 5)) log.writePrebuilt(info(1), ++sid, t, m, 21 + m.readUInt32LE(17), 0.25, 1);
    log.write({ ...stmt(++sid), session: 2 });
    for (const m of first.slice(5)) log.writePrebuilt(info(1), ++sid, t, m, 21 + m.readUInt32LE(17), 0.25, 1);
    for (const m of hand(4, 9)) log.writePrebuilt(info(3), ++sid, t, m, 21 + m.readUInt32LE(17), 1, -1);
    await new Promise((r) => setImmediate(r));
    log.write({ ...stmt(++sid), session: 2 });
    await log.close();
    const file = join(dir, 'a.jsonl');
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    return { lines, verified: await verifyFiles([file], key ? KEY : undefined) };
  } finally {
    onLineBuilder(null);
  }
}

for (const key of [false, true]) {
  test(`AuditLog writes batched prebuilt records in order with its own, one chain (${key ? 'sealed' : 'no key'})`, async () => {
    let calls = 0;
    const counted: LineBuilder = { part: native.part, lines: (...a) => (calls++, native.lines(...a)) };
    const n = await writeMixed(counted, key);
    const j = await writeMixed(null, key);
    assert.equal(n.verified.problem, undefined, JSON.stringify(n.verified.problem));
    assert.equal(n.verified.records, 14);
    assert.ok(calls >= 2, `the native builder wrote the batches (${calls} calls)`);
    const strip = (l: Record<string, unknown>) => ({ ...l, prev: undefined, time: undefined, hmac: undefined });
    assert.deepEqual(n.lines.map(strip), j.lines.map(strip), 'the same records as the writer builds itself');
    assert.deepEqual(n.lines.map((l) => l.statement_id), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    assert.deepEqual(n.lines.map((l) => l.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    assert.equal(n.lines[13]!.rows, undefined);
    assert.equal(key, typeof n.lines[0]!.hmac === 'string');
  });
}

test('when the native builder fails, AuditLog builds those records itself: nothing is lost, the chain holds', async () => {
  const failing: LineBuilder = { part: () => true, lines: () => { throw new Error('lines: out of memory'); } };
  const { lines, verified } = await writeMixed(failing, true);
  assert.equal(verified.problem, undefined, JSON.stringify(verified.problem));
  assert.deepEqual(lines.map((l) => l.statement_id), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
});
