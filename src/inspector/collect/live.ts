/**
 * Live collection: one connection, one round of catalog queries into {@link Facts}. A query the role
 * may not run (SQLSTATE 42501) leaves its fact out and records what it needs, so the checks that
 * depend on it report "skipped, needs X" instead of guessing. The session is read-only.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import pg from 'pg';
import type { Facts, RoleFact, SecretFact } from '../types.js';
import { isOn } from '../checks/finding.js';
import { isSocket, type ConnParams } from './conninfo.js';
import { liveHba, type HbaViewRow } from './live-hba.js';
import * as Q from './live-queries.js';

export class LiveConnectError extends Error {
  override name = 'LiveConnectError';
}

export interface LiveCollection {
  facts: Facts;
  /** Non-fatal problems (a query that failed for another reason than privilege). */
  warnings: string[];
}

type Row = Record<string, unknown>;
type Outcome = { rows: Row[] } | { denied: string } | { failed: string };

const NEEDS_SUPERUSER = 'superuser';

function sslConfig(p: ConnParams): pg.ClientConfig['ssl'] {
  if (isSocket(p.host) || p.sslmode === 'disable' || p.sslmode === 'allow') return false;
  const files = { ...(p.sslcert ? { cert: readFileSync(p.sslcert) } : {}), ...(p.sslkey ? { key: readFileSync(p.sslkey) } : {}) };
  const verify = p.sslmode === 'verify-ca' || p.sslmode === 'verify-full' || (p.sslmode === 'require' && p.sslrootcert !== undefined);
  if (!verify) return { rejectUnauthorized: false, ...files };
  const root = p.sslrootcert ?? join(process.env.HOME ?? '', '.postgresql', 'root.crt');
  let ca: Buffer | undefined;
  if (root !== 'system') {
    try {
      ca = readFileSync(root);
    } catch {
      throw new LiveConnectError(`root certificate file "${root}" does not exist; either provide the file, use the system's trusted roots with sslrootcert=system, or change sslmode to disable server certificate verification`);
    }
  }
  return {
    rejectUnauthorized: true, ...(ca ? { ca } : {}), ...files,
    ...(p.sslmode === 'verify-full' ? {} : { checkServerIdentity: () => undefined }),
  };
}

function clientConfig(p: ConnParams, ssl: pg.ClientConfig['ssl']): pg.ClientConfig {
  return {
    host: p.host, port: p.port, user: p.user, database: p.dbname, ssl, application_name: p.applicationName,
    connectionTimeoutMillis: p.connectTimeout * 1000, ...(p.password !== undefined ? { password: p.password } : {}),
  };
}

async function connectOnce(config: pg.ClientConfig): Promise<pg.Client> {
  const client = new pg.Client(config);
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Connects as libpq would for the sslmode: `prefer` tries TLS first and falls back to plaintext. */
export async function connectLive(p: ConnParams): Promise<pg.Client> {
  const where = isSocket(p.host) ? `socket "${p.host}/.s.PGSQL.${p.port}"` : `server at "${p.host}", port ${p.port}`;
  const ssl = sslConfig(p);
  try {
    try {
      return await connectOnce(clientConfig(p, ssl));
    } catch (e) {
      const noSsl = e instanceof Error && /does not support SSL/i.test(e.message);
      if (p.sslmode === 'prefer' && ssl !== false && noSsl) return await connectOnce(clientConfig(p, false));
      throw e;
    }
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new LiveConnectError(`connection to ${where} failed: ${msg}`);
  }
}

async function run(client: pg.Client, sql: string, params: unknown[] = []): Promise<Outcome> {
  try {
    return { rows: (await client.query(sql, params)).rows as Row[] };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (err.code === '42501') return { denied: err.message ?? 'permission denied' };
    return { failed: err.message ?? String(e) };
  }
}

/** A fact's rows, or null with the reason recorded in `unavailable` (and `warnings` when not a privilege problem). */
class Collector {
  readonly unavailable: Record<string, string> = {};
  readonly warnings: string[] = [];
  constructor(private readonly client: pg.Client, private readonly progress: (step: string) => void) {}

  async rows(key: string, sql: string, needs: string, params: unknown[] = []): Promise<Row[] | null> {
    this.progress(key);
    const r = await run(this.client, sql, params);
    if ('rows' in r) return r.rows;
    if ('denied' in r) this.unavailable[key] = `${needs} (${r.denied})`;
    else {
      this.unavailable[key] = `a query that failed: ${r.failed}`;
      this.warnings.push(`${key}: ${r.failed}`);
    }
    return null;
  }
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function toRole(r: Row): RoleFact {
  return {
    name: String(r['name']), bootstrap: r['bootstrap'] === true, superuser: r['superuser'] === true, createrole: r['createrole'] === true,
    createdb: r['createdb'] === true, canLogin: r['can_login'] === true, replication: r['replication'] === true,
    bypassrls: r['bypassrls'] === true, validUntil: str(r['valid_until']), memberOf: (r['member_of'] as string[] | null) ?? [],
  };
}

function toSecret(r: Row): SecretFact {
  const it = r['iterations'];
  return { role: String(r['role']), kind: r['kind'] as SecretFact['kind'], iterations: typeof it === 'number' ? it : null };
}

/** Collects everything a live audit needs. Throws {@link LiveConnectError} when it cannot connect. */
export async function collectLive(p: ConnParams, progress: (step: string) => void = () => undefined): Promise<LiveCollection> {
  progress('connecting');
  const client = await connectLive(p);
  try {
    await client.query("SET statement_timeout = '30s'; SET default_transaction_read_only = on; SET search_path = pg_catalog, pg_temp");
    return await collectWith(client, p, progress);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function collectWith(client: pg.Client, p: ConnParams, progress: (step: string) => void): Promise<LiveCollection> {
  const c = new Collector(client, progress);
  const [id] = (await client.query(Q.IDENTITY_SQL)).rows as Row[];
  const versionNum = Number(id?.['version_num']);
  const facts: Facts = {
    serverVersionNum: versionNum, settingsFrom: 'server', now: new Date().toISOString(), unavailable: c.unavailable,
    privileges: { user: String(id?.['usr']), superuser: id?.['superuser'] === true, roles: (id?.['roles'] as string[] | null) ?? [] },
    catalog: { database: String(id?.['db']) },
  };
  const settings = await c.rows('settings', Q.SETTINGS_SQL, 'pg_read_all_settings');
  facts.settings = new Map((settings ?? []).map((r) => [String(r['name']), {
    value: String(r['setting'] ?? ''), source: String(r['source']),
    ...(r['sourcefile'] ? { file: String(r['sourcefile']) } : {}), ...(r['sourceline'] ? { line: Number(r['sourceline']) } : {}),
  }]));
  const fileErrors = await c.rows('confErrors', Q.FILE_ERRORS_SQL, `${NEEDS_SUPERUSER} (pg_file_settings)`);
  if (fileErrors) facts.confErrors = fileErrors.map((r) => ({ file: String(r['sourcefile'] ?? ''), line: Number(r['sourceline'] ?? 0), message: String(r['error']) }));
  await collectHba(c, facts, versionNum);
  await collectCatalog(c, facts);
  await collectTlsFiles(c, facts, p);
  return { facts, warnings: c.warnings };
}

async function collectHba(c: Collector, facts: Facts, versionNum: number): Promise<void> {
  const hbaFile = facts.settings?.get('hba_file')?.value;
  const viewRows = await c.rows('hbaView', Q.hbaRulesSql(versionNum), `${NEEDS_SUPERUSER}, or EXECUTE on pg_hba_file_rules() with SELECT on the view`) as HbaViewRow[] | null;
  let fileText: string | undefined;
  if (hbaFile !== undefined) {
    const file = await c.rows('hbaFile', Q.READ_FILE_SQL, `${NEEDS_SUPERUSER}, or EXECUTE on pg_read_file and pg_read_server_files`, [hbaFile]);
    if (file?.[0]) fileText = String(file[0]['text']);
  } else c.unavailable['hbaFile'] = 'superuser or pg_read_all_settings (hba_file is hidden)';
  const ssl = isOn(facts.settings?.get('ssl')?.value ?? 'off');
  const hba = liveHba({
    hbaFile: hbaFile ?? 'pg_hba.conf', pgVersion: Math.floor(versionNum / 10000), sslEnabled: ssl,
    ...(fileText !== undefined ? { fileText } : {}), ...(viewRows ? { viewRows } : {}),
  });
  if (hba) facts.hba = { path: hba.result.file, result: hba.result };
  else c.unavailable['hba'] = `${NEEDS_SUPERUSER}, or EXECUTE on pg_hba_file_rules() with SELECT on the view, or EXECUTE on pg_read_file with pg_read_server_files`;
}

async function collectCatalog(c: Collector, facts: Facts): Promise<void> {
  const cat = facts.catalog!;
  const roles = await c.rows('roles', Q.ROLES_SQL, 'SELECT on pg_roles');
  if (roles) cat.roles = roles.map(toRole);
  const secrets = await c.rows('secrets', Q.SECRETS_SQL, `${NEEDS_SUPERUSER} (pg_authid)`);
  if (secrets) cat.secrets = secrets.map(toSecret);
  const ext = await c.rows('extensions', Q.EXTENSIONS_SQL, 'SELECT on pg_extension');
  if (ext) cat.extensions = ext.map((r) => String(r['extname']));
  const arch = (await c.rows('archiver', Q.ARCHIVER_SQL, 'SELECT on pg_stat_archiver'))?.[0];
  if (arch) {
    cat.archiver = {
      archivedCount: Number(arch['archived_count']), failedCount: Number(arch['failed_count']), lastFailedWal: str(arch['last_failed_wal']),
      lastArchivedTime: str(arch['last_archived_time']), lastFailedTime: str(arch['last_failed_time']),
    };
  }
  const schemas = await c.rows('publicCreateSchemas', Q.PUBLIC_CREATE_SQL, 'SELECT on pg_namespace');
  if (schemas) cat.publicCreateSchemas = schemas.map((r) => ({ schema: String(r['schema']), owner: String(r['owner']), acl: str(r['acl']) }));
  const dbs = await c.rows('databases', Q.DATABASES_SQL, 'SELECT on pg_database');
  if (dbs) cat.databases = dbs.map((r) => ({ name: String(r['name']), acl: str(r['acl']), publicConnect: r['public_connect'] === true, publicTemp: r['public_temp'] === true }));
  const tables = (await c.rows('publicTables', Q.PUBLIC_TABLES_SQL, 'SELECT on pg_class'))?.[0];
  if (tables) cat.publicTables = { count: Number(tables['count']), sample: tables['sample'] as { name: string; privileges: string }[] };
  const definers = (await c.rows('unpinnedDefiners', Q.UNPINNED_DEFINERS_SQL, 'SELECT on pg_proc'))?.[0];
  if (definers) cat.unpinnedDefiners = { count: Number(definers['count']), sample: definers['sample'] as { name: string; owner: string; publicExecute: boolean }[] };
  const owners = await c.rows('owners', Q.OWNERS_SQL, 'SELECT on pg_class, pg_proc and pg_namespace');
  if (owners) cat.owners = owners.map((r) => ({ role: String(r['role']), objects: Number(r['objects']) }));
}

/** The audit runs on the server's host: a socket or loopback connection, and the data directory is here with the same major. */
function sameHost(facts: Facts, p: ConnParams): string | null {
  const local = isSocket(p.host) || /^(localhost|127\.\d+\.\d+\.\d+|::1)$/.test(p.host);
  const dataDir = facts.settings?.get('data_directory')?.value;
  if (!local || dataDir === undefined) return null;
  try {
    const v = readFileSync(join(dataDir, 'PG_VERSION'), 'utf8').trim();
    return v === String(Math.floor((facts.serverVersionNum ?? 0) / 10000)) ? dataDir : null;
  } catch {
    return null;
  }
}

async function collectTlsFiles(c: Collector, facts: Facts, p: ConnParams): Promise<void> {
  const cat = facts.catalog!;
  if (!isOn(facts.settings?.get('ssl')?.value ?? 'off')) return;
  const certFile = facts.settings?.get('ssl_cert_file')?.value;
  const keyFile = facts.settings?.get('ssl_key_file')?.value;
  const dataDir = sameHost(facts, p);
  if (certFile !== undefined) {
    const der = await c.rows('certificate', Q.READ_BINARY_FILE_SQL, `${NEEDS_SUPERUSER}, or EXECUTE on pg_read_binary_file (and pg_read_server_files for a file outside the data directory)`, [certFile]);
    let pem: Buffer | undefined = der?.[0]?.['data'] as Buffer | undefined;
    if (pem === undefined && dataDir !== null) {
      try {
        pem = readFileSync(isAbsolute(certFile) ? certFile : join(dataDir, certFile));
        delete c.unavailable['certificate'];
      } catch { /* keep the recorded reason */ }
    }
    if (pem !== undefined) {
      try {
        const x = new X509Certificate(pem);
        cat.certificate = { file: certFile, subject: x.subject.replace(/\n/g, ', '), validTo: new Date(x.validTo).toISOString() };
      } catch (e) {
        c.unavailable['certificate'] = `a certificate gatehouse can parse (${(e as Error).message})`;
      }
    }
  }
  if (keyFile === undefined) return;
  if (dataDir === null) {
    c.unavailable['keyFile'] = 'running the audit on the database host (a Unix socket or loopback connection, with pg_read_all_settings to see data_directory)';
    return;
  }
  const path = isAbsolute(keyFile) ? keyFile : join(dataDir, keyFile);
  try {
    const st = statSync(path);
    cat.keyFile = { file: path, mode: st.mode & 0o777, ownerIsRoot: st.uid === 0 };
  } catch (e) {
    c.unavailable['keyFile'] = `a key file this user can stat (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  }
}
