/** GH-BAK-002: wal_level = minimal rules out archiving, replication and PITR (CIS 7.5). */
import type { Check } from '../types.js';
import { cis, found, settingNeeds, setting, skip } from './finding.js';

const ID = 'GH-BAK-002';
const TITLE = 'wal_level is minimal';

export const walLevel: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    // Default replica since PostgreSQL 10.
    const s = setting(facts, 'wal_level', 'replica');
    if (s === null) return skip(ID, TITLE, settingNeeds(facts));
    if (s.value.trim().toLowerCase() !== 'minimal') return found([]);
    return found([{
      id: ID, title: `${TITLE}: the WAL cannot be archived or replicated`, severity: 'medium', confidence: 'certain',
      evidence: [s.evidence],
      remediation: 'Set wal_level = replica (and max_wal_senders > 0), then restart.',
      references: [cis('7.5'), 'https://www.postgresql.org/docs/current/runtime-config-wal.html#GUC-WAL-LEVEL'],
    }]);
  },
};
