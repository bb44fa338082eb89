/**
 * The console's SHUTDOWN stops `gatehouse serve` (startServe, as the CLI runs it): plain SHUTDOWN
 * ends every session at once; SHUTDOWN WAIT_FOR_CLIENTS answers, stops accepting and waits for
 * the sessions. Also: without metrics.listen there is no metrics endpoint.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { readFile } from 'node:fs/promises';
import { availableVersions, freePort, startCluster, type Cluster } from '../../harness/pg.js';
import { makeCertSet, type CertSet } from '../../harness/certs.js';
import { startGatehouse, verifierOf, type Gatehouse } from '../gateway/fixture.js';
import { startServe, type ServeHandle } from '../../../src/cli/serve.js';
import { consoleClient, psqlBackground, psqlTable } from './console-support.js';

const ADMIN_PW = 'admin-pw-2';
const APP_PW = 'app-pw-2';

const refused = (port: number): Promise<boolean> => new Promise((resolve) => {
  const s = connect({ host: '127.0.0.1', port });
  s.once('connect', () => {
    s.destroy();
    resolve(false);
  });
  s.once('error', () => resolve(true));
});

const versions = (await availableVersions()).filter((v) => v === 18);

for (const version of versions) {
  describe(`console SHUTDOWN on PostgreSQL ${version}`, () => {
    let certs: CertSet;
    let cluster: Cluster;
    let gh: Gatehouse;

    before(async () => {
      certs = await makeCertSet();
      cluster = await startCluster({ version, hba: 'host all all 127.0.0.1/32 scram-sha-256\nlocal all all scram-sha-256' });
      await cluster.createRole('app', { password: APP_PW });
      gh = await startGatehouse({
        cluster, certs, hba: 'host all all 127.0.0.1/32 scram-sha-256',
        users: [`"app" "${await verifierOf(cluster, 'app')}"`, `"admin1" "${ADMIN_PW}"`],
        extraYaml: 'admin: {users: [admin1]}',
      });
    });
    after(async () => {
      await gh?.stop();
      await cluster?.stop();
    });

    /** A `gatehouse serve` of its own on a fresh port, configured like the fixture's. */
    async function serve(): Promise<{ handle: ServeHandle; port: number }> {
      const port = await freePort();
      const yaml = (await readFile(gh.configPath, 'utf8')).replace(/port: \d+/, `port: ${port}`);
      const handle = await startServe(await gh.write(`serve-${port}.yaml`, yaml), { signals: false });
      return { handle, port };
    }

    test('without metrics.listen there is no metrics endpoint', async () => {
      const { handle } = await serve();
      assert.equal(handle.metrics, null);
      await handle.gateway.shutdown('fast');
      await handle.stopped;
    });

    test('SHUTDOWN ends every session with 57P01 and `gatehouse serve` stops', async () => {
      const { handle, port } = await serve();
      const app = psqlBackground(`host=127.0.0.1 port=${port} dbname=postgres user=app sslmode=disable`, 'select pg_sleep(30)', APP_PW);
      const c = await consoleClient(port, 'admin1', ADMIN_PW);
      for (;;) {
        const r = await c.query<{ user: string }>('SHOW CLIENTS');
        if (r.rows.some((x) => x.user === 'app')) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      c.query('SHUTDOWN').catch(() => undefined);
      await handle.stopped;
      const a = await app.done;
      assert.match(a.stderr, /FATAL:  terminating connection due to administrator command/);
      assert.ok(await refused(port), 'nothing listens any more');
      await c.end().catch(() => undefined);
    });

    test('SHUTDOWN WAIT_FOR_CLIENTS answers, stops accepting, and stops once the sessions end', async () => {
      const { handle, port } = await serve();
      const t = await psqlTable(`host=127.0.0.1 port=${port} dbname=pgbouncer user=admin1 sslmode=disable`, 'SHUTDOWN WAIT_FOR_CLIENTS', ADMIN_PW);
      assert.equal(t.stderr, '');
      assert.equal(t.code, 0);
      await handle.stopped;
      assert.ok(await refused(port));
    });

    test('an unknown SHUTDOWN form is refused', async () => {
      const t = await psqlTable(`host=127.0.0.1 port=${gh.port} dbname=gatehouse user=admin1 sslmode=disable`, 'SHUTDOWN NOW', ADMIN_PW);
      assert.equal(t.stderr, "ERROR:  invalid command 'SHUTDOWN NOW', use SHOW HELP;");
    });
  });
}
