/** `gatehouse serve` with an audit sink it cannot open stops at start with GH_AUDIT_SINK (exit 2), before listening. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../harness/pg.js';

const CLI = new URL('../../../dist/cli.js', import.meta.url).pathname;

test('serve refuses to start when an audit sink cannot be opened', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gh-serve-audit-'));
  try {
    await writeFile(join(dir, 'pg_hba.conf'), 'host all all 127.0.0.1/32 scram-sha-256\n');
    await writeFile(join(dir, 'g.yaml'), [
      `listen: {port: ${await freePort()}}`,
      'hba: pg_hba.conf',
      'audit:',
      '  on_sink_failure: block',
      '  sinks: [{type: file, path: no-such-dir/audit.jsonl}]',
    ].join('\n'));
    const r = spawnSync(process.execPath, [CLI, 'serve', '-c', join(dir, 'g.yaml')], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`gatehouse: file:${join(dir, 'no-such-dir/audit.jsonl').replaceAll('.', '\\.')}: could not open: ENOENT.*\\[GH_AUDIT_SINK\\]`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('config check reads the audit HMAC key as serve would', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gh-check-audit-'));
  try {
    await writeFile(join(dir, 'pg_hba.conf'), 'host all all 127.0.0.1/32 scram-sha-256\n');
    await writeFile(join(dir, 'g.yaml'), 'hba: pg_hba.conf\naudit: {hmac_key_file: audit.key, on_sink_failure: block, sinks: [{type: stdout}]}\n');
    const check = (): ReturnType<typeof spawnSync> => spawnSync(process.execPath, [CLI, 'config', 'check', join(dir, 'g.yaml')], { encoding: 'utf8' });
    await writeFile(join(dir, 'audit.key'), 'too short\n');
    const short = check();
    assert.equal(short.status, 2);
    assert.match(String(short.stderr), /audit\.key: the key is 9 bytes; use at least 32 .*\[GH_AUDIT_KEY\]/);
    await writeFile(join(dir, 'audit.key'), `${'ab'.repeat(32)}\n`);
    const ok = check();
    assert.equal(ok.status, 0, String(ok.stderr));
    assert.match(String(ok.stdout), /: OK \(1 hba rules, TLS off, 1 audit sink\)$/m);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
