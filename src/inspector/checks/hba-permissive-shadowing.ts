/**
 * GH-HBA-011: permissive shadowing. An earlier, broader rule with a weaker method takes over a later,
 * specific one, so the stronger method the author wrote never applies (first match wins,
 * client-auth.sgml). Coverage that depends on names, groups or regexes is "possible".
 */
import type { HbaRule } from '../../hba/index.js';
import { covers } from '../../hba/shadow.js';
import type { Finding } from '../types.js';
import { found, hbaNeeds, PG_HBA_DOC, ruleEvidence, skip } from './finding.js';
import type { Check } from '../types.js';

const ID = 'GH-HBA-011';
const TITLE = 'permissive shadowing';

/** Rough strength of a method: lower is weaker. */
const STRENGTH: Readonly<Record<string, number>> = { trust: 0, password: 1, ident: 1, md5: 2, peer: 3, reject: 9 };
const strength = (r: HbaRule): number => STRENGTH[r.method] ?? 4;

function weakerCover(rule: HbaRule, earlier: readonly HbaRule[]): { by: HbaRule; certain: boolean } | null {
  for (const a of earlier) {
    const c = covers(a, rule);
    if (c.cover === 'no') continue;
    return strength(a) < strength(rule) ? { by: a, certain: c.cover === 'yes' } : null;
  }
  return null;
}

export const hbaPermissiveShadowing: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    if (!facts.hba) return skip(ID, TITLE, hbaNeeds(facts));
    const rules = facts.hba.result.ruleSet.rules;
    const findings: Finding[] = [];
    rules.forEach((rule, i) => {
      const w = weakerCover(rule, rules.slice(0, i));
      if (w === null) return;
      findings.push({
        id: ID, title: `${TITLE}: ${w.by.file}:${w.by.line} (${w.by.method}) takes over this ${rule.method} line`,
        severity: 'medium', confidence: w.certain ? 'certain' : 'possible',
        evidence: [ruleEvidence(rule), ruleEvidence(w.by)],
        remediation: `Move ${rule.file}:${rule.line} above ${w.by.file}:${w.by.line}, or narrow ${w.by.file}:${w.by.line} and give it ${rule.method}.`,
        references: [PG_HBA_DOC],
      });
    });
    return found(findings);
  },
};
