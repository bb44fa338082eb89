/** GH-SSL-001: ssl = off, so no connection can be encrypted (CIS 6.8). The default is off. */
import type { Check } from '../types.js';
import { cis, found, isOn, settingNeeds, setting, skip } from './finding.js';

const ID = 'GH-SSL-001';
const TITLE = 'ssl is off';

export const sslOff: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const s = setting(facts, 'ssl', 'off');
    if (s === null) return skip(ID, TITLE, settingNeeds(facts));
    if (isOn(s.value)) return found([]);
    return found([{
      id: ID, title: `${TITLE}: passwords and data cross the network unencrypted`, severity: 'high', confidence: 'certain',
      evidence: [s.evidence],
      remediation: "Install a certificate and key, then set in postgresql.conf: ssl = on, ssl_cert_file = 'server.crt', ssl_key_file = 'server.key', and reload.",
      references: [cis('6.8'), 'https://www.postgresql.org/docs/current/ssl-tcp.html'],
    }]);
  },
};
