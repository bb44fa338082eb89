/**
 * The chain and `audit-log verify` on real files written by AuditLog: intact, an edited statement,
 * a deleted line, a reordered pair, an attacker who rebuilds the SHA-256 chain without the key, and
 * a missing file in the middle of a rotation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../../src/audit/log.js';
import { GENESIS, sha256Hex } from '../../../src/audit/chain.js';
import { verifyFiles } from '../../../src/audit/verify.js';
import { parseConfig } from '../../../src/config/load.js';
import { GatewayEvents } from '../../../src/events.js';
import { quietLogger, stmt } from './helpers.js';

const KEY = 'k'.repeat(32) + 'ey-material-for-the-test-0123456789';

/** Writes `n` statement records through AuditLog and returns the file's lines. */
async function written(n: number, yamlExtra = '', sinkExtra = ''): Promise<{ dir: string; path: string; lines: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'gh-verify-'));
  await writeFile(join(dir, 'audit.key'), `${KEY}\n`);
  const s = parseConfig(`hba: h\naudit:\n  on_sink_failure: block\n${yamlExtra}  sinks: [{type: file, path: audit.jsonl${sinkExtra}}]\n`, join(dir, 'g.yaml')).audit;
  const a = await AuditLog.open(s, new GatewayEvents(), quietLogger());
  for (let i = 1; i <= n; i++) {
    a.write(stmt(i, `select ${i}, 'row ${i}' -- ${'x'.repeat(40)}`));
    if (i % 4 === 0) await new Promise((r) => setImmediate(r));
  }
  await a.close();
  const path = join(dir, 'audit.jsonl');
  return { dir, path, lines: (await readFile(path, 'utf8')).trimEnd().split('\n') };
}

const rewrite = (path: string, lines: string[]): Promise<void> => writeFile(path, `${lines.join('\n')}\n`);

test('an intact file verifies, with and without the key', async () => {
  const { dir, path } = await written(10, '  hmac_key_file: audit.key\n');
  const r = await verifyFiles([path]);
  assert.equal(r.problem, undefined);
  assert.deepEqual([r.records, r.firstSeq, r.lastSeq], [10, 1, 10]);
  assert.equal((await verifyFiles([path], Buffer.from(KEY))).problem, undefined);
  assert.match((await verifyFiles([path], Buffer.from('another key of at least thirty-two bytes'))).problem?.message ?? '', /seq 1: hmac does not match/);
  await rm(dir, { recursive: true });
});

test('an edited statement is reported at its own line (the next record\'s prev no longer matches)', async () => {
  const { dir, path, lines } = await written(6);
  lines[2] = lines[2]!.replace("'row 3'", "'row 9'");
  await rewrite(path, lines);
  const r = await verifyFiles([path]);
  assert.equal(r.problem?.line, 3);
  assert.match(r.problem!.message, /record seq 3 was changed after it was written/);
  assert.equal(r.problem!.found, `sha256 ${sha256Hex(lines[2]!)}`);
  await rm(dir, { recursive: true });
});

test('with the key, an edited record fails its own hmac, even when the attacker rebuilt the SHA-256 chain', async () => {
  const { dir, path, lines } = await written(6, '  hmac_key_file: audit.key\n');
  // The attacker changes record 4 and recomputes every later prev, as anyone can without the key.
  lines[3] = lines[3]!.replace("'row 4'", "'row X'");
  for (let i = 4; i < lines.length; i++) {
    const o = JSON.parse(lines[i]!) as Record<string, unknown>;
    o.prev = sha256Hex(lines[i - 1]!);
    lines[i] = JSON.stringify(o);
  }
  await rewrite(path, lines);
  assert.equal((await verifyFiles([path])).problem, undefined, 'without the key, a rebuilt chain passes: that is what the key is for');
  const r = await verifyFiles([path], Buffer.from(KEY));
  assert.equal(r.problem?.line, 4);
  assert.match(r.problem!.message, /seq 4: hmac does not match/);
  await rm(dir, { recursive: true });
});

test('a deleted line is a missing seq, reported where the gap shows', async () => {
  const { dir, path, lines } = await written(6);
  lines.splice(3, 1);
  await rewrite(path, lines);
  const r = await verifyFiles([path]);
  assert.equal(r.problem?.line, 4);
  assert.match(r.problem!.message, /^missing record: seq 4/);
  assert.deepEqual([r.problem!.expected, r.problem!.found], ['seq 4', 'seq 5']);
  await rm(dir, { recursive: true });
});

test('a reordered pair is reported at the first line out of place', async () => {
  const { dir, path, lines } = await written(6);
  [lines[2], lines[3]] = [lines[3]!, lines[2]!];
  await rewrite(path, lines);
  const r = await verifyFiles([path]);
  assert.equal(r.problem?.line, 3);
  assert.deepEqual([r.problem!.expected, r.problem!.found], ['seq 3', 'seq 4']);
  await rm(dir, { recursive: true });
});

test('seq 1 must start from the genesis value; a later start is noted, not failed', async () => {
  const { dir, path, lines } = await written(4);
  const o = JSON.parse(lines[0]!) as Record<string, unknown>;
  o.prev = 'f'.repeat(64);
  await rewrite(path, [JSON.stringify(o), ...lines.slice(1)]);
  assert.deepEqual((await verifyFiles([path])).problem?.expected, `prev ${GENESIS}`);
  await rewrite(path, lines.slice(2));
  const r = await verifyFiles([path]);
  assert.equal(r.problem, undefined);
  assert.match(r.notes[0] ?? '', /starts at seq 3/);
  await rm(dir, { recursive: true });
});

test('across rotation: all files verify in order; a missing middle file is a gap at the next file\'s first line', async () => {
  const { dir, path } = await written(40, '', ', rotate_size: 1kB');
  const rotated = (await readdir(dir)).filter((n) => n.startsWith('audit.jsonl.')).sort().map((n) => join(dir, n));
  assert.ok(rotated.length >= 3, `${rotated.length} rotated files`);
  const all = [...rotated, path];
  const ok = await verifyFiles(all);
  assert.equal(ok.problem, undefined);
  assert.equal(ok.lastSeq, 40);
  const firstOfThird = JSON.parse((await readFile(all[2]!, 'utf8')).split('\n')[0]!) as { seq: number };
  const r = await verifyFiles(all.filter((_, i) => i !== 1));
  assert.equal(r.problem?.file, all[2]);
  assert.equal(r.problem?.line, 1);
  assert.match(r.problem!.message, /^missing records: seq \d+\.\.\d+/);
  assert.equal(r.problem!.found, `seq ${firstOfThird.seq}`);
  await rm(dir, { recursive: true });
});

test('a torn line is accepted once the writer acknowledged it; an unacknowledged one is reported', async () => {
  const { dir, path, lines } = await written(3);
  await writeFile(path, `${lines.join('\n')}\n{"seq":4,"pr`);
  const bad = await verifyFiles([path]);
  assert.equal(bad.problem?.line, 4);
  assert.match(bad.problem!.message, /not a JSON record.*no later record acknowledges it/);
  // Restart the writer: it acknowledges the torn line and continues.
  const s = parseConfig('hba: h\naudit:\n  on_sink_failure: block\n  sinks: [{type: file, path: audit.jsonl}]\n', join(dir, 'g.yaml')).audit;
  const a = await AuditLog.open(s, new GatewayEvents(), quietLogger());
  a.write(stmt(4));
  await a.close();
  const r = await verifyFiles([path]);
  assert.equal(r.problem, undefined);
  assert.equal(r.lastSeq, 5);
  assert.match(r.notes.join('\n'), /audit\.jsonl:4: a torn record .* acknowledged by seq 4/);
  await rm(dir, { recursive: true });
});
