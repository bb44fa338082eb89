/** GH-HBA-003: trust on a TCP line lets anyone who reaches the port in without a password (CIS 5.4). */
import { formatRuleLine } from '../../hba/lint.js';
import { cis, PG_HBA_DOC, ruleCheck } from './finding.js';

export const hbaTrustHost = ruleCheck({
  id: 'GH-HBA-003',
  title: 'trust on a TCP line',
  severity: 'critical',
  references: [cis('5.4'), 'STIG V-261892', PG_HBA_DOC],
  judge: (r) => r.type === 'local' || r.method !== 'trust' ? null : {
    message: `${r.type} line admits its clients without any password`,
    remediation: `Replace the line with: ${formatRuleLine(r, { type: 'hostssl', method: 'scram-sha-256' })}`,
  },
});
