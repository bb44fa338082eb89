/**
 * GH-HBA-004: `password` sends the password in cleartext; without hostssl it can cross the network
 * unencrypted (CIS 5.4, STIG V-261892; PG docs "Password Authentication").
 */
import { formatRuleLine } from '../../hba/lint.js';
import { cis, ruleCheck } from './finding.js';

export const hbaPasswordCleartext = ruleCheck({
  id: 'GH-HBA-004',
  title: 'cleartext password without hostssl',
  severity: 'high',
  references: [cis('5.4'), 'STIG V-261892', 'https://www.postgresql.org/docs/current/auth-password.html'],
  judge: (r) => r.type === 'local' || r.type === 'hostssl' || r.method !== 'password' ? null : {
    message: `${r.type} line uses password, so the password can travel in clear text`,
    remediation: `Replace the line with: ${formatRuleLine(r, { type: 'hostssl', method: 'scram-sha-256' })}`,
  },
});
