/** GH-HBA-007: host/hostnossl lines admit unencrypted connections although ssl is on (CIS 5.8, 6.8). */
import { formatRuleLine } from '../../hba/lint.js';
import { cis, isOn, loopbackOnly, NEEDS_CONF, PG_HBA_DOC, ruleCheck, setting } from './finding.js';

export const hbaHostWithoutSsl = ruleCheck({
  id: 'GH-HBA-007',
  title: 'TCP line without TLS while ssl is on',
  severity: 'medium',
  references: [cis('5.8'), PG_HBA_DOC],
  requires: (facts) => (facts.settings ? null : `${NEEDS_CONF} (the ssl setting)`),
  judge: (r, facts) => {
    if (!isOn(setting(facts, 'ssl', 'off')?.value ?? 'off')) return null;
    if ((r.type !== 'host' && r.type !== 'hostnossl') || r.method === 'reject' || loopbackOnly(r)) return null;
    return {
      message: `${r.type} admits connections without TLS, so passwords and data can cross the network in clear`,
      remediation: `Use hostssl: ${formatRuleLine(r, { type: 'hostssl' })}`,
    };
  },
});
