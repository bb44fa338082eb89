/** GH-PROBE-006: the certificate does not name the host clients connect to, so verify-full fails. */
import type { Check } from '../types.js';
import { CIS_TLS, SEED_TLS, probeEvidence, targetHost, withProbe } from './probe-support.js';

const id = 'GH-PROBE-006';
const title = 'Server certificate does not match the host name';

export const check: Check = {
  id,
  title,
  run: (facts) => withProbe(id, title, facts, (p) => {
    const c = p.certificate;
    if (!c || c.hostnameMatches !== false) return [];
    return [{
      id, title, severity: 'medium', confidence: 'certain',
      evidence: [probeEvidence(p, `certificate ${c.subject} does not name the probed host (RFC 6125 check, as sslmode=verify-full does)`)],
      remediation: [
        '# reissue with the name clients use in subjectAltName:',
        `openssl req -new -newkey rsa:3072 -nodes -keyout server.key -out server.csr -subj "/CN=${targetHost(p)}" -addext "subjectAltName=DNS:${targetHost(p)}"`,
        'openssl x509 -req -in server.csr -CA root.crt -CAkey root.key -CAcreateserial -days 365 -sha256 -copy_extensions copy -out server.crt',
        '-- then: SELECT pg_reload_conf();',
      ].join('\n'),
      references: [SEED_TLS, CIS_TLS],
    }];
  }),
};
