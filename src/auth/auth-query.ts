/**
 * auth_query: fetch a role's verifier from the server through a SECURITY DEFINER function, as
 * PgBouncer's auth_query does, without its two CVEs:
 * - CVE-2025-12819: the function is always schema-qualified and the lookup connection pins
 *   `search_path=pg_catalog`; nothing from a client's startup packet (search_path, options)
 *   ever reaches it.
 * - CVE-2025-2291: an expired password (`rolvaliduntil` in the past) or a role without
 *   `rolcanlogin` yields no secret, so the client fails exactly like an unknown role.
 */
import pg from 'pg';
import { readFileSync } from 'node:fs';
import { GatehouseError } from '../errors.js';
import type { Config, DatabaseEntry } from '../config/schema.js';
import { parseStoredSecret, type StoredSecret } from './userlist.js';

type AuthQueryConfig = NonNullable<Config['auth']['query']>;

interface Row {
  rolname: string | null;
  rolpassword: string | null;
  rolvaliduntil: Date | null;
  rolcanlogin: boolean | null;
}

export class AuthQuery {
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  private readonly sql: string;
  private readonly entry: DatabaseEntry;

  constructor(private readonly q: AuthQueryConfig, private readonly databases: Config['databases']) {
    const [schema, fn] = q.function.split('.') as [string, string];
    this.sql = `SELECT rolname, rolpassword, rolvaliduntil, rolcanlogin FROM ${quoteIdent(schema)}.${quoteIdent(fn)}($1)`;
    const entry = (q.upstream ? databases[q.upstream] : undefined) ?? databases['*'] ?? Object.values(databases)[0];
    if (!entry) throw new GatehouseError('GH_CONFIG_INVALID', 'auth.query needs a databases entry to know which server to ask', 'auth.query.upstream');
    this.entry = entry;
  }

  /** True when a reload left the lookup's settings as they were, so the connection can be kept. */
  sameSettings(q: AuthQueryConfig, databases: Config['databases']): boolean {
    return JSON.stringify([q, databases]) === JSON.stringify([this.q, this.databases]);
  }

  /** The role's secret, or null (unknown, no password, expired, or cannot log in). */
  async lookup(user: string): Promise<StoredSecret | null> {
    let rows: Row[];
    try {
      const c = await this.connect();
      rows = (await c.query<Row>({ text: this.sql, values: [user] })).rows;
    } catch (e) {
      this.drop();
      throw new GatehouseError('GH_AUTH_QUERY', `auth_query ${this.q.function} failed: ${(e as Error).message}`, 'auth.query');
    }
    const r = rows[0];
    if (!r || r.rolname !== user || !r.rolpassword || r.rolcanlogin === false) return null;
    if (r.rolvaliduntil && r.rolvaliduntil.getTime() < Date.now()) return null;
    return parseStoredSecret(r.rolpassword);
  }

  /**
   * The roles `user` is a member of, directly or indirectly, itself included (hba.c
   * is_member(): no implicit superuser membership). An unknown role is a member of nothing.
   * pg_auth_members and pg_roles are readable by every role, so the lookup role needs no grant.
   */
  async memberships(user: string): Promise<Set<string>> {
    try {
      const c = await this.connect();
      const r = await c.query<{ rolname: string }>({ text: MEMBERSHIP_SQL, values: [user] });
      return new Set(r.rows.map((row) => row.rolname));
    } catch (e) {
      this.drop();
      throw new GatehouseError('GH_AUTH_QUERY', `role membership lookup failed: ${(e as Error).message}`, 'auth.query');
    }
  }

  close(): void {
    this.drop();
  }

  private drop(): void {
    const c = this.client;
    this.client = null;
    this.connecting = null;
    c?.end().catch(() => undefined);
  }

  private connect(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.open().then(
      (c) => (this.client = c),
      (e: unknown) => {
        this.connecting = null;
        throw e;
      },
    );
    return this.connecting;
  }

  private async open(): Promise<pg.Client> {
    const e = this.entry;
    const c = new pg.Client({
      host: e.host,
      port: e.port,
      user: this.q.user,
      password: this.q.password,
      database: this.q.database,
      application_name: 'gatehouse auth_query',
      // Pinned: the lookup never runs with a search_path anyone else chose.
      options: '-c search_path=pg_catalog',
      connectionTimeoutMillis: e.connect_timeout,
      ssl: sslFor(e),
    });
    c.on('error', () => this.drop());
    await c.connect();
    return c;
  }
}

const MEMBERSHIP_SQL = `WITH RECURSIVE m(oid) AS (
    SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = $1
  UNION
    SELECT a.roleid FROM pg_catalog.pg_auth_members a JOIN m ON a.member = m.oid)
SELECT r.rolname FROM pg_catalog.pg_roles r JOIN m ON r.oid = m.oid`;

function sslFor(e: DatabaseEntry): pg.ClientConfig['ssl'] {
  if (e.sslmode === 'disable' || e.sslmode === 'prefer' || e.host.startsWith('/')) return false;
  const ca = e.sslrootcert ? readFileSync(e.sslrootcert, 'utf8') : undefined;
  if (e.sslmode === 'require') return { rejectUnauthorized: false };
  return { ca, rejectUnauthorized: true, ...(e.sslmode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}) };
}

/** quote_ident(): always quotes, doubling embedded quotes. */
function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}
