/** GH-PROBE-009: the probe user got AuthenticationOk without sending any password (trust). */
import type { Check } from '../types.js';
import { CIS_HOST_LOGIN, SEED_SCRAM, authAnswers, probeEvidence, withProbe } from './probe-support.js';

const id = 'GH-PROBE-009';
const title = 'The probe user logs in with no password (trust)';

export const check: Check = {
  id,
  title,
  run: (facts) => withProbe(id, title, facts, (p) => {
    const trusted = authAnswers(p).filter((a) => a.auth.method === 'trust');
    const first = trusted[0];
    if (!first) return [];
    const over = trusted.map((a) => (a.overTls ? 'TLS' : 'plaintext')).join(' and ');
    return [{
      id, title, severity: 'critical', confidence: 'certain',
      evidence: [probeEvidence(p, `role ${first.auth.user} received AuthenticationOk over ${over} without a password (the probe sent Terminate at once)`)],
      remediation: [
        '# pg_hba.conf: replace the trust method on the line that matches this host and role, e.g.',
        `hostssl all ${first.auth.user} 0.0.0.0/0 scram-sha-256`,
        "-- and give the role a SCRAM secret: SET password_encryption = 'scram-sha-256'; \\password " + first.auth.user,
        '-- then: SELECT pg_reload_conf();',
      ].join('\n'),
      references: [SEED_SCRAM, CIS_HOST_LOGIN],
    }];
  }),
};
