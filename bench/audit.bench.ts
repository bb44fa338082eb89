/**
 * Statement-audit benchmark (issue 6), not a test: the same gatehouse twice in front of one
 * PostgreSQL, once with no audit (the untouched fast path) and once with `audit.log: [all]` to a
 * JSON file sink (every statement classified, recorded and chained), and pgbench through each in
 * one run, alternating so that drift hits both alike:
 *
 *   select: pgbench -S -c 32 -j 2 (simple protocol)
 *   tpcb:   pgbench's default TPC-B-like script -c 16 -j 2 -n
 *
 * Reports the median TPS of each and the ratio audited / off (target: at least 0.90), each round's
 * own ratio (both targets ran back to back in it) and their median, the records
 * written, and gatehouse's CPU per transaction for each.
 *
 *   npx tsx bench/audit.bench.ts                  # DURATION=15 s per run, ROUNDS=3, POOL_MODE=session
 *   DURATION=5 ROUNDS=1 npx tsx bench/audit.bench.ts
 *   PROTOCOL=extended npx tsx bench/audit.bench.ts   # pgbench -M extended (Parse/Bind/Execute taps)
 *   TESTS=tpcb npx tsx bench/audit.bench.ts          # a subset: select, tpcb
 *   OFF_RELAY=node npx tsx bench/audit.bench.ts       # audit off on the JavaScript relay as well (session mode: a
 *                                                     # tapped session always runs on it; the default off uses the native one)
 *   CPU_PROF_DIR=/tmp/prof npx tsx bench/audit.bench.ts  # node --cpu-prof for both gatehouses (off.cpuprofile, audit.cpuprofile)
 *   RATE=1000 TESTS=tpcb npx tsx bench/audit.bench.ts  # pgbench -R 1000: both at a fixed rate, so CPU µs/xact is the figure
 *                                                     # (steadier than saturated TPS on a shared VM, for A/B of a change)
 *
 * Needs root (PostgreSQL runs as `postgres`), a built dist/ (each gatehouse is its own process)
 * and Debian's pgbench. Run it on a quiet machine: on 2 shared cores PostgreSQL, pgbench and
 * gatehouse compete, and TPS follows gatehouse's CPU per transaction.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, stat } from 'node:fs/promises';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { availableVersions, clientBin, freePort, startCluster } from '../test/harness/pg.js';

const DURATION = Number(process.env.DURATION ?? 15);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const POOL_MODE = process.env.POOL_MODE ?? 'session';
const PROTOCOL = process.env.PROTOCOL ?? 'simple';
const PW = 'bench-audit-pw';
const RATE = process.env.RATE ? ['-R', process.env.RATE] : [];

const TESTS = {
  select: ['-S', '-c', '32', '-j', '2'],
  tpcb: ['-c', '16', '-j', '2'],
} as const;
type TestName = keyof typeof TESTS;
/** TESTS="tpcb" runs a subset. */
const CHOSEN = (process.env.TESTS?.split(/\s+/).filter(Boolean) ?? Object.keys(TESTS)) as TestName[];

interface Target { name: 'off' | 'audit'; port: number; proc: ChildProcess }
interface Run { tps: number; failed: number; cpuUsPerXact: number }

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d));
    c.stderr.on('data', (d: Buffer) => (stderr += d));
    c.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function pgbench(t: Target, test: TestName, seconds: number): Promise<Run> {
  const cpu0 = cpuSeconds(t.proc.pid);
  const r = await run(clientBin('pgbench'), ['-n', ...TESTS[test], ...RATE, '-M', PROTOCOL, '-T', String(seconds), '-h', '127.0.0.1', '-p', String(t.port), '-U', 'bench', 'postgres'],
    { PGPASSWORD: PW, PGSSLMODE: 'disable' });
  const cpu = cpuSeconds(t.proc.pid) - cpu0;
  const tps = /tps = ([0-9.]+) \(without initial connection time\)/.exec(r.stdout)?.[1] ?? /tps = ([0-9.]+)/.exec(r.stdout)?.[1];
  if (!tps) throw new Error(`pgbench through ${t.name} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  const xacts = Number(/number of transactions actually processed: (\d+)/.exec(r.stdout)?.[1] ?? 0);
  return { tps: Number(tps), failed: Number(/number of failed transactions: (\d+)/.exec(r.stdout)?.[1] ?? 0), cpuUsPerXact: xacts ? (cpu * 1e6) / xacts : 0 };
}

async function startGatehouse(dir: string, name: Target['name'], pgPort: number, audit: string): Promise<Target> {
  const port = await freePort();
  const yaml = [
    `listen: {addresses: [127.0.0.1], port: ${port}}`,
    'hba: hba.conf',
    'auth: {users: users.txt}',
    `databases:\n  "*": {host: 127.0.0.1, port: ${pgPort}, sslmode: disable}`,
    `pool: {mode: ${POOL_MODE}, default_pool_size: 40, max_client_conn: 200}`,
    'log: {level: warn}',
    audit,
  ].join('\n');
  const config = join(dir, `${name}.yaml`);
  await writeFile(config, yaml);
  const prof = process.env.CPU_PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', process.env.CPU_PROF_DIR, '--cpu-prof-name', `${name}.cpuprofile`] : [];
  const proc = spawn(process.execPath, [...prof, 'dist/cli.js', 'serve', '--config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  const until = Date.now() + 15_000;
  for (;;) {
    const r = await run(clientBin('pgbench'), ['-n', '-S', '-t', '1', '-h', '127.0.0.1', '-p', String(port), '-U', 'bench', 'postgres'], { PGPASSWORD: PW, PGSSLMODE: 'disable' });
    if (r.code === 0) break;
    if (Date.now() > until) throw new Error(`gatehouse (${name}) did not start: ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 200));
  }
  return { name, port, proc };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function main(): Promise<void> {
  if (!existsSync('dist/cli.js')) throw new Error('build first: npm run build');
  const version = (await availableVersions()).includes(15) ? 15 : 18;
  const cluster = await startCluster({ version, conf: { max_connections: 120, shared_buffers: '128MB' } });
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-audit-'));
  const targets: Target[] = [];
  try {
    await cluster.createRole('bench', { password: PW, superuser: true });
    const init = await run(clientBin('pgbench'), ['-i', '-q', '-s', '10', '-h', cluster.socketDir, '-p', String(cluster.port), '-U', 'postgres', 'postgres'], {});
    if (init.code !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);
    const verifier = (await cluster.query<{ rolpassword: string }>("SELECT rolpassword FROM pg_authid WHERE rolname = 'bench'"))[0]!.rolpassword;
    await writeFile(join(dir, 'hba.conf'), 'host all all 127.0.0.1/32 scram-sha-256\n');
    await writeFile(join(dir, 'users.txt'), `"bench" "${verifier}"\n`, { mode: 0o600 });
    const records = join(dir, 'audit.jsonl');
    // OFF_RELAY=node: the audit-off gatehouse uses the JavaScript relay too, which isolates the tap's cost from the relay engine's.
    targets.push(await startGatehouse(dir, 'off', cluster.port, process.env.OFF_RELAY ? `relay_engine: ${process.env.OFF_RELAY}` : ''));
    targets.push(await startGatehouse(dir, 'audit', cluster.port,
      `audit:\n  log: [all]\n  on_sink_failure: block\n  sinks:\n    - {type: file, path: ${records}, format: json}`));
    // Warm-up, unrecorded, of every chosen test: the JIT (TurboFan compiles TPC-B's paths for
    // seconds on the helper threads if only -S warmed it), the classifier's caches, full server pools.
    for (const test of CHOSEN) for (const t of targets) await pgbench(t, test, 3);
    const results: Record<TestName, Record<Target['name'], Run[]>> = { select: { off: [], audit: [] }, tpcb: { off: [], audit: [] } };
    for (const test of CHOSEN) {
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate which goes first, so neither always runs on a warmer (or busier) machine.
        const order = round % 2 === 0 ? targets : [...targets].reverse();
        for (const t of order) {
          if (test === 'tpcb') for (const q of ['VACUUM pgbench_branches', 'VACUUM pgbench_tellers', 'TRUNCATE pgbench_history', 'CHECKPOINT']) await cluster.query(q);
          const r = await pgbench(t, test, DURATION);
          results[test][t.name].push(r);
          console.error(`${test} ${t.name} round ${round + 1}: ${r.tps.toFixed(0)} tps, ${r.cpuUsPerXact.toFixed(1)} µs gatehouse CPU/xact, ${r.failed} failed`);
        }
      }
    }
    report(results, (await stat(records).catch(() => null))?.size ?? 0, await statementLines(records));
  } finally {
    // SIGINT: a fast shutdown, so the processes exit (and write their CPU profiles) at once.
    await Promise.all(targets.map((t) => new Promise((r) => { t.proc.once('exit', r); t.proc.kill('SIGINT'); })));
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Statement records in the file, read line by line (a long run writes more than one string can hold). */
async function statementLines(records: string): Promise<number> {
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(records), crlfDelay: Infinity })) if (line.includes('"kind":"statement"')) n++;
  return n;
}

function report(results: Record<TestName, Record<Target['name'], Run[]>>, recordBytes: number, lines: number): void {
  console.log(`\nPostgreSQL via gatehouse, pool mode ${POOL_MODE}, protocol ${PROTOCOL}, audit-off relay ${process.env.OFF_RELAY ?? 'auto'}${RATE.length ? `, fixed rate ${RATE[1]} tps` : ''}, ${ROUNDS} × ${DURATION} s per target and test (median TPS)\n`);
  console.log('| test | audit off TPS | audit [all] TPS | ratio | per-round ratios (median) | CPU µs/xact off → audit | failed |');
  console.log('|---|---:|---:|---:|---|---|---:|');
  for (const test of CHOSEN) {
    const off = results[test].off;
    const on = results[test].audit;
    const ratio = median(on.map((r) => r.tps)) / median(off.map((r) => r.tps));
    const failed = [...off, ...on].reduce((n, r) => n + r.failed, 0);
    // Each round ran both back to back: its own ratio is less exposed to the machine's drift between rounds.
    const paired = on.map((r, i) => r.tps / (off[i]?.tps ?? NaN));
    console.log(`| ${test} | ${median(off.map((r) => r.tps)).toFixed(0)} | ${median(on.map((r) => r.tps)).toFixed(0)} | **${ratio.toFixed(2)}** | `
      + `${paired.map((x) => x.toFixed(2)).join(', ')} (**${median(paired).toFixed(2)}**) | `
      + `${median(off.map((r) => r.cpuUsPerXact)).toFixed(1)} → ${median(on.map((r) => r.cpuUsPerXact)).toFixed(1)} | ${failed} |`);
  }
  console.log(`\n${lines} statement records, ${(recordBytes / 1e6).toFixed(1)} MB of JSON lines. Target: ratio ≥ 0.90.`);
}

await main();
