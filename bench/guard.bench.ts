/**
 * Guard benchmark (issue 5), not a test: `pgbench -S -c 8` through gatehouse from a clean source,
 * first alone, then while an attacker opens connections at ATTACK_RATE per second (default 2,000)
 * from ten banned loopback sources (127.0.0.10-19, banned through the state file). Reports the
 * attack rate that was refused and the clean client's TPS ratio (target: at least 0.80).
 *
 *   npx tsx bench/guard.bench.ts                     # DURATION=10 s per run
 *   DURATION=5 ATTACK_RATE=1000 npx tsx bench/guard.bench.ts
 *
 * Needs root (PostgreSQL runs as `postgres`), a built dist/ (gatehouse runs as its own process),
 * Debian's pgbench and a C compiler. The attacker is a small C program (epoll, non-blocking
 * connects) so that it takes as little as possible of the 2 shared cores: a real attack comes from
 * other machines. Its CPU is reported, and on 2 cores it still competes with gatehouse,
 * PostgreSQL and pgbench.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { availableVersions, clientBin, freePort, startCluster } from '../test/harness/pg.js';

const DURATION = Number(process.env.DURATION ?? 10);
const ATTACK_RATE = Number(process.env.ATTACK_RATE ?? 2000);
const BANNED = Array.from({ length: 10 }, (_, i) => `127.0.0.${10 + i}`);
const PW = 'bench-guard-pw';

/** The attacker (bench/guard-attacker.c), compiled into the run's temp dir. */
const ATTACKER_SOURCE = new URL('./guard-attacker.c', import.meta.url).pathname;

interface PgbenchResult { tps: number; failed: number; output: string }

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

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, onSpawn?: (c: ChildProcess) => void): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    onSpawn?.(c);
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d));
    c.stderr.on('data', (d: Buffer) => (stderr += d));
    c.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function pgbench(port: number): Promise<PgbenchResult> {
  const r = await run(clientBin('pgbench'), ['-n', '-S', '-c', '8', '-j', '2', '-T', String(DURATION), '-h', '127.0.0.1', '-p', String(port), '-U', 'bench', 'postgres'],
    { PGPASSWORD: PW, PGSSLMODE: 'disable' });
  const tps = /tps = ([0-9.]+) \(without initial connection time\)/.exec(r.stdout)?.[1] ?? /tps = ([0-9.]+)/.exec(r.stdout)?.[1];
  if (!tps) throw new Error(`pgbench failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  const failed = Number(/number of failed transactions: (\d+)/.exec(r.stdout)?.[1] ?? 0);
  return { tps: Number(tps), failed, output: r.stdout };
}

async function main(): Promise<void> {
  if (!existsSync('dist/cli.js')) throw new Error('build first: npm run build');
  const version = (await availableVersions()).includes(15) ? 15 : 18;
  const cluster = await startCluster({ version });
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-guard-'));
  let gatehouse: ChildProcess | null = null;
  try {
    const attackerBin = join(dir, 'guard-attacker');
    const cc = await run('cc', ['-O2', '-o', attackerBin, ATTACKER_SOURCE], {});
    if (cc.code !== 0) throw new Error(`cc failed: ${cc.stderr}`);
    await cluster.createRole('bench', { password: PW, superuser: true });
    const init = await run(clientBin('pgbench'), ['-i', '-q', '-s', '1', '-h', cluster.socketDir, '-p', String(cluster.port), '-U', 'postgres', 'postgres'], {});
    if (init.code !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);
    const verifier = (await cluster.query<{ rolpassword: string }>("SELECT rolpassword FROM pg_authid WHERE rolname = 'bench'"))[0]!.rolpassword;
    const port = await freePort();
    const until = Date.now() + 3_600_000;
    await writeFile(join(dir, 'pg_hba.conf'), 'host all bench 127.0.0.0/8 scram-sha-256\n');
    await writeFile(join(dir, 'users.txt'), `"bench" "${verifier}"\n`);
    await writeFile(join(dir, 'bans.json'), JSON.stringify({
      version: 1, offenses: [],
      bans: BANNED.map((source) => ({ source, reason: 'auth: password authentication failed', failures: 5, bannedAt: Date.now(), until, offense: 1 })),
    }));
    await writeFile(join(dir, 'gatehouse.yaml'), [
      `listen: {addresses: [127.0.0.1], port: ${port}}`,
      'hba: pg_hba.conf',
      'auth: {users: users.txt}',
      `databases: {"*": {host: 127.0.0.1, port: ${cluster.port}, sslmode: disable}}`,
      'guard: {state_file: bans.json}',
      'log: {level: error}',
    ].join('\n'));
    gatehouse = spawn(process.execPath, ['dist/cli.js', 'serve', '--config', join(dir, 'gatehouse.yaml')], { stdio: ['ignore', 'ignore', 'inherit'] });
    for (let i = 0; i < 100 && (await run('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`], {})).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));

    console.error(`PostgreSQL ${version}; pgbench -S -c 8 -j 2 -T ${DURATION}; attack ${ATTACK_RATE}/s from ${BANNED.length} banned sources`);
    let cpu0 = cpuSeconds(gatehouse.pid);
    const quiet = await pgbench(port);
    const quietCpu = cpuSeconds(gatehouse.pid) - cpu0;
    console.error(`without attack: ${quiet.tps.toFixed(0)} tps`);
    let attackerPid: number | undefined;
    let attackerCpu = 0;
    const attacker = run(attackerBin, [String(port), String(ATTACK_RATE), String(DURATION + 1), ...BANNED], {}, (c) => {
      attackerPid = c.pid;
      c.once('exit', () => undefined);
    });
    const sampler = setInterval(() => (attackerCpu = Math.max(attackerCpu, cpuSeconds(attackerPid))), 200);
    await new Promise((r) => setTimeout(r, 500));
    cpu0 = cpuSeconds(gatehouse.pid);
    const loud = await pgbench(port);
    const loudCpu = cpuSeconds(gatehouse.pid) - cpu0;
    const attack = JSON.parse((await attacker).stdout) as { attempted: number; refused: number; answered: number; errors: number };
    clearInterval(sampler);
    const seconds = DURATION + 1;
    console.log('\n| run | clean-client TPS | failed xacts | attack attempted/s | refused/s | answered/s | other |');
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    console.log(`| no attack | ${quiet.tps.toFixed(0)} | ${quiet.failed} | – | – | – | – |`);
    console.log(`| under attack | ${loud.tps.toFixed(0)} | ${loud.failed} | ${(attack.attempted / seconds).toFixed(0)} | ${(attack.refused / seconds).toFixed(0)} | ${(attack.answered / seconds).toFixed(0)} | ${attack.errors} |`);
    console.log(`\nTPS ratio under attack: **${(loud.tps / quiet.tps).toFixed(2)}** (target ≥ 0.80)`);
    const perXact = (cpu: number, r: PgbenchResult): number => (cpu / (r.tps * DURATION)) * 1e6;
    console.log(`gatehouse CPU: ${quietCpu.toFixed(2)} s without attack (${perXact(quietCpu, quiet).toFixed(1)} µs/xact), ${loudCpu.toFixed(2)} s under attack`
      + ` (${perXact(loudCpu, loud).toFixed(1)} µs/xact); the extra ≈ ${(((loudCpu - perXact(quietCpu, quiet) * loud.tps * DURATION / 1e6) / Math.max(1, attack.refused * DURATION / seconds)) * 1e6).toFixed(1)} µs per refused connection.`);
    console.log(`attacker CPU: ${attackerCpu.toFixed(2)} s for ${attack.attempted} connections (it shares the 2 cores with everything else).`);
  } finally {
    gatehouse?.kill('SIGINT');
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
