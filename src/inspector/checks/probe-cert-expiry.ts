/** GH-PROBE-004: the server certificate has expired (critical) or expires within 30 days (medium). */
import type { Check } from '../types.js';
import { CIS_TLS, probeEvidence, targetHost, withProbe } from './probe-support.js';

const id = 'GH-PROBE-004';
const title = 'Server certificate expired or expiring soon';
const WARN_DAYS = 30;

export const check: Check = {
  id,
  title,
  run: (facts) => withProbe(id, title, facts, (p) => {
    const c = p.certificate;
    if (!c || c.daysLeft >= WARN_DAYS) return [];
    const expired = c.daysLeft < 0;
    return [{
      id,
      title: expired ? 'Server certificate has expired' : `Server certificate expires within ${WARN_DAYS} days`,
      severity: expired ? 'critical' : 'medium',
      confidence: 'certain',
      evidence: [probeEvidence(p, `${c.subject}: notAfter ${c.validTo} (${c.daysLeft} days left)`)],
      remediation: [
        `openssl req -new -newkey rsa:3072 -nodes -keyout server.key -out server.csr -subj "/CN=${targetHost(p)}" -addext "subjectAltName=DNS:${targetHost(p)}"`,
        'openssl x509 -req -in server.csr -CA root.crt -CAkey root.key -CAcreateserial -days 365 -sha256 -copy_extensions copy -out server.crt',
        'chmod 0600 server.key   # owned by the postgres user',
        '-- then: SELECT pg_reload_conf();   (the certificate files are reread on reload)',
      ].join('\n'),
      references: [CIS_TLS],
    }];
  }),
};
