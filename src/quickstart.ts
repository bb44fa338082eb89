/**
 * `npm start`: gatehouse in front of an embedded PostgreSQL 18, with TLS and SCRAM, on a fresh
 * machine, as root or not. Everything lives in `.gatehouse/` in the project folder (gitignored)
 * and a second run reuses it. See docs/quickstart.md.
 *
 * Ctrl-C (SIGINT) ends sessions at once, SIGTERM lets them finish (shutdown_timeout); either way
 * gatehouse stops first, then PostgreSQL. SIGHUP reloads gatehouse's config and pg_hba.conf.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServe } from './cli/serve.js';
import { chooseDataDir, serverUser, startEmbedded, stopLeftoverServer, type EmbeddedServer } from './quickstart/embedded.js';
import {
  ensureGatehouseHba, ensureSecret, ensureServerCertificate, writeGatehouseYaml, writeUsersFile,
} from './quickstart/files.js';

const DEFAULT_PG_PORT = 54329;
const DEFAULT_GATEHOUSE_PORT = 6432;
const APP_USER = 'app';

/** The project folder: dist/quickstart.js (or src/quickstart.ts) sits one level below it. */
const PROJECT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HOME = join(PROJECT, '.gatehouse');
const path = (name: string): string => join(HOME, name);

interface State { pgPort?: number; gatehousePort?: number }

function readState(): State {
  try { return JSON.parse(readFileSync(path('quickstart.json'), 'utf8')) as State; } catch { return {}; }
}

/** Whether 127.0.0.1:port can be bound right now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer().once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

/** The remembered port, else the preferred one, else any free one (said out loud when it moves). */
async function choosePort(what: string, remembered: number | undefined, preferred: number): Promise<number> {
  for (const p of [remembered, preferred]) if (p !== undefined && (await portFree(p))) return p;
  const srv = createServer();
  const port = await new Promise<number>((res) => srv.listen(0, '127.0.0.1', () => {
    const a = srv.address();
    srv.close(() => res(typeof a === 'object' && a ? a.port : 0));
  }));
  console.error(`quickstart: port ${remembered ?? preferred} is taken; ${what} uses ${port} instead`);
  return port;
}

/** Creates or updates the `app` role with its password, and returns its SCRAM verifier. */
async function ensureAppRole(pg: EmbeddedServer, password: string): Promise<string> {
  const client = await pg.connect();
  try {
    await client.query("SET password_encryption = 'scram-sha-256'");
    const exists = (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [APP_USER])).rowCount === 1;
    // Set on every run, so the role always matches .gatehouse/app.password.
    const pw = client.escapeLiteral(password);
    await client.query(`${exists ? 'ALTER' : 'CREATE'} ROLE ${client.escapeIdentifier(APP_USER)} LOGIN PASSWORD ${pw}`);
    const res = await client.query<{ v: string }>('SELECT rolpassword AS v FROM pg_authid WHERE rolname = $1', [APP_USER]);
    const verifier = res.rows[0]?.v;
    if (!verifier?.startsWith('SCRAM-SHA-256$')) throw new Error('the app role has no SCRAM-SHA-256 verifier');
    return verifier;
  } finally {
    await client.end();
  }
}

/** Resolves when `p` settles or after `ms`, whichever comes first; says which. */
function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((res) => { timer = setTimeout(() => res(false), ms); });
  return Promise.race([p.then(() => true, () => true), late]).finally(() => clearTimeout(timer));
}

interface Gatehouse {
  shutdown(mode: 'smart' | 'fast'): Promise<void>;
  reload(): void;
  /** How long a smart shutdown may wait for sessions (ms). */
  drainMs: number;
}

/**
 * Installs the signal handlers: gatehouse first (fast or smart, bounded in time), then PostgreSQL,
 * then exit. A second Ctrl-C or SIGTERM stops PostgreSQL and exits without waiting any longer.
 */
function handleSignals(gatehouse: Gatehouse, pg: EmbeddedServer): void {
  let stopping = false;
  const finish = (code: number): void => {
    void pg.stop().then(() => process.exit(code), (e: unknown) => {
      console.error('quickstart: PostgreSQL shutdown:', e);
      process.exit(1);
    });
  };
  const stop = (mode: 'smart' | 'fast'): void => {
    if (stopping) {
      console.error('quickstart: stopping now');
      return finish(1);
    }
    stopping = true;
    console.error(`\nquickstart: stopping gatehouse (${mode}), then PostgreSQL; signal again to stop at once`);
    const bound = (mode === 'smart' ? gatehouse.drainMs : 0) + 5000;
    void within(gatehouse.shutdown(mode), bound).then((done) => {
      if (!done) console.error(`quickstart: gatehouse did not stop within ${bound} ms; stopping PostgreSQL anyway`);
      finish(0);
    });
  };
  process.on('SIGINT', () => stop('fast'));
  process.on('SIGTERM', () => stop('smart'));
  process.on('SIGHUP', () => gatehouse.reload());
}

async function main(): Promise<void> {
  mkdirSync(HOME, { recursive: true, mode: 0o755 });
  const dataDir = chooseDataDir(HOME, serverUser());
  // A server left by a quick start that was killed would hold the remembered port.
  await stopLeftoverServer(dataDir);
  const state = readState();
  const pgPort = await choosePort('PostgreSQL', state.pgPort, DEFAULT_PG_PORT);
  const gatehousePort = await choosePort('gatehouse', state.gatehousePort, DEFAULT_GATEHOUSE_PORT);
  writeFileSync(path('quickstart.json'), `${JSON.stringify({ pgPort, gatehousePort }, null, 2)}\n`);

  const tls = ensureServerCertificate(HOME);
  const superuser = ensureSecret(path('postgres.password'));
  const app = ensureSecret(path('app.password'));
  if (existsSync(join(dataDir, 'PG_VERSION')) && superuser.created) {
    throw new Error(`${path('postgres.password')} was missing, so the existing data directory can't be logged into: `
      + `restore the file, or remove ${dataDir} to start over`);
  }
  const pg = await startEmbedded({ dataDir, port: pgPort, superuserPassword: superuser.value, logFile: path('postgres.log') });
  try {
    writeUsersFile(path('users.txt'), APP_USER, await ensureAppRole(pg, app.value));
    ensureGatehouseHba(path('pg_hba.conf'), APP_USER);
    writeGatehouseYaml(path('gatehouse.yaml'), { gatehousePort, pgPort });
    const handle = await startServe(path('gatehouse.yaml'), { signals: false });
    const { gateway } = handle;
    handleSignals({
      shutdown: (mode) => gateway.shutdown(mode),
      reload: () => { gateway.reload(); },
      drainMs: gateway.state.config.shutdown_timeout,
    }, pg);
    printWelcome(gatehousePort, pgPort, tls.cert, app.value);
  } catch (e) {
    await pg.stop();
    throw e;
  }
}

function printWelcome(gatehousePort: number, pgPort: number, cert: string, password: string): void {
  const conn = `host=localhost port=${gatehousePort} dbname=postgres user=${APP_USER} sslmode=verify-full sslrootcert=${cert} channel_binding=require`;
  const rel = relative(process.cwd(), HOME) || '.';
  process.stdout.write([
    '',
    `gatehouse is listening on 127.0.0.1:${gatehousePort} (TLS, SCRAM-SHA-256-PLUS) in front of PostgreSQL 18 on 127.0.0.1:${pgPort}.`,
    `Files: ${rel}/ (config gatehouse.yaml, rules pg_hba.conf, server log postgres.log; see docs/quickstart.md)`,
    '',
    'Connect with:',
    `  PGPASSWORD='${password}' psql "${conn}"`,
    '',
    `(user ${APP_USER}; the password is also in ${path('app.password')})`,
    'Ctrl-C stops gatehouse and PostgreSQL.',
    '',
  ].join('\n'));
}

main().catch((e: unknown) => {
  console.error(`quickstart failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
