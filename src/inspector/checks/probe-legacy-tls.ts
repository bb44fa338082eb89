/** GH-PROBE-002: TLS 1.0 or 1.1 (deprecated by RFC 8996) completes a handshake. */
import type { Check } from '../types.js';
import { CIS_TLS, SEED_TLS, probeEvidence, withProbe } from './probe-support.js';

const id = 'GH-PROBE-002';
const title = 'TLS 1.0 or 1.1 is accepted';
const LEGACY = ['TLSv1', 'TLSv1.1'] as const;

export const check: Check = {
  id,
  title,
  run: (facts) => withProbe(id, title, facts, (p) => {
    const accepted = LEGACY.filter((v) => p.tlsVersions[v] === true);
    if (accepted.length === 0) return [];
    return [{
      id, title, severity: 'high', confidence: 'certain',
      evidence: [probeEvidence(p, `handshake completed with ${accepted.join(' and ')} pinned as the only version`)],
      remediation: "# postgresql.conf\nssl_min_protocol_version = 'TLSv1.2'\n-- then: SELECT pg_reload_conf();",
      references: ['RFC 8996 (deprecating TLS 1.0 and 1.1)', SEED_TLS, CIS_TLS],
    }];
  }),
};
