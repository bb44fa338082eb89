/**
 * GH-AUTH-004: login roles with no password that a pg_hba.conf line would admit. Behind a trust line
 * they get in with nothing (high when the line is remote). Behind a password line (password, md5,
 * scram-sha-256) they cannot log in today, but anyone with CREATEROLE who sets a password opens that
 * door; such a role should be NOLOGIN, or its lines should use peer or cert.
 */
import type { HbaRule } from '../../hba/index.js';
import type { Check, Finding } from '../types.js';
import { factNeeds, found, hbaNeeds, hbaRules, ident, nameList, PG_HBA_DOC, rowEvidence, ruleEvidence, skip } from './finding.js';
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
    // One finding per pg_hba.conf line, naming the roles it admits (a cluster can have thousands).
    const byLine = new Map<HbaRule, { roles: string[]; certain: boolean }>();
    for (const role of roles.filter((r) => r.canLogin && none.has(r.name))) {
      const lines = accessLines(role.name, rules, isMember);
      const hit = lines.find((a) => a.rule.method === 'trust') ?? lines.find((a) => PASSWORD_METHODS.has(a.rule.method));
      if (!hit) continue;
      const entry = byLine.get(hit.rule) ?? { roles: [], certain: true };
      entry.roles.push(role.name);
      entry.certain &&= hit.certain;
      byLine.set(hit.rule, entry);
    }
    const findings: Finding[] = [...byLine].map(([rule, { roles: names, certain }]) => {
      const byTrust = rule.method === 'trust';
      const who = nameList(names.slice(0, 10), names.length);
      const first = ident(names[0]!);
      return {
        id: ID,
        title: byTrust
          ? `${TITLE}: ${who} ${names.length > 1 ? 'are' : 'is'} admitted by trust (${reach(rule)}) with no password at all`
          : `${TITLE}: ${who} ${names.length > 1 ? 'match' : 'matches'} ${rule.method} (${reach(rule)}) but ${names.length > 1 ? 'have' : 'has'} no password`,
        severity: byTrust ? (remote(rule) ? 'high' : 'medium') : 'low',
        confidence: certain ? 'certain' : 'possible',
        evidence: [...names.slice(0, 10).map((n) => rowEvidence('pg_authid WHERE rolpassword IS NULL AND rolcanlogin', { rolname: n })), ruleEvidence(rule)],
        remediation: byTrust
          ? `Change ${rule.file}:${rule.line} to scram-sha-256 (or peer on a local line) and give each role a password (\\password ${first} in psql), or ALTER ROLE ${first} NOLOGIN.`
          : `For a role that should not log in: ALTER ROLE ${first} NOLOGIN; for one that logs in by peer or certificate, give it its own peer/cert line above ${rule.file}:${rule.line}.`,
        references: [PG_HBA_DOC, 'https://www.postgresql.org/docs/current/auth-password.html'],
      };
    });
    return found(findings);
  },
};
