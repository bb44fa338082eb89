/**
 * Live audit benchmark (issue 3), not a test: a PostgreSQL cluster with 1,000 roles (in 10 groups,
 * with memberships) and 10,000 tables (in 10 schemas, some granted to PUBLIC), then
 * `node dist/cli.js audit CONNINFO --format json` three times; prints each wall time and the median.
 * Target: under 3 s.
 *   node --import tsx bench/audit-live.ts [15|18]     (default 18; needs a built dist/)
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { startCluster, type PgVersion } from '../test/harness/pg.js';

const version = Number(process.argv[2] ?? 18) as PgVersion;
const cli = new URL('../dist/cli.js', import.meta.url).pathname;

const cluster = await startCluster({
  version, conf: { max_locks_per_transaction: 256 },
  hba: ['local all all scram-sha-256', 'hostssl all +g1 10.0.0.0/8 scram-sha-256', 'host all all 127.0.0.1/32 scram-sha-256'].join('\n'),
});
try {
  const t0 = performance.now();
  await cluster.query(`DO $$ BEGIN
    FOR g IN 1..10 LOOP EXECUTE format('CREATE ROLE g%s NOLOGIN', g); EXECUTE format('CREATE SCHEMA s%s', g); END LOOP;
    FOR i IN 1..1000 LOOP EXECUTE format('CREATE ROLE r%s LOGIN IN ROLE g%s', i, 1 + i % 10); END LOOP;
  END $$`);
  for (let batch = 0; batch < 10; batch++) {
    await cluster.query(`DO $$ BEGIN FOR i IN ${batch * 1000 + 1}..${(batch + 1) * 1000} LOOP
      EXECUTE format('CREATE TABLE s%s.t%s (id int primary key, v text)', 1 + i % 10, i);
      IF i % 100 = 0 THEN EXECUTE format('GRANT SELECT ON s%s.t%s TO PUBLIC', 1 + i % 10, i); END IF;
      IF i % 10 = 0 THEN EXECUTE format('ALTER TABLE s%s.t%s OWNER TO r%s', 1 + i % 10, i, i / 10); END IF;
    END LOOP; END $$`);
  }
  const [counts] = await cluster.query<{ roles: number; tables: number }>(
    "SELECT (SELECT count(*) FROM pg_roles WHERE rolname ~ '^(r|g)[0-9]')::int AS roles, (SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relnamespace::regnamespace::text ~ '^s[0-9]')::int AS tables");
  console.log(`PostgreSQL ${version}: ${counts?.roles} roles, ${counts?.tables} tables, built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const conninfo = `host=${cluster.socketDir} port=${cluster.port} user=postgres dbname=postgres`;
  const times: number[] = [];
  for (let run = 1; run <= 3; run++) {
    const start = performance.now();
    const r = spawnSync(process.execPath, [cli, 'audit', conninfo, '--format', 'json', '--fail-on', 'critical'], {
      env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', PGPASSWORD: cluster.superuserPassword }, encoding: 'utf8', maxBuffer: 64 << 20,
    });
    const ms = performance.now() - start;
    if (r.status === 2) throw new Error(`audit failed: ${r.stderr}`);
    const report = JSON.parse(r.stdout) as { findings: unknown[]; tables: { rows: unknown[] }[] };
    times.push(ms);
    console.log(`run ${run}: ${(ms / 1000).toFixed(2)} s (${report.findings.length} findings, ${report.tables[0]?.rows.length ?? 0} table rows, ${(r.stdout.length / 1024).toFixed(0)} KiB)`);
  }
  times.sort((a, b) => a - b);
  console.log(`median: ${(times[1]! / 1000).toFixed(2)} s (target < 3 s)`);
} finally {
  await cluster.stop();
}
