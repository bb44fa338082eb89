/**
 * GH-AUTH-005: privileged roles (superuser, CREATEROLE, REPLICATION, BYPASSRLS) whose password never
 * expires, or has expired while the role can still log in by other methods (VALID UNTIL only limits
 * password authentication). Needs pg_authid to know which roles have a password at all.
 */
import type { Check, Finding, RoleFact } from '../types.js';
import { factNeeds, found, ident, rowEvidence, skip, SEED_LEAST_PRIVILEGE } from './finding.js';

const ID = 'GH-AUTH-005';
const TITLE = 'privileged role password expiry';

const powers = (r: RoleFact): string[] =>
  [r.superuser && 'SUPERUSER', r.createrole && 'CREATEROLE', r.replication && 'REPLICATION', r.bypassrls && 'BYPASSRLS'].filter((p): p is string => p !== false);

export const passwordExpiry: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const roles = facts.catalog?.roles;
    const secrets = facts.catalog?.secrets;
    if (!roles) return skip(ID, TITLE, factNeeds(facts, 'roles'));
    if (!secrets) return skip(ID, TITLE, factNeeds(facts, 'secrets'));
    const withPassword = new Set(secrets.filter((s) => s.kind !== 'none').map((s) => s.role));
    const now = Date.parse(facts.now ?? new Date(0).toISOString());
    const findings: Finding[] = [];
    for (const r of roles.filter((x) => x.canLogin && withPassword.has(x.name) && powers(x).length > 0)) {
      const never = r.validUntil === null || r.validUntil === 'infinity';
      const expired = !never && Date.parse(r.validUntil!) < now;
      if (!never && !expired) continue;
      findings.push({
        id: ID,
        title: never ? `${TITLE}: the password of ${r.name} (${powers(r).join(', ')}) never expires` : `${TITLE}: the password of ${r.name} (${powers(r).join(', ')}) expired on ${r.validUntil}`,
        severity: 'low', confidence: 'certain',
        evidence: [rowEvidence('pg_roles', { rolname: r.name, rolvaliduntil: r.validUntil ?? 'NULL' })],
        remediation: never
          ? `Rotate privileged passwords on a schedule: ALTER ROLE ${ident(r.name)} VALID UNTIL '<date 90 days ahead>'; and set a new password then.`
          : `The role still logs in by non-password methods (peer, cert, trust). If it is unused: ALTER ROLE ${ident(r.name)} NOLOGIN; else set a new password and VALID UNTIL.`,
        references: [SEED_LEAST_PRIVILEGE, 'https://www.postgresql.org/docs/current/sql-createrole.html'],
      });
    }
    return found(findings);
  },
};
