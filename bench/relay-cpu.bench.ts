/**
 * Session relay CPU per transaction, native against node engine, not a test: a gatehouse runs
 * in this process in front of a throw-away PostgreSQL 15 (the integration fixture), `pgbench -S`
 * runs through it ROUNDS times per engine, alternating, and every thread's utime/stime from
 * /proc/self/task/<tid>/stat is divided by the transactions. Per-thread CPU shows where the cost
 * is (the native relay thread or Node's main thread) and, unlike TPS, is not much moved by other
 * load on the machine.
 *
 *   npx tsx bench/relay-cpu.bench.ts                 # CLIENTS=8 DURATION=6 ROUNDS=2
 *   CLIENTS=1 npx tsx bench/relay-cpu.bench.ts
 *
 * Needs root (PostgreSQL runs as `postgres`), Debian's pgbench and the native relay built
 * (`npm install`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { clientBin, startCluster, type Cluster } from '../test/harness/pg.js';
import { makeCertSet } from '../test/harness/certs.js';
import { startGatehouse, verifierOf, type Gatehouse } from '../test/integration/gateway/fixture.js';
import { nativeRelayStatus } from '../src/session/native-relay.js';

const CLIENTS = Number(process.env.CLIENTS ?? 8);
const DURATION = Number(process.env.DURATION ?? 6);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
/** Clock ticks per second (USER_HZ): 100 on Linux. */
const HZ = 100;

type Ticks = Map<string, { name: string; user: number; sys: number }>;

function threadTicks(): Ticks {
  const out: Ticks = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(tid, { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), user: Number(fields[11]), sys: Number(fields[12]) });
  }
  return out;
}

function pgbench(port: number): Promise<number> {
  const args = ['-S', '-n', '-c', String(CLIENTS), '-j', String(Math.min(CLIENTS, 2)), '-T', String(DURATION), '-h', '127.0.0.1', '-p', String(port), '-U', 'bench', 'benchdb'];
  return new Promise((resolve, reject) => {
    const c = spawn(clientBin('pgbench'), args, { env: { ...process.env, PGPASSWORD: 'bench-pw', PGSSLMODE: 'disable' } });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d));
    c.stderr.on('data', (d: Buffer) => (out += d));
    c.on('close', (code) => {
      const x = /actually processed: (\d+)/.exec(out);
      if (code !== 0 || !x) return reject(new Error(`pgbench failed:\n${out}`));
      resolve(Number(x[1]));
    });
  });
}

async function measure(engine: string, gh: Gatehouse): Promise<void> {
  const before = threadTicks();
  const xacts = await pgbench(gh.port);
  const after = threadTicks();
  const us = (ticks: number): number => (ticks * 1e6) / HZ / xacts;
  let user = 0;
  let sys = 0;
  const threads: string[] = [];
  for (const [tid, t] of after) {
    const b = before.get(tid) ?? { user: 0, sys: 0 };
    const du = us(t.user - b.user);
    const ds = us(t.sys - b.sys);
    user += du;
    sys += ds;
    if (du + ds >= 1) threads.push(`${t.name}[${tid}] ${du.toFixed(1)}+${ds.toFixed(1)}`);
  }
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`| ${engine} | ${CLIENTS} | ${Math.round(xacts / DURATION)} | ${user.toFixed(1)} | ${sys.toFixed(1)} | **${(user + sys).toFixed(1)}** | ${threads.join(', ')} | ${load} |`);
}

async function main(): Promise<void> {
  if (!nativeRelayStatus().available) throw new Error(`${nativeRelayStatus().detail}: run npm install first`);
  let cluster: Cluster | null = null;
  const gates: Gatehouse[] = [];
  try {
    cluster = await startCluster({ version: 15, hba: 'host all all 127.0.0.1/32 scram-sha-256\nlocal all all trust' });
    await cluster.createRole('bench', { password: 'bench-pw' });
    await cluster.query('CREATE DATABASE benchdb OWNER bench');
    const init = spawnSync(clientBin('pgbench'), ['-i', '-s', '1', '-q', '-h', cluster.socketDir, '-p', String(cluster.port), '-U', 'bench', 'benchdb']);
    if (init.status !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);
    const common = { cluster, certs: await makeCertSet(), hba: 'host all all 127.0.0.1/32 scram-sha-256', users: [`"bench" "${await verifierOf(cluster, 'bench')}"`] };
    const native = await startGatehouse({ ...common, extraYaml: 'relay_engine: native' });
    gates.push(native);
    const node = await startGatehouse({ ...common, extraYaml: 'relay_engine: node' });
    gates.push(node);
    console.log('| engine | clients | TPS | user µs/xact | kernel µs/xact | total | threads (user+kernel µs/xact) | load average |');
    console.log('|---|---:|---:|---:|---:|---:|---|---|');
    for (let i = 0; i < ROUNDS; i++) {
      await measure('native', native);
      await measure('node', node);
    }
  } finally {
    for (const g of gates) await g.stop();
    await cluster?.stop();
  }
}

await main();
