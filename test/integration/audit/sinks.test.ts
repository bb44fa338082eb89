/**
 * Sinks against real files and real sockets: a file sink on a full disk (/dev/full) with
 * `on_sink_failure: block`, a syslog TCP receiver that goes away and comes back with
 * `drop_and_count`, and the RFC 5424 header over TCP (RFC 6587 octet counting) and UDP.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import { mkdtemp, readFile, rm, symlink, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { AuditLog } from '../../../src/audit/log.js';
import { checkLine } from '../../../src/audit/chain.js';
import { parseConfig } from '../../../src/config/load.js';
import { GatewayEvents, type AuditSinkEvent } from '../../../src/events.js';
import { addAuditMetrics } from '../../../src/metrics/audit-metrics.js';
import { freePort } from '../../harness/pg.js';
import { quietLogger, stmt } from '../../unit/audit/helpers.js';

const auditSettings = (dir: string, yaml: string) => parseConfig(`hba: h\naudit:\n${yaml}`, join(dir, 'g.yaml')).audit;

function nextSinkEvent(events: GatewayEvents, event: AuditSinkEvent['event']): Promise<AuditSinkEvent> {
  return new Promise((resolve) => {
    const on = (e: AuditSinkEvent): void => {
      if (e.event !== event) return;
      events.off('audit.sink', on);
      resolve(e);
    };
    events.on('audit.sink', on);
  });
}

/** A syslog receiver over TCP that splits RFC 6587 octet-counted frames. */
class TcpReceiver {
  readonly messages: string[] = [];
  private server: Server | null = null;
  private sockets = new Set<Socket>();
  private waiters: { n: number; resolve: () => void }[] = [];

  async listen(port: number): Promise<void> {
    this.server = createServer((s) => {
      this.sockets.add(s);
      let buf = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
          const sp = buf.indexOf(0x20);
          if (sp < 0) break;
          const len = Number(buf.subarray(0, sp).toString());
          if (buf.length < sp + 1 + len) break;
          this.messages.push(buf.subarray(sp + 1, sp + 1 + len).toString());
          buf = buf.subarray(sp + 1 + len);
        }
        for (const w of this.waiters.filter((x) => this.messages.length >= x.n)) w.resolve();
      });
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
  }

  received(n: number): Promise<void> {
    return this.messages.length >= n ? Promise.resolve() : new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }
}

test('block: a file sink on a full disk holds sessions (accepting false), then writes every queued record in order', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gh-sink-'));
  const path = join(dir, 'audit.jsonl');
  await symlink('/dev/full', path);
  const events = new GatewayEvents();
  const registry = new Registry();
  addAuditMetrics(registry, events);
  const logs: string[] = [];
  const a = await AuditLog.open(auditSettings(dir, '  on_sink_failure: block\n  sinks: [{type: file, path: audit.jsonl, fsync: always}]\n'), events, quietLogger(logs));
  const down = nextSinkEvent(events, 'down');
  a.write(stmt(1));
  assert.match((await down).error ?? '', /ENOSPC/);
  assert.equal(a.accepting, false, 'sessions must hold new statements');
  let resumed = false;
  const whenAccepting = a.whenAccepting().then(() => (resumed = true));
  for (let i = 2; i <= 5; i++) a.write(stmt(i)); // statements already in flight still produce records
  await new Promise((r) => setTimeout(r, 300)); // a few retries against the full disk
  assert.equal(resumed, false);
  // The disk has room again.
  const up = nextSinkEvent(events, 'up');
  await unlink(path);
  await up;
  await whenAccepting;
  assert.equal(a.accepting, true);
  a.write(stmt(6));
  await a.close();
  const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as { statement_id: number }).statement_id), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(lines.map((l) => { const c = checkLine(l); return c.ok ? c.seq : -1; }), [1, 2, 3, 4, 5, 6]);
  assert.equal(logs.filter((l) => l.includes('audit sink failed')).length, 1, 'one line when it went down, none per record or retry');
  assert.equal(logs.filter((l) => l.includes('audit sink recovered')).length, 1);
  const metrics = await registry.metrics();
  assert.match(metrics, new RegExp(`gatehouse_audit_records_written_total\\{sink="file:${path}"\\} 6`));
  assert.doesNotMatch(metrics, /gatehouse_audit_records_dropped_total\{/);
  assert.match(metrics, /gatehouse_audit_sink_errors_total\{sink="[^"]+"\} [1-9]/);
  assert.match(metrics, /gatehouse_audit_sink_up\{sink="[^"]+"\} 1/);
  await rm(dir, { recursive: true });
});

test('drop_and_count: a syslog TCP receiver goes away; records are dropped, counted and logged once; it comes back', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gh-sink-'));
  const port = await freePort();
  const rx = new TcpReceiver();
  await rx.listen(port);
  const events = new GatewayEvents();
  const registry = new Registry();
  addAuditMetrics(registry, events);
  const logs: string[] = [];
  const a = await AuditLog.open(auditSettings(dir, `  on_sink_failure: drop_and_count\n  sinks: [{type: syslog, protocol: tcp, port: ${port}, format: json}]\n`), events, quietLogger(logs));
  a.write(stmt(1));
  await rx.received(1);
  const down = nextSinkEvent(events, 'down');
  await rx.close();
  await down;
  assert.equal(a.accepting, true, 'drop_and_count never holds sessions');
  a.write(stmt(2));
  a.write(stmt(3));
  const sink = `syslog:127.0.0.1:${port}`;
  assert.match(await registry.metrics(), new RegExp(`gatehouse_audit_records_dropped_total\\{sink="${sink}"\\} 2`));
  assert.match(await registry.metrics(), new RegExp(`gatehouse_audit_sink_up\\{sink="${sink}"\\} 0`));
  const rx2 = new TcpReceiver();
  const up = nextSinkEvent(events, 'up');
  await rx2.listen(port);
  await up;
  a.write(stmt(4));
  await rx2.received(1);
  await a.close();
  await rx2.close();
  const seqOf = (m: string): number => (JSON.parse(m.slice(m.indexOf(' - ') + 3)) as { seq: number }).seq;
  assert.deepEqual([...rx.messages, ...rx2.messages].map(seqOf), [1, 4], 'the dropped records leave a visible gap in seq');
  const failed = logs.filter((l) => l.includes('audit sink failed'));
  assert.equal(failed.length, 1);
  assert.match(failed[0]!, /records are dropped and counted/);
  const recovered = logs.filter((l) => l.includes('audit sink recovered'));
  assert.equal(recovered.length, 1);
  assert.equal((JSON.parse(recovered[0]!) as { dropped: number }).dropped, 2);
  await rm(dir, { recursive: true });
});

const HEADER = /^<(\d+)>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\S+) (\S+) (\d+) (\S+) - (.*)$/s;

test('syslog over TCP: RFC 5424 header (PRI, version, timestamp, host, app, procid, msgid, no SD), octet-counted', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gh-sink-'));
  const port = await freePort();
  const rx = new TcpReceiver();
  await rx.listen(port);
  const events = new GatewayEvents();
  const a = await AuditLog.open(auditSettings(dir, `  on_sink_failure: block\n  sinks: [{type: syslog, port: ${port}, facility: 10, app_name: gh-test}]\n`), events, quietLogger());
  a.write(stmt(1, 'select 1,\n2'));
  events.emit('connection', { session: 8, client: { socket: 'tcp', address: '127.0.0.1', port: 4000 }, outcome: 'failure', sqlstate: '28P01', user: 'app',
    database: 'shop', hba: { file: '/x/pg_hba.conf', line: 3 }, method: 'scram-sha-256', reason: 'password authentication failed for user "app"', duration_ms: 4 });
  await rx.received(2);
  await a.close();
  await rx.close();
  const [m1, m2] = rx.messages.map((m) => HEADER.exec(m));
  assert.ok(m1 && m2, rx.messages.join('\n'));
  assert.equal(m1[1], String(10 * 8 + 6), 'authpriv.info');
  assert.equal(m2[1], String(10 * 8 + 5), 'a failed login is a notice');
  assert.ok(Math.abs(Date.parse(m1[2]!) - Date.now()) < 60_000);
  assert.deepEqual([m1[4], m1[5], m1[6]], ['gh-test', String(process.pid), 'statement']);
  assert.equal(m2[6], 'connection');
  assert.match(m1[7]!, /^\d{4}-\d\d-\d\d \S+ UTC \[1\] app@shop LOG: {2}AUDIT: SESSION,1,1,READ,SELECT,,,"select 1,\n2",<not logged>$/);
  assert.match(m2[7]!, /LOG: {2}connection failed: sqlstate=28P01 user=app database=shop host=127\.0\.0\.1 port=4000 hba=\/x\/pg_hba\.conf:3 /);
  await rm(dir, { recursive: true });
});

test('syslog over UDP: one RFC 5424 message a datagram', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gh-sink-'));
  const rx = createSocket('udp4');
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
  const port = rx.address().port;
  const got: string[] = [];
  const two = new Promise<void>((resolve) => rx.on('message', (m) => { got.push(m.toString()); if (got.length === 2) resolve(); }));
  const a = await AuditLog.open(auditSettings(dir, `  on_sink_failure: drop_and_count\n  sinks: [{type: syslog, protocol: udp, port: ${port}, format: json}]\n`), new GatewayEvents(), quietLogger());
  a.write(stmt(1));
  a.write(stmt(2));
  await two;
  await a.close();
  rx.close();
  const parsed = got.map((m) => HEADER.exec(m));
  assert.deepEqual(parsed.map((m) => [m?.[1], m?.[4], m?.[6]]), [['110', 'gatehouse', 'statement'], ['110', 'gatehouse', 'statement']]);
  assert.deepEqual(parsed.map((m) => (JSON.parse(m![7]!) as { seq: number }).seq), [1, 2]);
  await rm(dir, { recursive: true });
});

test('block keeps memory bounded: over queue_limit, records are dropped, counted and logged once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gh-sink-'));
  const path = join(dir, 'audit.jsonl');
  await symlink('/dev/full', path);
  const events = new GatewayEvents();
  const registry = new Registry();
  addAuditMetrics(registry, events);
  const logs: string[] = [];
  const a = await AuditLog.open(auditSettings(dir, '  on_sink_failure: block\n  queue_limit: 3\n  sinks: [{type: file, path: audit.jsonl}]\n'), events, quietLogger(logs));
  const down = nextSinkEvent(events, 'down');
  a.write(stmt(1));
  await down;
  for (let i = 2; i <= 6; i++) a.write(stmt(i));
  assert.match(await registry.metrics(), new RegExp(`gatehouse_audit_records_dropped_total\\{sink="file:${path}"\\} 3`), '1, 2, 3 are queued; 4, 5, 6 are over the limit');
  assert.equal(logs.filter((l) => l.includes('queue is full')).length, 1);
  const up = nextSinkEvent(events, 'up');
  await unlink(path);
  await up;
  await a.close();
  const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as { statement_id: number }).statement_id), [1, 2, 3]);
  await rm(dir, { recursive: true });
});
