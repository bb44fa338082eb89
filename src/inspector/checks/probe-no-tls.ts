/** GH-PROBE-003: no TLS version at all: SSLRequest refused ('N') or every handshake failed. */
import type { Check } from '../types.js';
import { CIS_TLS, SEED_TLS, probeEvidence, tlsWorks, withProbe } from './probe-support.js';

const id = 'GH-PROBE-003';
const title = 'The server offers no TLS';

export const check: Check = {
  id,
  title,
  run: (facts) => withProbe(id, title, facts, (p) => {
    const tried = Object.values(p.tlsVersions);
    // Nothing tested (client-side limits or connection failures) is not evidence of no TLS.
    if (tlsWorks(p) || !tried.some((v) => v === false)) return [];
    const why = p.sslResponse === 'N' ? "the server answered SSLRequest with 'N'" : 'no TLS handshake (1.0 to 1.3) completed';
    return [{
      id, title, severity: 'high', confidence: 'certain',
      evidence: [probeEvidence(p, why)],
      remediation: [
        '# postgresql.conf (certificate and key readable only by the server: chmod 0600 server.key)',
        'ssl = on',
        "ssl_cert_file = 'server.crt'",
        "ssl_key_file = 'server.key'",
        "ssl_min_protocol_version = 'TLSv1.2'",
        '-- then: SELECT pg_reload_conf();',
        '# pg_hba.conf: use hostssl lines, and clients sslmode=verify-full',
      ].join('\n'),
      references: [SEED_TLS, CIS_TLS],
    }];
  }),
};
