/**
 * GH-ROLE-003: roles that own objects and can also log in from other machines. An owner can ALTER,
 * DROP and GRANT its objects whatever was granted to others, so a stolen application login becomes
 * a schema change. Applications should log in as a role that owns nothing (superusers: GH-ROLE-001).
 */
import type { Check, Finding } from '../types.js';
import { factNeeds, found, hbaNeeds, hbaRules, ident, rowEvidence, ruleEvidence, skip, SEED_LEAST_PRIVILEGE } from './finding.js';
import { accessLines, membership, reach, remote } from './role-access.js';

const ID = 'GH-ROLE-003';
const TITLE = 'object owner logs in remotely';

export const remoteOwners: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const roles = facts.catalog?.roles;
    const owners = facts.catalog?.owners;
    const rules = hbaRules(facts);
    if (!roles) return skip(ID, TITLE, factNeeds(facts, 'roles'));
    if (!owners) return skip(ID, TITLE, factNeeds(facts, 'owners'));
    if (rules === null) return skip(ID, TITLE, hbaNeeds(facts));
    const owned = new Map(owners.map((o) => [o.role, o.objects]));
    const isMember = membership(roles);
    const findings: Finding[] = [];
    for (const r of roles.filter((x) => x.canLogin && !x.superuser && owned.has(x.name))) {
      const way = accessLines(r.name, rules, isMember).find((a) => remote(a.rule));
      if (!way) continue;
      const db = facts.catalog?.database ?? '';
      findings.push({
        id: ID, title: `${TITLE}: ${r.name} owns ${owned.get(r.name)} objects and can log in over ${reach(way.rule)}`,
        severity: 'medium', confidence: way.certain ? 'certain' : 'possible',
        evidence: [rowEvidence(`owners in database ${db}`, { role: r.name, objects: owned.get(r.name) }), ruleEvidence(way.rule)],
        remediation: `Make a NOLOGIN owner and give the objects to it: CREATE ROLE ${ident(`${r.name}_owner`)} NOLOGIN; REASSIGN OWNED BY ${ident(r.name)} TO ${ident(`${r.name}_owner`)}; (in each database), then grant ${r.name} only the privileges it uses.`,
        references: [SEED_LEAST_PRIVILEGE, 'https://www.postgresql.org/docs/current/ddl-priv.html'],
      });
    }
    return found(findings);
  },
};
