/** GH-BAK-001: archive_mode = off: no WAL archive, so no point-in-time recovery (CIS 7.4). */
import type { Check } from '../types.js';
import { cis, found, isOn, settingNeeds, setting, skip } from './finding.js';

const ID = 'GH-BAK-001';
const TITLE = 'WAL archiving off';

export const archiveMode: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const s = setting(facts, 'archive_mode', 'off');
    if (s === null) return skip(ID, TITLE, settingNeeds(facts));
    const v = s.value.trim().toLowerCase();
    if (v === 'always' || isOn(v)) return found([]);
    return found([{
      id: ID, title: `${TITLE}: archive_mode = ${s.value}, no point-in-time recovery`, severity: 'medium', confidence: 'certain',
      evidence: [s.evidence],
      remediation: "Set archive_mode = on and an archive_command (or archive_library), e.g. archive_command = 'pgbackrest --stanza=main archive-push %p', then restart.",
      references: [cis('7.4'), 'https://www.postgresql.org/docs/current/continuous-archiving.html'],
    }]);
  },
};
