/** GH-PROBE-005: the server certificate is self-signed, so no client can verify it against a CA. */
import type { Check } from '../types.js';
import { CIS_TLS, SEED_TLS, probeEvidence, targetHost, withProbe } from './probe-support.js';

const id = 'GH-PROBE-005';
const title = 'Server certificate is self-signed';

export const check: Check = {
  id,
  title,
  run: (facts) => withProbe(id, title, facts, (p) => {
    const c = p.certificate;
    if (!c?.selfSigned) return [];
    return [{
      id, title, severity: 'medium', confidence: 'certain',
      evidence: [probeEvidence(p, `subject and issuer are both "${c.subject}" and it verifies with its own key`)],
      remediation: [
        '# issue the server certificate from a CA the clients trust:',
        `openssl req -new -newkey rsa:3072 -nodes -keyout server.key -out server.csr -subj "/CN=${targetHost(p)}" -addext "subjectAltName=DNS:${targetHost(p)}"`,
        'openssl x509 -req -in server.csr -CA root.crt -CAkey root.key -CAcreateserial -days 365 -sha256 -copy_extensions copy -out server.crt',
        '-- then: SELECT pg_reload_conf();',
        '# clients: sslmode=verify-full sslrootcert=root.crt',
      ].join('\n'),
      references: [SEED_TLS, CIS_TLS],
    }];
  }),
};
