/**
 * Idle-client memory benchmark (issue 4), not a test: gatehouse in transaction mode in front of
 * PostgreSQL, warmed with a short pgbench run, then CLIENTS idle `pg` clients (each connected,
 * authenticated with SCRAM and having run one query, so each has been linked to a server once).
 * Reports gatehouse's RSS before and with them held, and the growth per idle client
 * (target ≤ 10 KB). ROUNDS separate gatehouse processes; the median is the figure.
 * WARM=1 first connects and disconnects the same number of clients once, so that "before" is
 * taken with the V8 heap and the allocator at their working size: then the growth is what holding
 * the clients costs, not the heap's first growth (which depends on what the warm-up left: the
 * JavaScript pool's pgbench warm-up grows the heap, the native plane's does not).
 * SETTLED_MS (default 45000; 0: skip): "before" is read once the process has been idle that long
 * after its warm-up, and RSS with the clients is read twice, SETTLE_MS after they connected and
 * again once they have been idle SETTLED_MS. By then gatehouse has given back what the burst grew
 * (`release_memory_after`, 10 s: one full collection shrinks the young generation's 16 MB
 * semi-spaces, malloc_trim the freed buffers): the figure at rest is what holding the clients
 * costs, the first what a burst of logins costs for a few seconds.
 * GATEHOUSE_TX_ENGINE sets transaction_engine (default auto); GATEHOUSE_CLI runs another build's cli.js.
 *
 *   npx tsx bench/idle-memory.bench.ts            # CLIENTS=1000, ROUNDS=3
 *
 * Needs root (PostgreSQL runs as `postgres`), a built dist/ and Debian's pgbench. RSS is read from
 * /proc/<pid>/status after the clients have been idle for SETTLE_MS (3000): the figure includes
 * whatever the V8 heap has not collected yet, so it is an upper bound.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { availableVersions, clientBin, freePort, startCluster } from '../test/harness/pg.js';

const CLIENTS = Number(process.env.CLIENTS ?? 1000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SETTLE_MS = Number(process.env.SETTLE_MS ?? 3000);
const WARM = process.env.WARM === '1';
const SETTLED_MS = Number(process.env.SETTLED_MS ?? 45_000);
/** GATEHOUSE_CLI: another build's cli.js (an A/B against an older tree), default dist/cli.js. */
const CLI = process.env.GATEHOUSE_CLI ?? 'dist/cli.js';
const PW = 'bench-idle-pw';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const rssKb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);

function pgbench(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(clientBin('pgbench'), args, { env: { ...process.env, PGPASSWORD: PW, PGSSLMODE: 'disable' }, stdio: 'ignore' });
    p.once('error', reject);
    p.once('exit', (code) => resolve(code ?? 1));
  });
}

interface Sample { before: number; held: number; heldSettled: number }

async function round(dir: string, pgPort: number, n: number): Promise<Sample> {
  const port = await freePort();
  const config = join(dir, `g${n}.yaml`);
  await writeFile(config, [`listen: {addresses: [127.0.0.1], port: ${port}}`, 'hba: hba.conf', 'auth: {users: users.txt}',
    `databases: {"*": {host: 127.0.0.1, port: ${pgPort}, sslmode: disable}}`,
    `pool: {mode: transaction, default_pool_size: 20, max_client_conn: ${CLIENTS + 100}}`, 'log: {level: warn}',
    `transaction_engine: ${process.env.GATEHOUSE_TX_ENGINE ?? 'auto'}`].join('\n'));
  const proc = spawn(process.execPath, [CLI, 'serve', '--config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  const clients: pg.Client[] = [];
  try {
    const bench = ['-n', '-h', '127.0.0.1', '-p', String(port), '-U', 'bench', 'postgres'];
    for (let i = 0; (await pgbench(['-S', '-t', '1', ...bench])) !== 0; i++) {
      if (i > 75) throw new Error('gatehouse did not start');
      await sleep(200);
    }
    if ((await pgbench(['-S', '-c', '4', '-T', '2', ...bench])) !== 0) throw new Error('warm-up pgbench failed');
    await sleep(1000);
    const connectAll = async (): Promise<void> => {
      for (let i = 0; i < CLIENTS; i += 50) {
        await Promise.all(Array.from({ length: Math.min(50, CLIENTS - i) }, async () => {
          const c = new pg.Client({ host: '127.0.0.1', port, user: 'bench', password: PW, database: 'postgres', ssl: false });
          await c.connect();
          clients.push(c);
          await c.query('SELECT 1');
        }));
      }
    };
    if (WARM) {
      await connectAll();
      await Promise.all(clients.splice(0).map((c) => c.end()));
      await sleep(SETTLE_MS);
    }
    await sleep(SETTLED_MS);
    const before = rssKb(proc.pid!);
    await connectAll();
    await sleep(SETTLE_MS);
    const held = rssKb(proc.pid!);
    await sleep(Math.max(0, SETTLED_MS - SETTLE_MS));
    return { before, held, heldSettled: rssKb(proc.pid!) };
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await new Promise((r) => { proc.once('exit', r); proc.kill('SIGINT'); });
  }
}

async function main(): Promise<void> {
  if (!existsSync('dist/cli.js')) throw new Error('build first: npm run build');
  const version = (await availableVersions()).includes(15) ? 15 : 18;
  const cluster = await startCluster({ version, conf: { max_connections: 120 } });
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-idle-'));
  try {
    await cluster.createRole('bench', { password: PW, superuser: true });
    const init = await pgbench(['-i', '-q', '-s', '1', '-h', cluster.socketDir, '-p', String(cluster.port), '-U', 'postgres', 'postgres']);
    if (init !== 0) throw new Error('pgbench -i failed');
    const verifier = (await cluster.query<{ rolpassword: string }>("SELECT rolpassword FROM pg_authid WHERE rolname = 'bench'"))[0]!.rolpassword;
    await writeFile(join(dir, 'hba.conf'), 'host all all 127.0.0.1/32 scram-sha-256\n');
    await writeFile(join(dir, 'users.txt'), `"bench" "${verifier}"\n`, { mode: 0o600 });
    const per: number[] = [];
    console.log(`PostgreSQL ${version}, gatehouse in transaction mode (transaction_engine: ${process.env.GATEHOUSE_TX_ENGINE ?? 'auto'}), ${CLIENTS} idle pg clients${WARM ? ', after one warm round of as many clients' : ''}\n`);
    const settled: number[] = [];
    const s = SETTLED_MS / 1000;
    console.log(SETTLED_MS > 0
      ? `| round | RSS before kB (idle ${s} s) | RSS with clients kB, ${SETTLE_MS} ms | KB per idle client | RSS with clients kB, ${s} s | KB per idle client, at rest |\n|---:|---:|---:|---:|---:|---:|`
      : '| round | RSS before kB | RSS with clients kB | KB per idle client |\n|---:|---:|---:|---:|');
    for (let n = 1; n <= ROUNDS; n++) {
      const r = await round(dir, cluster.port, n);
      const kb = (r.held - r.before) / CLIENTS;
      per.push(kb);
      const rest = (r.heldSettled - r.before) / CLIENTS;
      settled.push(rest);
      console.log(`| ${n} | ${r.before} | ${r.held} | ${kb.toFixed(1)} |${SETTLED_MS > 0 ? ` ${r.heldSettled} | ${rest.toFixed(1)} |` : ''}`);
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(`\nmedian **${median(per).toFixed(1)} KB** per idle client ${SETTLE_MS} ms after they connected (target ≤ 10 KB)`);
    if (SETTLED_MS > 0) console.log(`median **${median(settled).toFixed(1)} KB** per idle client at rest (${s} s idle, before and with them)`);
  } finally {
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
