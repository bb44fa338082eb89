/** The gateway's audit writer across a reload: classes change at once, sinks need a restart, shutdown flushes the session ends. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gateway } from '../../../src/gateway/gateway.js';
import { quietLogger } from './helpers.js';

test('reload: audit.log changes for the next statement; a sink change is logged and waits for a restart', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gh-audit-reload-'));
  try {
    await writeFile(join(dir, 'pg_hba.conf'), 'host all all 127.0.0.1/32 scram-sha-256\n');
    const config = (log: string, path: string): string =>
      `hba: pg_hba.conf\nlisten: {port: 1}\naudit:\n  log: ${log}\n  on_sink_failure: drop_and_count\n  sinks: [{type: file, path: ${path}}]\n`;
    await writeFile(join(dir, 'g.yaml'), config('[read]', 'a.jsonl'));
    const gw = new Gateway(join(dir, 'g.yaml'));
    const logs: string[] = [];
    await gw.openAudit(quietLogger(logs));
    assert.deepEqual([...gw.audit.statementClasses('app', 'db')], ['read']);
    await writeFile(join(dir, 'g.yaml'), config('[ddl, role]', 'b.jsonl'));
    assert.equal(gw.reload().ok, true);
    assert.deepEqual([...gw.audit.statementClasses('app', 'db')], ['ddl', 'role']);
    const warning = logs.find((l) => l.includes('need a restart'));
    assert.deepEqual((JSON.parse(warning ?? '{}') as { keys?: string[] }).keys, ['audit.sinks']);
    gw.events.emit('session.end', { session: 3, client: { socket: 'tcp', address: '127.0.0.1', port: 9 }, user: 'app', database: 'db',
      duration_ms: 5, bytes_in: 1, bytes_out: 2, reason: 'client closed' });
    await gw.shutdown('fast');
    const lines = (await readFile(join(dir, 'a.jsonl'), 'utf8')).trimEnd().split('\n');
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as { kind: string }).kind), ['disconnection'], 'still the first sink; written before shutdown ended');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
