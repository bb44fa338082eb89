/**
 * GH-PATCH-001: the major version is past its end of life (critical: no more security fixes) or
 * reaches it within six months (medium). PostgreSQL supports each major for five years
 * (postgresql.org/support/versioning); the dates come from the release table, whose date the report shows.
 */
import type { Check, Evidence, Facts, ReleaseTable } from '../types.js';
import { cis, found, NEEDS_LIVE, skip, SEED_PATCHING } from './finding.js';

const ID = 'GH-PATCH-001';
const TITLE = 'PostgreSQL major version end of life';
const SOON_DAYS = 183;
export const VERSIONING_DOC = 'https://www.postgresql.org/support/versioning/';

/** server_version_num → the table's major key and the minor ("18", 4; "9.6", 24). */
export function splitVersion(num: number): { major: string; minor: number } {
  if (num >= 100000) return { major: String(Math.floor(num / 10000)), minor: num % 10000 };
  return { major: `${Math.floor(num / 10000)}.${Math.floor(num / 100) % 100}`, minor: num % 100 };
}

/** The server's version and its row in the release table, or what is missing. */
export function releaseRow(facts: Facts): { needs: string } | {
  major: string; minor: number; row: ReleaseTable['majors'][string]; table: ReleaseTable; evidence: Evidence;
} {
  const v = facts.serverVersionNum;
  if (v === undefined) return { needs: NEEDS_LIVE };
  const table = facts.releases;
  if (!table) return { needs: 'a release table (--release-data FILE)' };
  const { major, minor } = splitVersion(v);
  const row = table.majors[major];
  if (!row) return { needs: `a release table that lists PostgreSQL ${major} (--release-data FILE; the bundled one is of ${table.asOf})` };
  return { major, minor, row, table, evidence: { kind: 'setting', name: 'server_version_num', value: String(v), source: 'server' } };
}

export const patchEol: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const r = releaseRow(facts);
    if ('needs' in r) return skip(ID, TITLE, r.needs);
    const days = Math.floor((Date.parse(`${r.row.eol}T00:00:00Z`) - Date.parse(facts.now ?? r.table.asOf)) / 86_400_000);
    if (days > SOON_DAYS) return found([]);
    const past = days < 0;
    return found([{
      id: ID,
      title: past ? `${TITLE}: PostgreSQL ${r.major} reached end of life on ${r.row.eol} and gets no security fixes` : `${TITLE}: PostgreSQL ${r.major} reaches end of life on ${r.row.eol} (in ${days} days)`,
      severity: past ? 'critical' : 'medium', confidence: 'certain',
      evidence: [r.evidence, { kind: 'row', query: `release table of ${r.table.asOf}`, row: { major: r.major, eol: r.row.eol } }],
      remediation: `Upgrade to a supported major (pg_upgrade --link, or logical replication for little downtime), e.g. pg_upgrade -b /usr/lib/postgresql/${r.major}/bin -B /usr/lib/postgresql/<new>/bin -d <old data> -D <new data> --link --check first.`,
      references: [SEED_PATCHING, cis('1.5'), VERSIONING_DOC],
    }]);
  },
};
