/** GH-PRIV-003: tables, views or sequences in user schemas with privileges granted to PUBLIC (every role, present and future). */
import type { Check } from '../types.js';
import { factNeeds, found, nameList, rowEvidence, skip, SEED_LEAST_PRIVILEGE } from './finding.js';

const ID = 'GH-PRIV-003';
const TITLE = 'tables granted to PUBLIC';

export const publicTables: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const t = facts.catalog?.publicTables;
    if (!t) return skip(ID, TITLE, factNeeds(facts, 'publicTables'));
    if (t.count === 0) return found([]);
    const first = t.sample[0]!;
    return found([{
      id: ID, title: `${TITLE}: ${t.count} in database ${facts.catalog?.database ?? '?'}: ${nameList(t.sample.slice(0, 5).map((s) => `${s.name} (${s.privileges})`), t.count)}`,
      severity: 'medium', confidence: 'certain',
      evidence: t.sample.map((s) => rowEvidence('aclexplode(relacl) WHERE grantee = 0 (PUBLIC)', { relation: s.name, privileges: s.privileges })),
      remediation: `REVOKE ALL ON ${first.name} FROM PUBLIC; then GRANT ${first.privileges} ON ${first.name} TO <the roles that need it>; (for a whole schema: REVOKE ALL ON ALL TABLES IN SCHEMA <schema> FROM PUBLIC;)`,
      references: [SEED_LEAST_PRIVILEGE, 'https://www.postgresql.org/docs/current/ddl-priv.html'],
    }]);
  },
};
