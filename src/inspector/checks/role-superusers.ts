/**
 * GH-ROLE-001: login superusers besides the bootstrap superuser (CIS 4.3). A superuser bypasses every
 * permission check, and pgAudit cannot reliably audit one; applications should never log in as one.
 */
import type { Check } from '../types.js';
import { cis, factNeeds, found, ident, rowEvidence, skip, SEED_LEAST_PRIVILEGE } from './finding.js';

const ID = 'GH-ROLE-001';
const TITLE = 'extra login superuser';

export const extraSuperusers: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const roles = facts.catalog?.roles;
    if (!roles) return skip(ID, TITLE, factNeeds(facts, 'roles'));
    return found(roles.filter((r) => r.superuser && r.canLogin && !r.bootstrap).map((r) => ({
      id: ID, title: `${TITLE}: ${r.name} can log in with superuser power`, severity: 'high', confidence: 'certain',
      evidence: [rowEvidence('pg_roles WHERE rolsuper AND rolcanlogin', { rolname: r.name, rolsuper: true, rolcanlogin: true })],
      remediation: `ALTER ROLE ${ident(r.name)} NOSUPERUSER; then GRANT it only what it uses (e.g. GRANT pg_monitor TO ${ident(r.name)}; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA app TO ${ident(r.name)};). Keep one superuser for administration, reached only by a local line.`,
      references: [SEED_LEAST_PRIVILEGE, cis('4.3'), 'https://www.postgresql.org/docs/current/role-attributes.html'],
    })));
  },
};
