/**
 * Reaching the server (issue 2 §5): SCRAM passthrough and auth_query log in with no plaintext
 * password on disk; a fixed upstream user; upstream verify-full TLS; 3D000 relayed as FATAL;
 * ParameterStatus forwarded; pgbench -S -c 8 with 0 failed transactions.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import pg from 'pg';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { availableVersions, clientBin, freePort, startCluster, type Cluster } from '../../harness/pg.js';
import { makeCertSet, type CertSet } from '../../harness/certs.js';
import { psql, startGatehouse, verifierOf, type Gatehouse } from './fixture.js';

const PW = 'passthrough-pw';
const AQ_PW = 'auth-query-pw';

const AUTH_FUNCTION = `
CREATE SCHEMA gatehouse;
CREATE FUNCTION gatehouse.get_auth(p_user text)
  RETURNS TABLE (rolname text, rolpassword text, rolvaliduntil timestamptz, rolcanlogin boolean)
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS
  $$ SELECT a.rolname::text, a.rolpassword, a.rolvaliduntil, a.rolcanlogin FROM pg_catalog.pg_authid a WHERE a.rolname = p_user $$;
REVOKE ALL ON FUNCTION gatehouse.get_auth(text) FROM PUBLIC;
GRANT USAGE ON SCHEMA gatehouse TO gh_lookup;
GRANT EXECUTE ON FUNCTION gatehouse.get_auth(text) TO gh_lookup;`;

for (const version of await availableVersions()) {
  describe(`reaching the server on PostgreSQL ${version}`, () => {
    let certs: CertSet;
    let cluster: Cluster;
    let gh: Gatehouse;

    before(async () => {
      certs = await makeCertSet();
      cluster = await startCluster({ version, certs });
      await cluster.createRole('app', { password: PW });
      await cluster.createRole('fromquery', { password: 'from-query-pw' });
      await cluster.createRole('expired', { password: 'expired-pw' });
      await cluster.query("ALTER ROLE expired VALID UNTIL '2000-01-01'");
      await cluster.createRole('gh_lookup', { password: AQ_PW });
      await cluster.createRole('shared', { password: 'shared-pw' });
      await cluster.query(AUTH_FUNCTION);
      await cluster.query('GRANT CREATE ON SCHEMA public TO app');
      gh = await startGatehouse({
        cluster, certs,
        hba: 'host all all 127.0.0.1/32 scram-sha-256\n',
        users: [`"app" "${await verifierOf(cluster, 'app')}"`, `"shared" "${await verifierOf(cluster, 'shared')}"`],
        databasesYaml: [
          'databases:',
          `  "*": {host: localhost, port: ${cluster.port}, sslmode: verify-full, sslrootcert: ${certs.caCert}}`,
          `  fixed: {host: 127.0.0.1, port: ${cluster.port}, dbname: postgres, user: gh_lookup, password: ${AQ_PW}, sslmode: require}`,
          `  down: {host: 127.0.0.1, port: ${await freePort()}, dbname: postgres, sslmode: disable, connect_timeout: 2}`,
        ].join('\n'),
      });
      // auth_query is configured through the auth section; rewrite the config and reload.
      const cfg = await readFile(gh.configPath, 'utf8');
      await gh.write('gatehouse.yaml', cfg.replace('auth: {users: users.txt}',
        `auth: {users: users.txt, query: {function: gatehouse.get_auth, user: gh_lookup, password: ${AQ_PW}, database: postgres}}`));
      const r = gh.gateway.reload();
      assert.equal(r.ok, true, r.error);
    });
    after(async () => {
      await gh?.stop();
      await cluster?.stop();
    });

    test('SCRAM passthrough: the client\'s proof logs in upstream over verify-full TLS, no plaintext on disk', async () => {
      const r = await psql(`host=127.0.0.1 port=${gh.port} user=app dbname=postgres sslmode=disable`,
        "select current_user, (select ssl from pg_stat_ssl where pid = pg_backend_pid())", { password: PW });
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, 'app|t', 'logged in as app, and the upstream leg is TLS');
      for (const f of await readdir(gh.dir)) assert.ok(!(await readFile(join(gh.dir, f), 'utf8')).includes(PW), `${f} holds no plaintext`);
    });

    test('auth_query: a role not in the auth file logs in with its verifier from the server', async () => {
      const r = await psql(`host=127.0.0.1 port=${gh.port} user=fromquery dbname=postgres sslmode=disable`, 'select current_user', { password: 'from-query-pw' });
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, 'fromquery');
      const bad = await psql(`host=127.0.0.1 port=${gh.port} user=fromquery dbname=postgres sslmode=disable`, 'select 1', { password: 'nope' });
      assert.match(bad.stderr, /FATAL:  password authentication failed for user "fromquery"/);
    });

    test('auth_query honours rolvaliduntil, and a client search_path never reaches the lookup', async () => {
      const r = await psql(`host=127.0.0.1 port=${gh.port} user=expired dbname=postgres sslmode=disable`, 'select 1', { password: 'expired-pw' });
      assert.match(r.stderr, /FATAL:  password authentication failed for user "expired"/);
      // CVE-2025-12819: a hostile search_path in the startup packet must not change the lookup.
      await cluster.query('CREATE SCHEMA evil; CREATE FUNCTION evil.get_auth(text) RETURNS TABLE (rolname text, rolpassword text, rolvaliduntil timestamptz, rolcanlogin boolean) LANGUAGE sql AS $$ SELECT $1, NULL::text, NULL::timestamptz, true $$; GRANT USAGE ON SCHEMA evil TO PUBLIC;');
      const s = await psql(`host=127.0.0.1 port=${gh.port} user=fromquery dbname=postgres sslmode=disable options='-c search_path=evil'`, 'select current_user', { password: 'from-query-pw' });
      assert.equal(s.stdout, 'fromquery');
    });

    test('+group lines use real role membership, fetched through the auth_query connection', async () => {
      await cluster.query('CREATE ROLE staff NOLOGIN; CREATE ROLE inner_staff NOLOGIN IN ROLE staff; GRANT inner_staff TO app');
      await gh.write('pg_hba.conf', 'host all +staff 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 reject\n');
      assert.equal(gh.gateway.reload().ok, true);
      try {
        const r = await psql(`host=127.0.0.1 port=${gh.port} user=app dbname=postgres sslmode=disable`, 'select current_user', { password: PW });
        assert.equal(r.stdout, 'app', r.stderr);
        const other = await psql(`host=127.0.0.1 port=${gh.port} user=fromquery dbname=postgres sslmode=disable`, 'select 1', { password: 'from-query-pw' });
        assert.match(other.stderr, /pg_hba\.conf rejects connection for host "127\.0\.0\.1", user "fromquery"/);
      } finally {
        await gh.write('pg_hba.conf', 'host all all 127.0.0.1/32 scram-sha-256\n');
        assert.equal(gh.gateway.reload().ok, true);
      }
    });

    test('a fixed upstream user: every client of that entry is that role upstream', async () => {
      const r = await psql(`host=127.0.0.1 port=${gh.port} user=shared dbname=fixed sslmode=disable`, 'select current_user, current_database()', { password: 'shared-pw' });
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, 'gh_lookup|postgres');
    });

    test('an upstream login failure becomes the matching FATAL (3D000)', async () => {
      const r = await psql(`host=127.0.0.1 port=${gh.port} user=app dbname=nosuchdb sslmode=disable`, 'select 1', { password: PW });
      assert.match(r.stderr, /FATAL:  database "nosuchdb" does not exist/);
    });

    test('an unreachable server gives the client 08006 and the gateway keeps serving', async () => {
      const r = await psql(`host=127.0.0.1 port=${gh.port} user=app dbname=down sslmode=disable`, 'select 1', { password: PW });
      assert.match(r.stderr, /FATAL:  server connection failed/);
      const failed = gh.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.database === 'down');
      assert.match(String(failed?.reason), /could not connect to 127\.0\.0\.1:\d+/, 'the log says why; the client is not told');
      const ok = await psql(`host=127.0.0.1 port=${gh.port} user=app dbname=postgres sslmode=disable`, 'select 1', { password: PW });
      assert.equal(ok.stdout, '1');
    });

    test('startup parameters and ParameterStatus are forwarded', async () => {
      const r = await psql(`host=127.0.0.1 port=${gh.port} user=app dbname=postgres sslmode=disable application_name=myapp options='-c work_mem=7MB'`,
        "select current_setting('application_name'), current_setting('work_mem')", { password: PW });
      assert.equal(r.stdout, 'myapp|7MB');
    });

    test('pgbench -S -c 8 -T 10 through gatehouse: 0 failed transactions', async () => {
      await runPgbench(['-i', '-s', '1', '-q'], cluster, gh, PW);
      const out = await runPgbench(['-S', '-c', '8', '-j', '2', '-T', '10', '-n'], cluster, gh, PW);
      assert.match(out, /number of failed transactions: 0 \(0\.000%\)/);
      const processed = /number of transactions actually processed: (\d+)/.exec(out);
      assert.ok(processed && Number(processed[1]) > 100, out);
    });

    test('a server restart ends the session with the server\'s FATAL; new sessions then get in', async () => {
      const c = new pg.Client({ host: '127.0.0.1', port: gh.port, user: 'app', password: PW, database: 'postgres', ssl: false });
      const errors: { code?: string }[] = [];
      c.on('error', (e) => errors.push(e as { code?: string }));
      await c.connect();
      await cluster.restart();
      for (let i = 0; i < 40 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(errors[0]?.code, '57P01', 'the server\'s own FATAL reached the client');
      await c.end().catch(() => undefined);
      const ok = await psql(`host=127.0.0.1 port=${gh.port} user=app dbname=postgres sslmode=disable`, 'select 1', { password: PW });
      assert.equal(ok.stdout, '1', ok.stderr);
      // The relay closes a client that does not hang up itself within a second of its server.
      for (let i = 0; i < 60 && gh.gateway.live.size > 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(gh.gateway.live.size, 0, 'the ended session left the books');
    });
  });
}

function runPgbench(args: string[], cluster: Cluster, gh: Gatehouse, password: string): Promise<string> {
  void cluster;
  return new Promise((resolve, reject) => {
    const child = spawn(clientBin('pgbench'), ['-h', '127.0.0.1', '-p', String(gh.port), '-U', 'app', ...args, 'postgres'],
      { env: { PATH: process.env.PATH, PGPASSWORD: password, PGSSLMODE: 'disable' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`pgbench exited ${code}:\n${out}`))));
  });
}
