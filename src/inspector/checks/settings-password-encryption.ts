/** GH-AUTH-001: password_encryption = md5 stores new passwords as md5 hashes (CIS 5.12, STIG V-261891). */
import type { Check } from '../types.js';
import { cis, found, settingNeeds, setting, skip } from './finding.js';

const ID = 'GH-AUTH-001';
const TITLE = 'password_encryption is md5';

export const passwordEncryption: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    // Default scram-sha-256 since PostgreSQL 14 (runtime-config-connection.html).
    const s = setting(facts, 'password_encryption', 'scram-sha-256');
    if (s === null) return skip(ID, TITLE, settingNeeds(facts));
    if (s.value.toLowerCase() !== 'md5') return found([]);
    return found([{
      id: ID, title: `${TITLE}: new and changed passwords are stored as md5 hashes`, severity: 'high', confidence: 'certain',
      evidence: [s.evidence],
      remediation: "Set password_encryption = 'scram-sha-256' in postgresql.conf, reload (SELECT pg_reload_conf()), then re-set each password with \\password in psql.",
      references: [cis('5.12'), 'STIG V-261891', 'https://www.postgresql.org/docs/current/runtime-config-connection.html#GUC-PASSWORD-ENCRYPTION'],
    }]);
  },
};
