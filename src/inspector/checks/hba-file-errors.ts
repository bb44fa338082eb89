/**
 * GH-HBA-015: lines PostgreSQL refuses (what pg_hba_file_rules.error shows). A server refuses the whole
 * file on reload and keeps the old one; at start it does not start (hba.c load_hba).
 */
import type { Check } from '../types.js';
import { found, hbaNeeds, PG_HBA_DOC, skip } from './finding.js';

const ID = 'GH-HBA-015';
const TITLE = 'pg_hba.conf error';

export const hbaFileErrors: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    if (!facts.hba) return skip(ID, TITLE, hbaNeeds(facts));
    return found(facts.hba.result.errors.map((e) => ({
      id: ID, title: `${TITLE}: ${e.message}`, severity: 'high', confidence: 'certain',
      evidence: [{ kind: 'file', file: e.file, line: e.line, text: e.message }],
      remediation: 'Fix or remove the line; check with `gatehouse hba lint` and SELECT * FROM pg_hba_file_rules WHERE error IS NOT NULL before reloading.',
      references: ['https://www.postgresql.org/docs/current/view-pg-hba-file-rules.html', PG_HBA_DOC],
    })));
  },
};
