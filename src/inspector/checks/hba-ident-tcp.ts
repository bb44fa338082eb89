/** GH-HBA-009: ident over TCP trusts the client machine's ident server (CIS 5.4; PG docs "Ident Authentication"). */
import { formatRuleLine } from '../../hba/lint.js';
import { cis, ruleCheck } from './finding.js';

export const hbaIdentTcp = ruleCheck({
  id: 'GH-HBA-009',
  title: 'ident on a TCP line',
  severity: 'medium',
  references: [cis('5.4'), 'https://www.postgresql.org/docs/current/auth-ident.html'],
  judge: (r) => r.type === 'local' || r.method !== 'ident' ? null : {
    message: 'ident believes whatever user name the client machine reports',
    remediation: `Use SCRAM or certificates: ${formatRuleLine(r, { type: 'hostssl', method: 'scram-sha-256' })}`,
  },
});
