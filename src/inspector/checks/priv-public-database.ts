/**
 * GH-PRIV-002: PUBLIC may CONNECT to, or create TEMP tables in, a database. That is PostgreSQL's
 * default (datacl NULL means PUBLIC has CONNECT and TEMPORARY), which leaves pg_hba.conf as the only
 * gate between any role and any database. Low: a hardening step, not a hole.
 */
import type { Check } from '../types.js';
import { factNeeds, found, ident, rowEvidence, skip, SEED_LEAST_PRIVILEGE } from './finding.js';

const ID = 'GH-PRIV-002';
const TITLE = 'PUBLIC can connect to a database';

export const publicDatabase: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const dbs = facts.catalog?.databases;
    if (!dbs) return skip(ID, TITLE, factNeeds(facts, 'databases'));
    return found(dbs.filter((d) => d.publicConnect || d.publicTemp).map((d) => {
      const privs = [d.publicConnect && 'CONNECT', d.publicTemp && 'TEMPORARY'].filter((p): p is string => p !== false);
      return {
        id: ID, title: `${TITLE}: PUBLIC has ${privs.join(' and ')} on database ${d.name}${d.acl === null ? ' (the default)' : ''}`,
        severity: 'low', confidence: 'certain',
        evidence: [rowEvidence('pg_database', { datname: d.name, datacl: d.acl ?? 'NULL (default: PUBLIC has CONNECT and TEMPORARY)' })],
        remediation: `REVOKE ${privs.join(', ')} ON DATABASE ${ident(d.name)} FROM PUBLIC; GRANT CONNECT ON DATABASE ${ident(d.name)} TO <the roles that use it>;`,
        references: [SEED_LEAST_PRIVILEGE, 'https://www.postgresql.org/docs/current/ddl-priv.html'],
      };
    }));
  },
};
