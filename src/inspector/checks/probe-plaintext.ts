/** GH-PROBE-001: the server answers a plaintext StartupMessage with an auth request. */
import type { Check } from '../types.js';
import { CIS_TLS, SEED_TLS, probeEvidence, withProbe } from './probe-support.js';

const id = 'GH-PROBE-001';
const title = 'Plaintext connections are accepted';

export const check: Check = {
  id,
  title,
  run: (facts) => withProbe(id, title, facts, (p) => {
    if (p.plaintextAccepted !== true) return [];
    const how = p.plaintextAuth ? `; it asked ${p.plaintextAuth.user} for ${p.plaintextAuth.method}` : '';
    return [{
      id, title, severity: 'high', confidence: 'certain',
      evidence: [probeEvidence(p, `a StartupMessage without SSLRequest was answered with an authentication request${how}`)],
      remediation: [
        '# postgresql.conf',
        'ssl = on',
        '# pg_hba.conf: turn every "host" line into "hostssl", and refuse the rest (first matching line wins, so put these first):',
        'hostnossl all all 0.0.0.0/0 reject',
        'hostnossl all all ::/0 reject',
        '-- then: SELECT pg_reload_conf();',
        '# clients: sslmode=verify-full sslrootcert=<CA file>',
      ].join('\n'),
      references: [SEED_TLS, CIS_TLS],
    }];
  }),
};
