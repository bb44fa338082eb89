/**
 * GH-AUTH-004: login roles with no password that a pg_hba.conf line would admit. Behind a trust line
 * they get in with nothing (high when the line is remote). Behind a password line (password, md5,
 * scram-sha-256) they cannot log in today, but anyone with CREATEROLE who sets a password opens that
 * door; such a role should be NOLOGIN, or its lines should use peer or cert.
 */
import type { Check, Finding } from '../types.js';
import { factNeeds, found, hbaNeeds, hbaRules, ident, PG_HBA_DOC, ruleEvidence, skip } from './finding.js';
import { accessLines, membership, reach, remote } from './role-access.js';

const ID = 'GH-AUTH-004';
const TITLE = 'login role without a password';
const PASSWORD_METHODS = new Set(['password', 'md5', 'scram-sha-256']);

export const noPassword: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const roles = facts.catalog?.roles;
    const secrets = facts.catalog?.secrets;
    const rules = hbaRules(facts);
    if (!roles) return skip(ID, TITLE, factNeeds(facts, 'roles'));
    if (!secrets) return skip(ID, TITLE, factNeeds(facts, 'secrets'));
    if (rules === null) return skip(ID, TITLE, hbaNeeds(facts));
    const none = new Set(secrets.filter((s) => s.kind === 'none').map((s) => s.role));
    const isMember = membership(roles);
    const findings: Finding[] = [];
    for (const role of roles.filter((r) => r.canLogin && none.has(r.name))) {
      const lines = accessLines(role.name, rules, isMember);
      const trust = lines.find((a) => a.rule.method === 'trust');
      const pw = lines.find((a) => PASSWORD_METHODS.has(a.rule.method));
      const hit = trust ?? pw;
      if (!hit) continue;
      const byTrust = hit === trust;
      findings.push({
        id: ID,
        title: byTrust
          ? `${TITLE}: ${role.name} is admitted by trust (${reach(hit.rule)}) with no password at all`
          : `${TITLE}: ${role.name} matches ${hit.rule.method} (${reach(hit.rule)}) but has no password`,
        severity: byTrust ? (remote(hit.rule) ? 'high' : 'medium') : 'low',
        confidence: hit.certain ? 'certain' : 'possible',
        evidence: [{ kind: 'row', query: 'pg_authid WHERE rolpassword IS NULL AND rolcanlogin', row: { rolname: role.name } }, ruleEvidence(hit.rule)],
        remediation: byTrust
          ? `Change ${hit.rule.file}:${hit.rule.line} to scram-sha-256 (or peer on a local line) and give ${role.name} a password with \\password ${ident(role.name)}, or ALTER ROLE ${ident(role.name)} NOLOGIN.`
          : `If ${role.name} should not log in: ALTER ROLE ${ident(role.name)} NOLOGIN; if it logs in by peer or certificate, give it its own peer/cert line above ${hit.rule.file}:${hit.rule.line}.`,
        references: [PG_HBA_DOC, 'https://www.postgresql.org/docs/current/auth-password.html'],
      });
    }
    return found(findings);
  },
};
