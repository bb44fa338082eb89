/**
 * GH-NET-002: the default port 5432 together with a very wide pg_hba.conf line. Every scanner tries
 * 5432 first; another port hides nothing from a targeted attacker, but it cuts the noise of automated
 * ones. Informational: narrowing pg_hba.conf and listen_addresses is the real fix.
 */
import type { Check } from '../types.js';
import { found, hbaNeeds, hbaRules, ruleEvidence, setting, settingNeeds, skip, SEED_SINGLE_DOOR } from './finding.js';
import { veryWide } from './settings-listen-addresses.js';

const ID = 'GH-NET-002';
const TITLE = 'default port with a wide pg_hba.conf';

export const defaultPort: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const port = setting(facts, 'port', '5432');
    if (port === null) return skip(ID, TITLE, settingNeeds(facts));
    const rules = hbaRules(facts);
    if (rules === null) return skip(ID, TITLE, hbaNeeds(facts));
    if (port.value.trim() !== '5432') return found([]);
    const wide = rules.filter(veryWide);
    if (wide.length === 0) return found([]);
    return found([{
      id: ID, title: `${TITLE}: port 5432, where every scanner looks, admits very wide address ranges`, severity: 'info', confidence: 'certain',
      evidence: [port.evidence, ...wide.map(ruleEvidence)],
      remediation: 'Narrow the pg_hba.conf lines to the clients\' subnets (GH-HBA-006/012) and listen_addresses to the interfaces they use; a non-default port (port = 6543) only cuts scanner noise.',
      references: [SEED_SINGLE_DOOR, 'https://www.postgresql.org/docs/current/runtime-config-connection.html#GUC-PORT'],
    }]);
  },
};
