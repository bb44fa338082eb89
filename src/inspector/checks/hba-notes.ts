/**
 * GH-HBA-008: lines PostgreSQL loads but warns about (hba.c): hostssl while ssl is off ("cannot match"),
 * hostgssenc without GSSAPI, a skipped include_if_exists. Reuses `gatehouse hba lint`'s fixes.
 */
import { lintHbaResult } from '../../hba/index.js';
import type { Check } from '../types.js';
import { found, isOn, hbaNeeds, PG_HBA_DOC, skip } from './finding.js';

const ID = 'GH-HBA-008';
const TITLE = 'PostgreSQL warns about a pg_hba.conf line';

export const hbaNotes: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    if (!facts.hba) return skip(ID, TITLE, hbaNeeds(facts));
    const ssl = facts.settings ? isOn(facts.settings.get('ssl')?.value ?? 'off') : true;
    const lint = lintHbaResult(facts.hba.result, { sslEnabled: ssl });
    return found(lint.warnings.filter((w) => w.id === ID).map((w) => ({
      id: ID, title: `${TITLE}: ${w.message}`, severity: 'low', confidence: 'certain',
      evidence: [{ kind: 'file', file: w.file, line: w.line, text: w.message }],
      remediation: w.fix,
      references: [PG_HBA_DOC],
    })));
  },
};
