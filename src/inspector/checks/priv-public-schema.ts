/**
 * GH-PRIV-001: PUBLIC may CREATE in a schema (CIS 4.10; CVE-2018-1058). Any role can then plant a
 * function or operator that another role's search_path picks up. PostgreSQL 15 revoked it on
 * `public` by default; older clusters and restored dumps still have it.
 */
import type { Check } from '../types.js';
import { cis, factNeeds, found, ident, rowEvidence, skip, SEED_LEAST_PRIVILEGE } from './finding.js';

const ID = 'GH-PRIV-001';
const TITLE = 'PUBLIC can create objects in a schema';

export const publicCreateSchema: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const schemas = facts.catalog?.publicCreateSchemas;
    if (!schemas) return skip(ID, TITLE, factNeeds(facts, 'publicCreateSchemas'));
    return found(schemas.map((s) => ({
      id: ID, title: `${TITLE}: every role may CREATE in schema ${s.schema} (database ${facts.catalog?.database ?? '?'})`,
      severity: 'high', confidence: 'certain',
      evidence: [rowEvidence("pg_namespace WHERE has_schema_privilege('public', oid, 'CREATE')", { nspname: s.schema, owner: s.owner, nspacl: s.acl ?? 'NULL' })],
      remediation: `REVOKE CREATE ON SCHEMA ${ident(s.schema)} FROM PUBLIC; (in database ${facts.catalog?.database ?? 'each database'}; grant CREATE only to the schema's owner role)`,
      references: [SEED_LEAST_PRIVILEGE, cis('4.10'), 'CVE-2018-1058', 'https://www.postgresql.org/docs/current/ddl-schemas.html#DDL-SCHEMAS-PATTERNS'],
    })));
  },
};
