/**
 * Set-up for the door's policy and statement-record tests: a cluster that logs every statement it
 * receives (log_statement = all, so a test can prove what never reached it), superuser roles (the
 * server itself would run anything they send: only the door stands in the way), and gatehouse in
 * front with transaction pooling by default and session pooling for the `*_s` roles.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { clientBin, startCluster, type Cluster, type PgVersion } from '../../harness/pg.js';
import { makeCertSet } from '../../harness/certs.js';
import { startGatehouse, verifierOf, type Gatehouse } from '../gateway/fixture.js';

export const PW = 'door-test-pw';

export interface DoorSetup {
  cluster: Cluster;
  gh: Gatehouse;
  /** The server log from where the test started (what the server received since). */
  serverLogSince(mark: number): Promise<string>;
  /** The server log's current length: a mark for serverLogSince. */
  serverLogMark(): Promise<number>;
  stop(): Promise<void>;
}

/** `roles`: created as superusers; those ending in `_s` use session pooling, the rest transaction pooling. */
export async function startDoor(version: PgVersion, roles: string[], extraYaml: string): Promise<DoorSetup> {
  const certs = await makeCertSet();
  const cluster = await startCluster({ version, certs, conf: { log_statement: 'all', max_connections: 60 } });
  const users: string[] = [];
  for (const role of roles) {
    await cluster.createRole(role, { password: PW, superuser: true });
    users.push(`"${role}" "${await verifierOf(cluster, role)}"`);
  }
  const sessionRoles = roles.filter((r) => r.endsWith('_s'));
  const gh = await startGatehouse({
    cluster, certs,
    hba: 'host all all 127.0.0.1/32 scram-sha-256\n',
    users,
    extraYaml: [
      'pool: {mode: transaction, default_pool_size: 4}',
      sessionRoles.length > 0 ? `users:\n${sessionRoles.map((r) => `  ${r}: {pool: {mode: session}}`).join('\n')}` : '',
      extraYaml,
    ].join('\n'),
  });
  const length = async (): Promise<number> => (await readFile(cluster.logFile)).length;
  return {
    cluster, gh,
    serverLogMark: length,
    async serverLogSince(mark) {
      return (await readFile(cluster.logFile)).subarray(mark).toString('utf8');
    },
    async stop() {
      await gh.stop();
      await cluster.stop();
    },
  };
}

/** A pg client through gatehouse. */
export function client(gh: Gatehouse, user: string, o: Partial<pg.ClientConfig> = {}): pg.Client {
  const c = new pg.Client({ host: '127.0.0.1', port: gh.port, user, password: PW, database: 'postgres', ssl: false, ...o });
  c.on('error', () => undefined);
  return c;
}

/** The gateway's id of `user`'s newest live session. */
export function newestSession(gh: Gatehouse, user: string): number {
  return Math.max(...[...gh.gateway.live].filter((l) => l.user === user).map((l) => l.id));
}

/**
 * psql runs `lines` as `user` from a file in gatehouse's folder (plaintext, stop on the first
 * error, results discarded); resolves once it is started, with its exit code to come and its stderr.
 */
export async function psqlScript(gh: Gatehouse, user: string, name: string, lines: string[]): Promise<{ exited: Promise<number>; stderr: () => string }> {
  const file = join(gh.dir, name);
  await writeFile(file, lines.map((l) => `${l}\n`).join(''));
  const child = spawn(clientBin('psql'), [`host=127.0.0.1 port=${gh.port} dbname=postgres user=${user} sslmode=disable`, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-o', '/dev/null', '-f', file],
    { env: { PATH: process.env.PATH, LC_ALL: 'C', PGPASSWORD: PW }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  return { exited, stderr: () => stderr };
}

/** The SQLSTATE and message of a rejected promise. */
export async function errorOf(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return { code: (e as { code?: string }).code, message: (e as Error).message };
  }
  throw new Error('expected an error');
}

/** The whole lines of a file the writer may be appending to right now (a last line without its newline is not done yet). */
function completeLines(text: string): string[] {
  const lines = text.split('\n');
  lines.pop();
  return lines.filter(Boolean);
}

export type AuditRec = Record<string, unknown>;

/** The JSON records written to `file` so far (none when it does not exist yet). */
export async function auditRecords(file: string): Promise<AuditRec[]> {
  return completeLines(await readFile(file, 'utf8').catch(() => '')).map((l) => JSON.parse(l) as AuditRec);
}

/** The statement records of one session in `file`, once `n` of them are written (the writer is asynchronous; gives up after 5 s). */
export async function sessionStatementRecords(file: string, session: number, n: number): Promise<AuditRec[]> {
  for (let i = 0; ; i++) {
    const mine = (await auditRecords(file)).filter((r) => r.kind === 'statement' && r.session === session);
    if (mine.length >= n || i === 100) return mine;
    await new Promise((r) => setTimeout(r, 50));
  }
}
