/**
 * GH-AUTH-002: roles whose stored secret is still an md5 hash (CIS 5.12, STIG V-261891). An md5 hash
 * is a password equivalent for the md5 method (pass-the-hash), and PostgreSQL 18 deprecates it. Only
 * pg_authid says which kind a secret is (superuser); the hash itself is never fetched.
 */
import type { Check } from '../types.js';
import { cis, factNeeds, found, ident, nameList, rowEvidence, skip } from './finding.js';
import { SEED_SCRAM } from './probe-support.js';

const ID = 'GH-AUTH-002';
const TITLE = 'roles with md5 password hashes';

export const md5Secrets: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const secrets = facts.catalog?.secrets;
    if (!secrets) return skip(ID, TITLE, factNeeds(facts, 'secrets'));
    const md5 = secrets.filter((s) => s.kind === 'md5').map((s) => s.role);
    if (md5.length === 0) return found([]);
    const first = md5[0]!;
    return found([{
      id: ID, title: `${TITLE}: ${nameList(md5.slice(0, 20), md5.length)}`, severity: 'high', confidence: 'certain',
      evidence: md5.slice(0, 20).map((role) => rowEvidence("pg_authid WHERE rolpassword LIKE 'md5%'", { rolname: role })),
      remediation: `Set password_encryption = 'scram-sha-256' (postgresql.conf, then SELECT pg_reload_conf()), then re-set each password: in psql \\password ${ident(first)}, or ALTER ROLE ${ident(first)} PASSWORD '…' from a session with password_encryption = 'scram-sha-256'. Then change md5 lines in pg_hba.conf to scram-sha-256.`,
      references: [SEED_SCRAM, cis('5.12'), 'STIG V-261891', 'https://www.postgresql.org/docs/current/auth-password.html'],
    }]);
  },
};
