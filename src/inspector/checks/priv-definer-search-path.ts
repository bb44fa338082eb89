/**
 * GH-PRIV-004: SECURITY DEFINER functions without a pinned search_path. They run with their owner's
 * rights but resolve names through the caller's search_path, so a caller who can create objects in
 * any schema on that path can hijack them (docs: "Writing SECURITY DEFINER Functions Safely"). High
 * when PUBLIC may execute one.
 */
import type { Check } from '../types.js';
import { factNeeds, found, nameList, rowEvidence, skip, SEED_LEAST_PRIVILEGE } from './finding.js';

const ID = 'GH-PRIV-004';
const TITLE = 'SECURITY DEFINER function without a pinned search_path';

export const definerSearchPath: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const f = facts.catalog?.unpinnedDefiners;
    if (!f) return skip(ID, TITLE, factNeeds(facts, 'unpinnedDefiners'));
    if (f.count === 0) return found([]);
    const pub = f.sample.some((s) => s.publicExecute);
    const first = f.sample[0]!;
    return found([{
      id: ID, title: `${TITLE}: ${nameList(f.sample.slice(0, 5).map((s) => s.name), f.count)}${pub ? ' (PUBLIC may execute)' : ''}`,
      severity: pub ? 'high' : 'medium', confidence: 'certain',
      evidence: f.sample.map((s) => rowEvidence('pg_proc WHERE prosecdef AND no search_path in proconfig', { function: s.name, owner: s.owner, public_execute: s.publicExecute })),
      remediation: `ALTER FUNCTION ${first.name} SET search_path = pg_catalog, pg_temp; (qualify the names the body uses)${pub ? `, and REVOKE EXECUTE ON FUNCTION ${first.name} FROM PUBLIC; GRANT EXECUTE to the roles that call it` : ''}.`,
      references: [SEED_LEAST_PRIVILEGE, 'CVE-2018-1058', 'https://www.postgresql.org/docs/current/sql-createfunction.html#SQL-CREATEFUNCTION-SECURITY'],
    }]);
  },
};
