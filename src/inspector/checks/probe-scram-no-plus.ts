/**
 * GH-PROBE-011: over TLS the server offers SCRAM-SHA-256 but not SCRAM-SHA-256-PLUS, so clients
 * cannot bind the login to the TLS channel (RFC 5929 tls-server-end-point; channel_binding=require).
 */
import type { Check } from '../types.js';
import { SEED_SCRAM, SEED_TLS, authAnswers, probeEvidence, withProbe } from './probe-support.js';

const id = 'GH-PROBE-011';
const title = 'SCRAM without channel binding over TLS';

export const check: Check = {
  id,
  title,
  run: (facts) => withProbe(id, title, facts, (p) => {
    const hit = authAnswers(p).find((a) => a.overTls && a.auth.method === 'scram-sha-256');
    if (!hit) return [];
    return [{
      id, title, severity: 'low', confidence: 'certain',
      evidence: [probeEvidence(p, `role ${hit.auth.user} over TLS: ${hit.auth.detail}`)],
      remediation: [
        '# SCRAM-SHA-256-PLUS needs PostgreSQL 11+ built with OpenSSL, and a certificate whose signature hash is known (RFC 5929 §4.1).',
        '# Upgrade the server (or the proxy in front of it) so it offers SCRAM-SHA-256-PLUS, then on clients:',
        'channel_binding=require sslmode=verify-full',
      ].join('\n'),
      references: [SEED_SCRAM, SEED_TLS, 'RFC 5802 / RFC 7677 (SCRAM-SHA-256-PLUS)'],
    }];
  }),
};
