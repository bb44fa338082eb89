/** GH-PROBE-007: an RSA server key shorter than 2048 bits (NIST SP 800-131A). */
import type { Check } from '../types.js';
import { CIS_TLS, probeEvidence, targetHost, withProbe } from './probe-support.js';

const id = 'GH-PROBE-007';
const title = 'Server certificate has a weak RSA key';
const MIN_RSA_BITS = 2048;

export const check: Check = {
  id,
  title,
  run: (facts) => withProbe(id, title, facts, (p) => {
    const c = p.certificate;
    const rsa = c?.keyType === 'rsa' || c?.keyType === 'rsa-pss';
    if (!c || !rsa || c.keyBits === undefined || c.keyBits >= MIN_RSA_BITS) return [];
    return [{
      id, title, severity: 'high', confidence: 'certain',
      evidence: [probeEvidence(p, `${c.subject}: ${c.keyType} key of ${c.keyBits} bits`)],
      remediation: [
        `openssl req -new -newkey rsa:3072 -nodes -keyout server.key -out server.csr -subj "/CN=${targetHost(p)}" -addext "subjectAltName=DNS:${targetHost(p)}"`,
        'openssl x509 -req -in server.csr -CA root.crt -CAkey root.key -CAcreateserial -days 365 -sha256 -copy_extensions copy -out server.crt',
        '-- then: SELECT pg_reload_conf();',
      ].join('\n'),
      references: ['NIST SP 800-131A Rev. 2 (RSA keys of at least 2048 bits)', CIS_TLS],
    }];
  }),
};
