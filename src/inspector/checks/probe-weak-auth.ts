/**
 * GH-PROBE-010: the server asks for md5 (medium) or a cleartext password (high without TLS, where
 * anyone on the path reads it; medium over TLS).
 */
import type { Check, Finding, ProbeFacts } from '../types.js';
import { CIS_HOST_LOGIN, SEED_SCRAM, authAnswers, probeEvidence, withProbe } from './probe-support.js';

const id = 'GH-PROBE-010';
const title = 'The server asks for md5 or a cleartext password';

function finding(p: ProbeFacts, user: string, method: 'md5' | 'password', overTls: boolean): Finding {
  const cleartextInTheOpen = method === 'password' && !overTls;
  return {
    id,
    title: method === 'md5' ? 'The server asks for an md5 password' : `The server asks for a cleartext password${overTls ? '' : ' without TLS'}`,
    severity: cleartextInTheOpen ? 'high' : 'medium',
    confidence: 'certain',
    evidence: [probeEvidence(p, `role ${user} over ${overTls ? 'TLS' : 'plaintext'}: ${method === 'md5' ? 'AuthenticationMD5Password' : 'AuthenticationCleartextPassword'}`)],
    remediation: [
      '# postgresql.conf',
      "password_encryption = 'scram-sha-256'",
      `-- re-set the password so it is stored as SCRAM: \\password ${user}`,
      `# pg_hba.conf: change the method on the matching line to scram-sha-256, e.g.`,
      `hostssl all ${user} 0.0.0.0/0 scram-sha-256`,
      '-- then: SELECT pg_reload_conf();',
    ].join('\n'),
    references: [SEED_SCRAM, CIS_HOST_LOGIN],
  };
}

export const check: Check = {
  id,
  title,
  run: (facts) => withProbe(id, title, facts, (p) => {
    const out: Finding[] = [];
    for (const { auth, overTls } of authAnswers(p)) {
      if (auth.method === 'md5' || auth.method === 'password') out.push(finding(p, auth.user, auth.method, overTls));
    }
    return out;
  }),
};
