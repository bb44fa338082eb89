/**
 * Report values for the renderer tests: the weak offline fixture audited for real, plus one report
 * with every kind of evidence, a least-privilege table, skipped checks, warnings, and hostile text
 * (a role named `<script>…`, pipes, backticks, quotes) that every format must carry inertly.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHECKS, runChecks } from '../../../src/inspector/checks/index.js';
import { collectOffline } from '../../../src/inspector/collect/offline.js';
import type { AuditReport } from '../../../src/inspector/report/index.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../spec/inspector/fixtures');
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The weak fixture (postgresql.conf + pg_hba.conf) through the real collector and checks. */
export function weakReport(): AuditReport {
  const conf = join(FIXTURES, 'weak', 'postgresql.conf');
  const hba = join(FIXTURES, 'weak', 'pg_hba.conf');
  const collected = collectOffline({ conf, hba });
  return {
    context: { targets: [conf, hba], generatedAt: '2026-11-22T08:00:00.000Z', warnings: collected.warnings },
    result: runChecks(collected.facts, CHECKS),
  };
}

export const EVIL_ROLE = '<script>alert(1)</script>';

/** Every evidence kind, a table, skips and warnings; text chosen to break naive escaping. */
export function richReport(): AuditReport {
  const weak = weakReport();
  return {
    context: {
      targets: [...weak.context.targets, 'probe db.example.com:5432'],
      generatedAt: '2026-11-22T08:00:00.000Z',
      releaseData: { asOf: '2026-11-13', source: 'bundled' },
      warnings: ['/etc/postgresql/18/main/postgresql.conf:12: skipping missing configuration file "/etc/postgresql/18/main/local.conf"'],
    },
    result: {
      findings: [
        ...weak.result.findings,
        {
          id: 'GH-ROLE-001', title: `extra login superuser: ${EVIL_ROLE} | can log in and is superuser`, severity: 'high', confidence: 'certain',
          evidence: [{ kind: 'row', query: 'pg_roles WHERE rolsuper AND rolcanlogin', row: { rolname: EVIL_ROLE, rolsuper: true, rolcanlogin: true } }],
          remediation: `ALTER ROLE "${EVIL_ROLE}" NOSUPERUSER;\n-- and grant only what it needs, e.g.:\nGRANT app_rw TO "${EVIL_ROLE}";`,
          references: ['CIS PostgreSQL 17 Benchmark v1.0.0 4.3', 'https://www.postgresql.org/docs/current/role-attributes.html'],
        },
        {
          id: 'GH-PROBE-004', title: 'Server certificate expires within 30 days', severity: 'medium', confidence: 'certain',
          evidence: [{ kind: 'probe', target: 'db.example.com:5432', detail: 'notAfter 2026-12-01T00:00:00Z (9 days left); subject CN=db.example.com' }],
          remediation: 'Renew the certificate, then: SELECT pg_reload_conf();', references: ['CIS PostgreSQL Benchmark 6.8 (TLS enabled and configured correctly)'],
        },
        {
          id: 'GH-HBA-002', title: 'shadowed rule: `+admins` may cover this line | group membership is unknown offline', severity: 'medium', confidence: 'possible',
          evidence: [{ kind: 'file', file: '/etc/postgresql/18/main/pg_hba.conf', line: 14, text: 'hostssl all "ops|team" 10.1.0.0/16 scram-sha-256' }],
          remediation: 'Move /etc/postgresql/18/main/pg_hba.conf:14 above line 9, or delete it', references: [],
        },
      ],
      skipped: [
        { id: 'GH-AUTH-002', title: 'roles with md5 password hashes', needs: 'superuser (pg_authid) in live mode' },
        { id: 'GH-PATCH-001', title: 'PostgreSQL version end of life or behind the latest minor', needs: 'a live connection (server_version_num)' },
      ],
      tables: [{
        id: 'least-privilege', title: 'Least privilege: who can log in from where, with which powers',
        columns: ['Role', 'Can log in from', 'Powers'],
        rows: [
          ['postgres', 'local (peer)', 'superuser'],
          [EVIL_ROLE, 'host 0.0.0.0/0 (md5)', 'superuser, createrole'],
          ['app', 'hostssl 192.0.2.0/24 (scram-sha-256)', 'owns 42 tables in app | `public`'],
          ['replicator', 'host 198.51.100.7/32 (password)', 'replication'],
        ],
        note: 'Group membership of +group lines comes from the catalog; a role not in pg_hba.conf cannot log in at all.',
      }],
    },
  };
}
