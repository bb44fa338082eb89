/** AuditLog against real files: class selection, chaining across restarts, torn tails, rotation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../../src/audit/log.js';
import { GENESIS, checkLine, sha256Hex } from '../../../src/audit/chain.js';
import { resolveClasses } from '../../../src/audit/classes.js';
import { parseConfig } from '../../../src/config/load.js';
import { GatewayEvents } from '../../../src/events.js';
import { GatehouseError } from '../../../src/errors.js';
import { quietLogger, stmt } from './helpers.js';

const settings = (dir: string, yaml: string) => parseConfig(`hba: h\naudit:\n${yaml}`, join(dir, 'gatehouse.yaml')).audit;

test('pgaudit.log rules: left to right, -class subtracts, none adds nothing', () => {
  assert.deepEqual([...resolveClasses(['none'])], []);
  assert.deepEqual([...resolveClasses(['all', '-misc', '-MISC_SET'])], ['read', 'write', 'function', 'role', 'ddl']);
  assert.deepEqual([...resolveClasses(['read', 'none'])], ['read']);
  assert.deepEqual([...resolveClasses(['-read', 'read'])], ['read']);
  assert.deepEqual([...resolveClasses(['read', 'write', '-all', 'ddl'])], ['ddl']);
});

test('statementClasses: a role\'s override wins over its database\'s, which wins over audit.log; no sink, nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gh-audit-'));
  const s = settings(dir, '  log: [read]\n  users: {boss: {log: [all]}}\n  databases: {hr: {log: [write, ddl]}}\n  on_sink_failure: block\n  sinks: [{type: file, path: a.jsonl}]\n');
  const a = await AuditLog.open(s, new GatewayEvents(), quietLogger());
  assert.deepEqual([...a.statementClasses('app', 'shop')], ['read']);
  assert.deepEqual([...a.statementClasses('app', 'hr')], ['write', 'ddl']);
  assert.equal(a.statementClasses('boss', 'hr').size, 7);
  assert.deepEqual(a.reconfigure({ ...s, log: ['ddl'] }), []);
  assert.deepEqual([...a.statementClasses('app', 'shop')], ['ddl'], 'a reload changes the classes');
  assert.deepEqual(a.reconfigure({ ...s, queue_limit: 5, sinks: [] }), ['audit.sinks', 'audit.queue_limit'], 'restart-only keys are named and kept');
  assert.equal(a.enabled, true);
  await a.close();
  assert.equal(AuditLog.disabled().statementClasses('boss', 'hr').size, 0);
  assert.equal(AuditLog.disabled().accepting, true);
});

test('on_sink_failure is required once a sink is set', () => {
  assert.throws(() => parseConfig('hba: h\naudit: {sinks: [{type: stdout}]}\n', '/x/g.yaml'), /audit\.on_sink_failure: required when audit\.sinks is set/);
  assert.throws(() => parseConfig('hba: h\naudit: {on_sink_failure: block, sinks: [{type: file, path: a, fsync: sometimes}]}\n', '/x/g.yaml'), /audit\.sinks\.0\.fsync/);
  assert.throws(() => parseConfig('hba: h\naudit: {on_sink_failure: block, sinks: [{type: file, path: a, rotate_sise: 1}]}\n', '/x/g.yaml'),
    /audit\.sinks\.0\.rotate_sise: unknown key \(did you mean "rotate_size"\?\)/);
  assert.throws(() => parseConfig('hba: h\naudit: {log: [reads]}\n', '/x/g.yaml'), /audit\.log\.0: must be read, write/);
  const c = parseConfig('hba: h\naudit: {hmac_key_file: k, on_sink_failure: block, sinks: [{type: file, path: a.jsonl, rotate_size: 10MB}]}\n', '/x/g.yaml');
  assert.equal(c.audit.hmac_key_file, '/x/k');
  assert.deepEqual(c.audit.sinks[0], { type: 'file', path: '/x/a.jsonl', format: 'json', fsync: 'interval', fsync_interval: 1000, rotate_size: 10 * 1024 * 1024, rotate_interval: 0 });
});

test('the chain continues across a restart, from the file\'s last line', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gh-audit-'));
  const s = settings(dir, '  on_sink_failure: block\n  sinks: [{type: file, path: a.jsonl, fsync: always}]\n');
  for (const run of [0, 1]) {
    const a = await AuditLog.open(s, new GatewayEvents(), quietLogger());
    a.write(stmt(run * 2 + 1));
    a.write(stmt(run * 2 + 2));
    await a.close();
  }
  const lines = (await readFile(join(dir, 'a.jsonl'), 'utf8')).trimEnd().split('\n');
  assert.equal(lines.length, 4);
  let prev = GENESIS;
  lines.forEach((l, i) => {
    const c = checkLine(l);
    assert.ok(c.ok);
    assert.equal(c.seq, i + 1);
    assert.equal(c.prev, prev);
    prev = sha256Hex(l);
  });
});

test('a torn last line is kept, logged, and acknowledged by a chain record; the chain resumes before it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gh-audit-'));
  const s = settings(dir, '  on_sink_failure: block\n  sinks: [{type: file, path: a.jsonl}]\n');
  let a = await AuditLog.open(s, new GatewayEvents(), quietLogger());
  a.write(stmt(1));
  await a.close();
  await appendFile(join(dir, 'a.jsonl'), '{"seq":2,"prev":"ab');
  const logs: string[] = [];
  a = await AuditLog.open(s, new GatewayEvents(), quietLogger(logs));
  a.write(stmt(2));
  await a.close();
  assert.ok(logs.some((l) => l.includes('torn record')), 'the torn line is reported in the log');
  const lines = (await readFile(join(dir, 'a.jsonl'), 'utf8')).trimEnd().split('\n');
  assert.equal(lines[1], '{"seq":2,"prev":"ab');
  const marker = JSON.parse(lines[2]!) as { seq: number; prev: string; kind: string; torn: { sha256: string; bytes: number }[] };
  assert.equal(marker.kind, 'chain');
  assert.equal(marker.seq, 2);
  assert.equal(marker.prev, sha256Hex(lines[0]!));
  assert.deepEqual(marker.torn.map((t) => [t.bytes, t.sha256]), [[19, sha256Hex('{"seq":2,"prev":"ab')]]);
  assert.equal((JSON.parse(lines[3]!) as { seq: number }).seq, 3);
});

test('a file whose last line is no chain record is refused at start (GH_AUDIT_CHAIN)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gh-audit-'));
  await writeFile(join(dir, 'a.jsonl'), 'this is not json\n');
  const s = settings(dir, '  on_sink_failure: block\n  sinks: [{type: file, path: a.jsonl}]\n');
  await assert.rejects(AuditLog.open(s, new GatewayEvents(), quietLogger()), (e: unknown) => e instanceof GatehouseError && e.code === 'GH_AUDIT_CHAIN');
});

test('rotation by size: full files get a time stamp, the chain runs on, nothing is lost', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gh-audit-'));
  const s = settings(dir, '  on_sink_failure: block\n  sinks: [{type: file, path: a.jsonl, rotate_size: 1kB}]\n');
  const a = await AuditLog.open(s, new GatewayEvents(), quietLogger());
  for (let i = 1; i <= 30; i++) {
    a.write(stmt(i, `select ${'x'.repeat(100)} -- ${i}`));
    if (i % 3 === 0) await new Promise((r) => setImmediate(r));
  }
  await a.close();
  const names = (await readdir(dir)).filter((n) => n.startsWith('a.jsonl')).sort();
  assert.ok(names.length >= 4, `rotated into ${names.length} files`);
  const rotated = names.filter((n) => n !== 'a.jsonl');
  assert.ok(rotated.every((n) => /^a\.jsonl\.\d{8}T\d{6}\.\d{3}Z(-\d+)?$/.test(n)), rotated.join(' '));
  for (const n of rotated) assert.ok((await readFile(join(dir, n))).length <= 1024, `${n} is within rotate_size`);
  const all: string[] = [];
  for (const n of [...rotated, 'a.jsonl']) all.push(...(await readFile(join(dir, n), 'utf8')).trimEnd().split('\n').filter(Boolean));
  assert.deepEqual(all.map((l) => (JSON.parse(l) as { seq: number }).seq), Array.from({ length: 30 }, (_, i) => i + 1));
});

test('an HMAC key shorter than 32 bytes is refused (GH_AUDIT_KEY)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gh-audit-'));
  await writeFile(join(dir, 'k'), 'short\n');
  const s = settings(dir, '  hmac_key_file: k\n  on_sink_failure: block\n  sinks: [{type: file, path: a.jsonl}]\n');
  await assert.rejects(AuditLog.open(s, new GatewayEvents(), quietLogger()), /the key is 5 bytes; use at least 32/);
});

test('rotation by age: the file is renamed once it is older than rotate_interval, checked before a write', async () => {
  const { FileSink } = await import('../../../src/audit/sinks/file.js');
  const dir = await mkdtemp(join(tmpdir(), 'gh-audit-'));
  let now = Date.parse('2026-12-04T00:00:00.000Z');
  const s = settings(dir, '  on_sink_failure: block\n  sinks: [{type: file, path: a.log, format: pgaudit, rotate_interval: 1h}]\n').sinks[0]!;
  assert.equal(s.type, 'file');
  const sink = new FileSink(s as Extract<typeof s, { type: 'file' }>, () => now);
  await sink.open();
  const line = (text: string) => [{ text, kind: 'statement' as const, severity: 6, time: new Date(now) }];
  await sink.write(line('one'));
  now += 59 * 60_000;
  await sink.write(line('two'));
  now += 2 * 60_000;
  await sink.write(line('three'));
  await sink.close();
  assert.deepEqual((await readdir(dir)).sort(), ['a.log', 'a.log.20261204T010100.000Z']);
  assert.equal(await readFile(join(dir, 'a.log.20261204T010100.000Z'), 'utf8'), 'one\ntwo\n');
  assert.equal(await readFile(join(dir, 'a.log'), 'utf8'), 'three\n');
});
