/** GH-HBA-014: no hostssl line at all, so no TCP client is ever required to use TLS (CIS 5.8, 6.8). */
import type { Check } from '../types.js';
import { cis, found, hbaRules, hbaNeeds, PG_HBA_DOC, remoteAllow, skip } from './finding.js';

const ID = 'GH-HBA-014';
const TITLE = 'no hostssl line';

export const hbaNoHostssl: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const rules = hbaRules(facts);
    if (rules === null || !facts.hba) return skip(ID, TITLE, hbaNeeds(facts));
    if (rules.some((r) => r.type === 'hostssl' && r.method !== 'reject')) return found([]);
    if (!rules.some(remoteAllow)) return found([]); // nothing is reachable over the network anyway
    return found([{
      id: ID, title: `${TITLE}: no TCP connection is required to use TLS`, severity: 'high', confidence: 'certain',
      evidence: [{ kind: 'file', file: facts.hba.path, line: 0, text: 'no hostssl line' }],
      remediation: 'Turn ssl = on with a certificate, then change the TCP lines to hostssl, e.g.: hostssl all all 192.0.2.0/24 scram-sha-256',
      references: [cis('5.8'), cis('6.8'), PG_HBA_DOC],
    }]);
  },
};
