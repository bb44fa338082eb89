/** `gatehouse audit --probe HOST:PORT` end to end against a real server: the scanner's view as findings. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type Cluster } from '../../harness/pg.js';
import { makeCertSet } from '../../harness/certs.js';
import { runAudit, type AuditIo } from '../../../src/cli/audit.js';
import type { JsonReport } from '../../../src/inspector/report/json.js';

let cluster: Cluster;
before(async () => {
  cluster = await startCluster({
    version: 18,
    certs: await makeCertSet(),
    hba: 'host all trusty 127.0.0.1/32 trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n',
  });
  await cluster.createRole('trusty', { password: 'unused' });
});
after(async () => {
  await cluster?.stop();
});

test('--probe with a trust role: critical GH-PROBE-009 and plaintext GH-PROBE-001, exit 1', async () => {
  let stdout = '';
  const io: AuditIo = { out: (t) => (stdout += t), err: () => undefined, isTTY: false };
  const code = await runAudit(undefined, { probe: `127.0.0.1:${cluster.port}`, probeUser: 'trusty', probeServername: 'localhost', format: 'json', failOn: 'critical' }, io);
  assert.equal(code, 1);
  const report = JSON.parse(stdout) as JsonReport & { findings: { id: string; severity: string }[] };
  const ids = report.findings.map((f) => f.id);
  assert.ok(ids.includes('GH-PROBE-009'), ids.join(' '));
  assert.ok(ids.includes('GH-PROBE-001'), ids.join(' '));
  assert.ok(!ids.some((id) => id.startsWith('GH-HBA') || id.startsWith('GH-SSL')), 'no offline checks without --conf/--hba');
  assert.equal(report.findings.find((f) => f.id === 'GH-PROBE-009')?.severity, 'critical');
});

test('--probe with a SCRAM role over TLS: no critical or high finding', async () => {
  let stdout = '';
  const io: AuditIo = { out: (t) => (stdout += t), err: () => undefined, isTTY: false };
  await cluster.setHba('hostssl all all 127.0.0.1/32 scram-sha-256\n');
  const code = await runAudit(undefined, { probe: `127.0.0.1:${cluster.port}`, probeUser: 'trusty', probeServername: 'localhost', format: 'json', failOn: 'high' }, io);
  const report = JSON.parse(stdout) as { findings: { id: string; severity: string }[] };
  assert.deepEqual(report.findings.filter((f) => f.severity === 'critical' || f.severity === 'high').map((f) => f.id), []);
  assert.equal(code, 0);
});
