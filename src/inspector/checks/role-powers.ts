/**
 * GH-ROLE-002: login roles (not superusers) with CREATEROLE, BYPASSRLS or REPLICATION. CREATEROLE can
 * grant itself most roles (before PostgreSQL 16, any non-superuser role); BYPASSRLS ignores every
 * row-level security policy; REPLICATION reads the whole cluster's WAL. Whether a role is meant to have
 * them cannot be known from the catalog, so these are "possible": keep them on dedicated roles.
 */
import type { Check, RoleFact } from '../types.js';
import { cis, factNeeds, found, ident, rowEvidence, skip, SEED_LEAST_PRIVILEGE } from './finding.js';

const ID = 'GH-ROLE-002';
const TITLE = 'powerful role attribute';

const attributes = (r: RoleFact): string[] =>
  [r.createrole && 'CREATEROLE', r.bypassrls && 'BYPASSRLS', r.replication && 'REPLICATION'].filter((p): p is string => p !== false);

export const rolePowers: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const roles = facts.catalog?.roles;
    if (!roles) return skip(ID, TITLE, factNeeds(facts, 'roles'));
    return found(roles.filter((r) => r.canLogin && !r.superuser && attributes(r).length > 0).map((r) => {
      const attrs = attributes(r);
      return {
        id: ID, title: `${TITLE}: ${r.name} has ${attrs.join(', ')}`, severity: 'medium', confidence: 'possible',
        evidence: [rowEvidence('pg_roles', { rolname: r.name, rolcreaterole: r.createrole, rolbypassrls: r.bypassrls, rolreplication: r.replication })],
        remediation: `Unless ${r.name} is the dedicated role for this: ALTER ROLE ${ident(r.name)} ${attrs.map((a) => `NO${a}`).join(' ')};`,
        references: [SEED_LEAST_PRIVILEGE, cis('4.3'), cis('7.1'), 'https://www.postgresql.org/docs/current/role-attributes.html'],
      };
    }));
  },
};
