/**
 * The built CLI as an operator runs it: `node dist/cli.js serve --config FILE`.
 * SIGHUP reloads (a broken hba keeps the old rules, and the log says file:line), SIGINT ends
 * sessions with 57P01, SIGTERM stops accepting and waits for sessions.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, startCluster, type Cluster } from '../../harness/pg.js';
import { makeCertSet, type CertSet } from '../../harness/certs.js';
import { psql, verifierOf } from './fixture.js';

const PW = 'signals-pw';
const CLI = new URL('../../../dist/cli.js', import.meta.url).pathname;

describe('serve: signals (PostgreSQL 18, built CLI)', () => {
  let certs: CertSet;
  let cluster: Cluster;
  let dir: string;
  let port: number;
  let child: ChildProcess;
  let out = '';

  const waitFor = async (re: RegExp, ms = 10_000): Promise<void> => {
    const until = Date.now() + ms;
    while (!re.test(out)) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${re}; output:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const start = async (): Promise<void> => {
    out = '';
    child = spawn(process.execPath, [CLI, 'serve', '--config', join(dir, 'gatehouse.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (out += d));
    child.stderr!.on('data', (d: Buffer) => (out += d));
    await waitFor(/gatehouse is ready/);
  };
  const exited = (): Promise<number | null> => new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (c) => r(c))));
  const login = (pw = PW) => psql(`host=127.0.0.1 port=${port} user=app dbname=postgres sslmode=disable`, 'select 1', { password: pw });

  before(async () => {
    certs = await makeCertSet();
    cluster = await startCluster({ version: 18 });
    await cluster.createRole('app', { password: PW });
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-sig-'));
    port = await freePort();
    await writeFile(join(dir, 'hba.conf'), 'host all app 127.0.0.1/32 scram-sha-256\n');
    await writeFile(join(dir, 'users.txt'), `"app" "${await verifierOf(cluster, 'app')}"\n`);
    await writeFile(join(dir, 'gatehouse.yaml'), [
      `listen: {port: ${port}}`, `tls: {cert: ${certs.serverCert}, key: ${certs.serverKey}}`, 'hba: hba.conf', 'auth: {users: users.txt}',
      'shutdown_timeout: 3s', `databases: {"*": {host: 127.0.0.1, port: ${cluster.port}, sslmode: disable}}`,
    ].join('\n'));
  });
  after(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('a config error exits 2 and names the key', async () => {
    await writeFile(join(dir, 'bad.yaml'), 'hba: hba.conf\nlisten: {prot: 1}\n');
    const c = spawn(process.execPath, [CLI, 'serve', '--config', join(dir, 'bad.yaml')]);
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d));
    const code = await new Promise((r) => c.on('exit', r));
    assert.equal(code, 2);
    assert.match(err, /bad\.yaml: configuration is not valid/);
    assert.match(err, /listen\.prot: unknown key \(did you mean "port"\?\)/);
  });

  test('SIGHUP with a broken hba keeps the old rules and logs file:line; a good one takes effect', async () => {
    await start();
    assert.equal((await login()).stdout, '1');
    await writeFile(join(dir, 'hba.conf'), 'host all app 127.0.0.1/32 scram-sha-256\nhost all all 10.0.0.0/33 trust\n');
    child.kill('SIGHUP');
    await waitFor(/reload failed; keeping the previous configuration/);
    assert.match(out, /hba\.conf:2/);
    assert.equal((await login()).stdout, '1', 'the old rules still admit app');
    await writeFile(join(dir, 'hba.conf'), 'host all app 127.0.0.1/32 reject\n');
    child.kill('SIGHUP');
    await waitFor(/configuration reloaded/);
    assert.match((await login()).stderr, /pg_hba\.conf rejects connection for host "127\.0\.0\.1", user "app"/);
    await writeFile(join(dir, 'hba.conf'), 'host all app 127.0.0.1/32 scram-sha-256\n');
    child.kill('SIGHUP');
    await waitFor(/configuration reloaded[\s\S]*configuration reloaded/);
  });

  test('SIGINT ends sessions with 57P01 and exits', async () => {
    const c = new pg.Client({ host: '127.0.0.1', port, user: 'app', password: PW, database: 'postgres' });
    const errors: { code?: string }[] = [];
    c.on('error', (e) => errors.push(e as { code?: string }));
    await c.connect();
    const q = c.query('select pg_sleep(30)').catch((e: { code?: string }) => e);
    await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGINT');
    const e = (await q) as { code?: string };
    assert.equal(e.code, '57P01');
    assert.equal(await exited(), 0);
    await c.end().catch(() => undefined);
  });

  test('SIGTERM stops accepting and waits for a session to finish', async () => {
    await start();
    const c = new pg.Client({ host: '127.0.0.1', port, user: 'app', password: PW, database: 'postgres' });
    await c.connect();
    const q = c.query('select pg_sleep(1) as slept');
    await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    assert.notEqual((await login()).code, 0, 'new connections are refused');
    assert.deepEqual((await q).rows[0], { slept: '' });
    await c.end();
    assert.equal(await exited(), 0);
  });
});
