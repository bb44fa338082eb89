/** GH-HBA-006: address all, 0.0.0.0/0 or ::/0 on a non-reject line admits the whole Internet (CIS 5.9). */
import { formatRuleLine } from '../../hba/lint.js';
import { cis, PG_HBA_DOC, ruleCheck, wideOpen } from './finding.js';

export const hbaOpenAddress = ruleCheck({
  id: 'GH-HBA-006',
  title: 'any address on a non-reject line',
  severity: 'high',
  references: [cis('5.9'), PG_HBA_DOC],
  judge: (r) => !wideOpen(r) ? null : {
    message: `${r.type} line admits clients from any address`,
    remediation: `Name the clients' network (use your subnet): ${formatRuleLine(r, { address: '192.0.2.0/24' })}`,
  },
});
