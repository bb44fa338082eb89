/** GH-HBA-005: md5 is open to replay with a stolen hash and deprecated in PostgreSQL 18 (CIS 5.4, STIG V-261892). */
import { formatRuleLine } from '../../hba/lint.js';
import { cis, PG_HBA_DOC, ruleCheck } from './finding.js';

export const hbaMd5 = ruleCheck({
  id: 'GH-HBA-005',
  title: 'md5 authentication',
  severity: 'medium',
  references: [cis('5.4'), 'STIG V-261892', PG_HBA_DOC],
  judge: (r) => r.method !== 'md5' ? null : {
    message: 'md5 is deprecated since PostgreSQL 18 and weaker than SCRAM',
    remediation: `Set password_encryption = 'scram-sha-256', re-set every password (\\password in psql), then use: ${formatRuleLine(r, { method: 'scram-sha-256' })}`,
  },
});
