/** `gatehouse audit-log verify` through the built CLI: exit 0 intact, 1 broken (with file:line), 2 unreadable. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../../src/audit/log.js';
import { parseConfig } from '../../../src/config/load.js';
import { GatewayEvents } from '../../../src/events.js';
import { quietLogger, stmt } from '../../unit/audit/helpers.js';

const CLI = new URL('../../../dist/cli.js', import.meta.url).pathname;
const run = (...args: string[]): { code: number; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [CLI, 'audit-log', 'verify', ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
};

test('exit codes and reports of audit-log verify, across rotation and with the key', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gh-verify-cli-'));
  try {
    const key = join(dir, 'audit.key');
    await writeFile(key, `${'0123456789abcdef'.repeat(4)}\n`, { mode: 0o600 });
    const s = parseConfig('hba: h\naudit:\n  hmac_key_file: audit.key\n  on_sink_failure: block\n  sinks: [{type: file, path: audit.jsonl, rotate_size: 2kB}]\n', join(dir, 'g.yaml')).audit;
    const a = await AuditLog.open(s, new GatewayEvents(), quietLogger());
    for (let i = 1; i <= 40; i++) {
      a.write(stmt(i, `select ${i} -- ${'y'.repeat(60)}`));
      if (i % 5 === 0) await new Promise((r) => setImmediate(r));
    }
    await a.close();
    const path = join(dir, 'audit.jsonl');
    const rotated = (await readdir(dir)).filter((n) => n.startsWith('audit.jsonl.')).sort().map((n) => join(dir, n));
    assert.ok(rotated.length >= 3, `${rotated.length} rotated files`);

    const ok = run('--with-rotated', '--hmac-key-file', key, path);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, new RegExp(`^OK: 40 records in ${rotated.length + 1} files, seq 1\\.\\.40, chain intact, every hmac checked$`, 'm'));
    assert.equal(run(...rotated, path).code, 0, 'the files named in order verify the same');

    const missing = run(...rotated.slice(1), path);
    assert.equal(missing.code, 0, 'a chain may start after seq 1 (older files deleted by retention)');
    assert.match(missing.stderr, /note: .*the chain starts at seq \d+/);
    const gap = run(rotated[0]!, ...rotated.slice(2), path);
    assert.equal(gap.code, 1, 'a missing middle file is a gap');
    assert.match(gap.stdout, new RegExp(`^BROKEN at ${rotated[2]!.replaceAll('.', '\\.')}:1: missing records`, 'm'));

    const lines = (await readFile(path, 'utf8')).split('\n');
    lines[1] = lines[1]!.replace('select', 'SELECT');
    await writeFile(path, lines.join('\n'));
    const edited = run('--with-rotated', '--hmac-key-file', key, path);
    assert.equal(edited.code, 1);
    assert.match(edited.stdout, new RegExp(`^BROKEN at ${path.replaceAll('.', '\\.')}:2: seq \\d+: hmac does not match`, 'm'));

    const gone = run(join(dir, 'nope.jsonl'));
    assert.equal(gone.code, 2);
    assert.match(gone.stderr, /nope\.jsonl: ENOENT.*\[GH_AUDIT_READ\]/);
    await writeFile(key, 'short');
    assert.equal(run('--hmac-key-file', key, path).code, 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
