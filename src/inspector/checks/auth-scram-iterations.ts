/** GH-AUTH-003: SCRAM secrets with fewer than 4096 iterations, the RFC 7677 minimum and PostgreSQL's default. */
import type { Check } from '../types.js';
import { factNeeds, found, ident, nameList, rowEvidence, skip } from './finding.js';
import { SEED_SCRAM } from './probe-support.js';

const ID = 'GH-AUTH-003';
const TITLE = 'SCRAM secrets with fewer than 4096 iterations';
const MIN = 4096;

export const scramIterations: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const secrets = facts.catalog?.secrets;
    if (!secrets) return skip(ID, TITLE, factNeeds(facts, 'secrets'));
    const weak = secrets.filter((s) => s.kind === 'scram' && s.iterations !== null && s.iterations < MIN);
    if (weak.length === 0) return found([]);
    return found([{
      id: ID, title: `${TITLE}: ${nameList(weak.slice(0, 20).map((s) => `${s.role} (${s.iterations})`), weak.length)}`,
      severity: 'low', confidence: 'certain',
      evidence: weak.slice(0, 20).map((s) => rowEvidence('pg_authid (SCRAM iteration count)', { rolname: s.role, iterations: s.iterations })),
      remediation: `Set scram_iterations = ${MIN} or more (PostgreSQL 16+; the default is ${MIN}), then re-set the password: \\password ${ident(weak[0]!.role)} in psql.`,
      references: [SEED_SCRAM, 'RFC 7677 section 4', 'https://www.postgresql.org/docs/current/runtime-config-connection.html#GUC-SCRAM-ITERATIONS'],
    }]);
  },
};
