/**
 * Shared set-up for the pooling tests: a cluster with role `app`, gatehouse in front of it with
 * SCRAM passthrough (the auth file holds app's verifier, never its password) and a `pool:` section.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import pg from 'pg';
import { clientBin, startCluster, type Cluster, type PgVersion } from '../../harness/pg.js';
import { makeCertSet } from '../../harness/certs.js';
import { startGatehouse, verifierOf, type Gatehouse } from '../gateway/fixture.js';
import * as fe from '../../../src/protocol/frontend/encode.js';

export const PW = 'pool-test-pw';

export interface PoolSetup {
  cluster: Cluster;
  gh: Gatehouse;
  stop(): Promise<void>;
}

/** `poolYaml` is the body of the `pool:` mapping, e.g. `{mode: transaction, default_pool_size: 4}`. */
export async function startPoolSetup(version: PgVersion, poolYaml: string, extraYaml = '', roles: string[] = [],
  upstreamSslmode: 'disable' | 'require' = 'disable'): Promise<PoolSetup> {
  const certs = await makeCertSet();
  const cluster = await startCluster({ version, certs, conf: { max_connections: 60 } });
  const users: string[] = [];
  for (const role of ['app', ...roles]) {
    await cluster.createRole(role, { password: PW });
    await cluster.query(`GRANT CREATE ON SCHEMA public TO ${role}`);
    users.push(`"${role}" "${await verifierOf(cluster, role)}"`);
  }
  const gh = await startGatehouse({
    cluster, certs,
    hba: 'host all all 127.0.0.1/32 scram-sha-256\n',
    users,
    databasesYaml: `databases:\n  "*": {host: 127.0.0.1, port: ${cluster.port}, sslmode: ${upstreamSslmode}}`,
    extraYaml: `pool: ${poolYaml}\n${extraYaml}`,
  });
  return {
    cluster, gh,
    async stop() {
      await gh.stop();
      await cluster.stop();
    },
  };
}

/** A pg client through gatehouse. After a FATAL pg emits 'error' on the client too; tests read the query's rejection instead. */
export function client(gh: Gatehouse, o: Partial<pg.ClientConfig> = {}): pg.Client {
  const c = new pg.Client({ host: '127.0.0.1', port: gh.port, user: 'app', password: PW, database: 'postgres', ssl: false, ...o });
  c.on('error', () => undefined);
  return c;
}

/** Backends of role app on the server (what the pool really holds). */
export async function appBackends(cluster: Cluster): Promise<number> {
  const r = await cluster.query<{ n: string }>("select count(*) as n from pg_stat_activity where usename = 'app'");
  return Number(r[0]!.n);
}

export function pgbench(gh: Gatehouse, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(clientBin('pgbench'), ['-h', '127.0.0.1', '-p', String(gh.port), '-U', 'app', ...args, 'postgres'],
      { env: { PATH: process.env.PATH, PGPASSWORD: PW, PGSSLMODE: 'disable', LC_ALL: 'C' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

/** Sends a CancelRequest for a pg client's key (what libpq's PQcancel does). */
export function cancel(gh: Gatehouse, c: pg.Client): Promise<void> {
  const { processID, secretKey } = c as unknown as { processID: number; secretKey: number };
  const key = Buffer.alloc(4);
  key.writeInt32BE(secretKey);
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port: gh.port }, () => s.end(fe.cancelRequest(processID, key)));
    s.on('close', () => resolve());
    s.on('error', () => resolve());
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Clients through gatehouse, one per application_name, connected. */
export async function connectedApps<N extends string[]>(gh: Gatehouse, ...names: N): Promise<{ [K in keyof N]: pg.Client }> {
  const cs = names.map((application_name) => client(gh, { application_name }));
  for (const c of cs) await c.connect();
  return cs as { [K in keyof N]: pg.Client };
}

/**
 * Ten rounds of both clients asking for their application_name at once (so they land on servers
 * in turn): each must see its own. Transaction pooling's tracked-parameter tests.
 */
export async function expectOwnAppNames(a: pg.Client, wantA: string, b: pg.Client, wantB: string): Promise<void> {
  const q = "select current_setting('application_name') as n";
  for (let i = 0; i < 10; i++) {
    const [ra, rb] = await Promise.all([a.query(q), b.query(q)]);
    assert.equal(ra.rows[0].n, wantA, `round ${i}: the first client's application_name`);
    assert.equal(rb.rows[0].n, wantB, `round ${i}: the second client's application_name`);
  }
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

export interface RawSession {
  send(...messages: Buffer[]): void;
  /** Writes the bytes one at a time, a millisecond apart: gatehouse reads every split. */
  trickle(bytes: Buffer): Promise<void>;
  next(): Promise<{ type: string; body: Buffer }>;
  /** The backend messages up to and including the next ReadyForQuery: type letters and bodies. */
  untilReady(): Promise<Array<{ type: string; body: Buffer }>>;
  end(): Promise<void>;
}

/**
 * A client that logs in with pg (SCRAM) and runs one simple query, then speaks the protocol
 * itself on the same socket: for message sequences no driver sends on its own.
 */
export async function rawSession(gh: Gatehouse): Promise<RawSession> {
  const c = client(gh);
  await c.connect();
  await c.query('select 1');
  const sock = (c as unknown as { connection: { stream: import('node:net').Socket } }).connection.stream;
  sock.removeAllListeners('data');
  let buf = Buffer.alloc(0);
  let wake: (() => void) | null = null;
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    wake?.();
  });
  const next = async (): Promise<{ type: string; body: Buffer }> => {
    while (buf.length < 5 || buf.length < 1 + buf.readUInt32BE(1)) await new Promise<void>((r) => (wake = r));
    const len = buf.readUInt32BE(1);
    const m = { type: String.fromCharCode(buf[0]!), body: buf.subarray(5, 1 + len) };
    buf = buf.subarray(1 + len);
    return m;
  };
  return {
    send: (...messages) => void sock.write(Buffer.concat(messages)),
    async trickle(bytes) {
      for (let i = 0; i < bytes.length; i++) {
        sock.write(bytes.subarray(i, i + 1));
        await new Promise((r) => setTimeout(r, 1));
      }
    },
    next,
    async untilReady() {
      const out: Array<{ type: string; body: Buffer }> = [];
      for (;;) {
        const m = await next();
        out.push(m);
        if (m.type === 'Z') return out;
      }
    },
    async end() {
      sock.end(fe.terminate);
      await new Promise((r) => sock.once('close', r));
    },
  };
}

/** An ErrorResponse body's field (`C` the SQLSTATE, `M` the message). */
export function errorField(body: Buffer, code: string): string | undefined {
  for (let p = 0; p < body.length && body[p] !== 0; ) {
    const end = body.indexOf(0, p + 1);
    if (String.fromCharCode(body[p]!) === code) return body.toString('utf8', p + 1, end);
    p = end + 1;
  }
  return undefined;
}
