/**
 * GH-SSL-005: the private key file (ssl_key_file) can be read by group or others. PostgreSQL refuses
 * a key with group or world access unless root owns it (then 0640 is allowed, be-secure-common.c);
 * anything looser than that means the key has already been exposed. Only when the audit runs on the
 * database host and can stat the file.
 */
import type { Check } from '../types.js';
import { factNeeds, found, isOn, setting, skip } from './finding.js';
import { CIS_TLS, SEED_TLS } from './probe-support.js';

const ID = 'GH-SSL-005';
const TITLE = 'private key file readable by others';

export const keyFileMode: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const ssl = setting(facts, 'ssl', 'off');
    if (ssl !== null && !isOn(ssl.value)) return found([]);
    const key = facts.catalog?.keyFile;
    if (!key) return skip(ID, TITLE, factNeeds(facts, 'keyFile'));
    const allowed = key.ownerIsRoot ? 0o640 : 0o600;
    if ((key.mode & ~allowed & 0o077) === 0) return found([]);
    const mode = `0${key.mode.toString(8).padStart(3, '0')}`;
    return found([{
      id: ID, title: `${TITLE}: ${key.file} has mode ${mode}`, severity: 'high', confidence: 'certain',
      evidence: [{ kind: 'row', query: 'stat(ssl_key_file)', row: { file: key.file, mode, ownerIsRoot: key.ownerIsRoot } }],
      remediation: `chmod 600 ${key.file} (owned by the postgres user; or 640 owned by root), and since others could read it, issue a new key and certificate.`,
      references: [SEED_TLS, CIS_TLS, 'https://www.postgresql.org/docs/current/ssl-tcp.html#SSL-SERVER-FILES'],
    }]);
  },
};
