/** GH-PROBE-008: the certificate is signed with SHA-1 or MD5, both open to collisions. */
import type { Check } from '../types.js';
import { CIS_TLS, probeEvidence, targetHost, withProbe } from './probe-support.js';

const id = 'GH-PROBE-008';
const title = 'Server certificate has a SHA-1 or MD5 signature';

export const check: Check = {
  id,
  title,
  run: (facts) => withProbe(id, title, facts, (p) => {
    const c = p.certificate;
    const alg = c?.signatureAlgorithm ?? '';
    if (!c || !/sha1|sha-1|md5|md2/i.test(alg)) return [];
    return [{
      id, title, severity: 'high', confidence: 'certain',
      evidence: [probeEvidence(p, `${c.subject}: signed with ${alg}`)],
      remediation: [
        `openssl req -new -newkey rsa:3072 -nodes -keyout server.key -out server.csr -subj "/CN=${targetHost(p)}" -addext "subjectAltName=DNS:${targetHost(p)}"`,
        'openssl x509 -req -in server.csr -CA root.crt -CAkey root.key -CAcreateserial -days 365 -sha256 -copy_extensions copy -out server.crt',
        '-- then: SELECT pg_reload_conf();',
      ].join('\n'),
      references: ['RFC 6151 (MD5), RFC 9155 (SHA-1 in TLS 1.2 signatures)', CIS_TLS],
    }];
  }),
};
