/**
 * Prometheus metrics (issue 4, "Metrics"): off by default; scraped during a `pgbench -S -c 4 -t 200`
 * run, the transaction and authentication counters match pgbench's own counts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { availableVersions, clientBin, freePort, startCluster, type Cluster } from '../../harness/pg.js';
import { runClient } from '../../harness/pg-process.js';
import { makeCertSet, type CertSet } from '../../harness/certs.js';
import { startGatehouse, verifierOf, type Gatehouse } from '../gateway/fixture.js';
import { startServe, type ServeHandle } from '../../../src/cli/serve.js';

/** Debian's pgbench 15 (/usr/lib/postgresql/15/bin; .ci/run installs it): a clear error when missing. */
const PGBENCH = clientBin('pgbench');
const PW = 'bench-pw-1';

/** Value of one sample line `name{labels} value`; 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const open = line.indexOf('{');
    const inner = open >= 0 ? line.slice(open + 1, line.indexOf('}')) : '';
    if (want.every((w) => inner.split(',').includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}


const versions = await availableVersions();

for (const version of versions) {
  describe(`metrics on PostgreSQL ${version}`, () => {
    let certs: CertSet;
    let cluster: Cluster;
    let gh: Gatehouse;
    let serve: ServeHandle;

    before(async () => {
      certs = await makeCertSet();
      cluster = await startCluster({ version, hba: 'host all all 127.0.0.1/32 scram-sha-256\nlocal all all trust' });
      await cluster.createRole('bench', { password: PW });
      await cluster.query('CREATE DATABASE benchdb OWNER bench');
      const init = await runClient(PGBENCH, ['-i', '-s', '1', '-q', '-h', cluster.socketDir, '-p', String(cluster.port), '-U', 'bench', 'benchdb'], {});
      assert.equal(init.code, 0, init.stderr);
      // The fixture's gateway serves the cluster; a second gatehouse started the way `gatehouse serve`
      // starts it (startServe) has metrics.listen set, on its own port.
      gh = await startGatehouse({
        cluster, certs, hba: 'host all all 127.0.0.1/32 scram-sha-256',
        users: [`"bench" "${await verifierOf(cluster, 'bench')}"`],
      });
      const port = await freePort();
      const metricsPort = await freePort();
      const text = (await import('node:fs/promises')).readFile(gh.configPath, 'utf8');
      const yaml = (await text).replace(/port: \d+/, `port: ${port}`) + `\nmetrics: {listen: "127.0.0.1:${metricsPort}"}\n`;
      serve = await startServe(await gh.write('serve.yaml', yaml), { signals: false });
    });
    after(async () => {
      await serve?.gateway.shutdown('fast');
      await serve?.stopped;
      await gh?.stop();
      await cluster?.stop();
    });

    const scrape = async (): Promise<string> => {
      const a = serve.metrics!.address;
      const res = await fetch(`http://${a.host}:${a.port}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      return res.text();
    };

    test('/metrics is off unless metrics.listen is set', () => {
      assert.equal(gh.gateway.state.config.metrics.listen, undefined);
      assert.ok(serve.metrics, 'the serve instance with metrics.listen serves it');
    });

    test('other paths are 404', async () => {
      const a = serve.metrics!.address;
      const res = await fetch(`http://${a.host}:${a.port}/`);
      assert.equal(res.status, 404);
      await res.text();
    });

    test('a scrape during pgbench -S -c 4 -t 200 matches pgbench\'s transaction and login counts', async () => {
      const port = serve.addresses[0]!.where.split(':').pop()!;
      const before = await scrape();
      const bench = runClient(PGBENCH, ['-S', '-n', '-c', '4', '-j', '2', '-t', '200', '-h', '127.0.0.1', '-p', port, '-U', 'bench', 'benchdb'],
        { PGPASSWORD: PW, PGSSLMODE: 'disable' });
      // Scrapes while the run is going: the gauges are read live, so some scrape sees its clients.
      let finished = false;
      void bench.then(() => (finished = true));
      let maxActive = 0;
      let during = '';
      while (!finished) {
        during = await scrape();
        maxActive = Math.max(maxActive, sample(during, 'gatehouse_clients', { database: 'benchdb', user: 'bench', state: 'active' }));
        await new Promise((res) => setTimeout(res, 5));
      }
      assert.ok(maxActive >= 1 && maxActive <= 5, `active clients seen during the run: ${maxActive}`);
      assert.match(during, /^# TYPE gatehouse_clients gauge$/m);
      assert.match(during, /^gatehouse_process_resident_memory_bytes \d+/m);
      const r = await bench;
      assert.equal(r.code, 0, r.stderr);
      const processed = /number of transactions actually processed: (\d+)\/(\d+)/.exec(r.stdout);
      assert.ok(processed, r.stdout);
      assert.equal(processed[1], '800');
      assert.match(r.stdout, /number of failed transactions: 0 /);
      const after = await scrape();
      const delta = (name: string, labels: Record<string, string>): number => sample(after, name, labels) - sample(before, name, labels);
      // -S: one SELECT per transaction, one ReadyForQuery 'I' each, on 4 client connections. pgbench
      // also opens one connection of its own first (pgbench.c GetTableInfo: the scale factor query
      // and the partition query): 2 more autocommit queries and a fifth login.
      const setup = 2;
      assert.equal(delta('gatehouse_transactions_total', { database: 'benchdb' }), 800 + setup);
      assert.equal(delta('gatehouse_queries_total', { database: 'benchdb' }), 800 + setup);
      assert.equal(delta('gatehouse_transaction_duration_seconds_count', { database: 'benchdb' }), 800 + setup);
      assert.equal(delta('gatehouse_query_duration_seconds_count', { database: 'benchdb' }), 800 + setup);
      assert.equal(delta('gatehouse_auth_attempts_total', { method: 'scram-sha-256', outcome: 'success' }), 4 + 1);
      assert.equal(delta('gatehouse_client_logins_total', { database: 'benchdb' }), 4 + 1);
      assert.equal(delta('gatehouse_client_wait_seconds_count', { database: 'benchdb' }), 4 + 1);
      assert.ok(delta('gatehouse_received_bytes_total', { database: 'benchdb' }) > 800 * 20);
      assert.ok(delta('gatehouse_sent_bytes_total', { database: 'benchdb' }) > 0);
      // pgbench has exited; its sessions leave the gauge once gatehouse has seen each connection close.
      for (let i = 0; sample(await scrape(), 'gatehouse_clients', { database: 'benchdb', user: 'bench', state: 'active' }) !== 0; i++) {
        assert.ok(i < 100, 'the active clients gauge falls back to 0');
        await new Promise((res) => setTimeout(res, 50));
      }
    });

    test('auth failures, reloads and error classes are counted', async () => {
      const port = serve.addresses[0]!.where.split(':').pop()!;
      const before = await scrape();
      const bad = await runClient(PGBENCH, ['-S', '-n', '-t', '1', '-h', '127.0.0.1', '-p', port, '-U', 'bench', 'benchdb'], { PGPASSWORD: 'wrong', PGSSLMODE: 'disable' });
      assert.notEqual(bad.code, 0);
      serve.gateway.reload();
      const after = await scrape();
      const delta = (name: string, labels: Record<string, string>): number => sample(after, name, labels) - sample(before, name, labels);
      assert.equal(delta('gatehouse_auth_attempts_total', { method: 'scram-sha-256', outcome: 'failure' }), 1);
      assert.equal(delta('gatehouse_errors_total', { sqlstate_class: '28', source: 'gatehouse' }), 1);
      assert.equal(delta('gatehouse_reloads_total', { outcome: 'success' }), 1);
    });
  });
}
