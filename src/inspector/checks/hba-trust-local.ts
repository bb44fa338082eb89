/** GH-HBA-010: trust on a local line lets every OS user on the host log in as any role it names (CIS 5.3). */
import { formatRuleLine } from '../../hba/lint.js';
import { cis, PG_HBA_DOC, ruleCheck } from './finding.js';

export const hbaTrustLocal = ruleCheck({
  id: 'GH-HBA-010',
  title: 'trust on a local line',
  severity: 'high',
  references: [cis('5.3'), PG_HBA_DOC],
  judge: (r) => r.type !== 'local' || r.method !== 'trust' ? null : {
    message: 'every operating-system user on this machine can log in without a password',
    remediation: `Use peer (add map= when OS and role names differ): ${formatRuleLine(r, { method: 'peer' })}`,
  },
});
