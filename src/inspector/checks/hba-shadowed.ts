/**
 * GH-HBA-001 / GH-HBA-002: a rule that an earlier rule always (or possibly) takes over, so it is dead.
 * PostgreSQL uses the first matching line (client-auth.sgml). Reuses `gatehouse hba lint`'s analysis;
 * hostnames, samenet, regexes and +groups make coverage "possible".
 */
import { lintHbaResult } from '../../hba/index.js';
import type { Check, Finding } from '../types.js';
import { found, hbaNeeds, PG_HBA_DOC, skip } from './finding.js';

const ID = 'GH-HBA-001';
const TITLE = 'shadowed rule';

export const hbaShadowed: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    if (!facts.hba) return skip(ID, TITLE, hbaNeeds(facts));
    // Order alone, as if ssl were on: a hostssl line shadowed today stays shadowed once TLS is turned on
    // (with ssl off it cannot match at all, which GH-HBA-008 reports).
    const lint = lintHbaResult(facts.hba.result);
    const findings: Finding[] = lint.warnings.filter((w) => w.id === 'GH-HBA-001' || w.id === 'GH-HBA-002').map((w) => ({
      id: w.id, title: `${TITLE}: ${w.message}`, severity: 'medium', confidence: w.id === 'GH-HBA-001' ? 'certain' : 'possible',
      evidence: [{ kind: 'file', file: w.file, line: w.line, text: lineText(facts, w.file, w.line) }],
      remediation: w.fix,
      references: [PG_HBA_DOC],
    }));
    return found(findings);
  },
};

function lineText(facts: Parameters<Check['run']>[0], file: string, line: number): string {
  return facts.hba?.result.entries.find((e) => e.file === file && e.line === line)?.text.trim() ?? '';
}
