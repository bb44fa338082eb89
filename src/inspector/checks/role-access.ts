/**
 * Which pg_hba.conf lines could admit a role (hba ∩ roles), for the role checks and the
 * least-privilege table. A line's USER field is matched as hba.c check_role does (`all`, a name,
 * `+group` through direct or indirect membership, `/regex`); the address and database are not known
 * in advance, so every non-reject line whose users match is a way in. Not certain when an earlier
 * line of the same kind (local, or TCP from any address) names the role too: it may take over.
 */
import type { HbaRule } from '../../hba/index.js';
import type { RoleFact } from '../types.js';
import { loopbackOnly, prefixBits } from './finding.js';

export interface Access {
  rule: HbaRule;
  certain: boolean;
}

/** Is `role` a member of `group`, directly or through other roles (no implicit superuser, as in hba.c)? */
export function membership(roles: readonly RoleFact[]): (role: string, group: string) => boolean {
  const byName = new Map(roles.map((r) => [r.name, r]));
  return (role, group) => {
    const seen = new Set<string>();
    const stack = [role];
    while (stack.length > 0) {
      const r = stack.pop()!;
      if (r === group) return true;
      if (seen.has(r)) continue;
      seen.add(r);
      stack.push(...(byName.get(r)?.memberOf ?? []));
    }
    return false;
  };
}

function userMatches(rule: HbaRule, role: string, isMember: (role: string, group: string) => boolean): boolean {
  return rule.users.some((u) => {
    switch (u.kind) {
      case 'all': return true;
      case 'name': return u.name === role;
      case 'member': return isMember(role, u.role);
      case 'regex': return u.regex.test(role);
    }
  });
}

/** The connections a line type can match: local, TCP with SSL, TCP without. */
const KINDS: Readonly<Record<string, readonly string[]>> = { local: ['local'], host: ['ssl', 'plain'], hostssl: ['ssl'], hostnossl: ['plain'], hostgssenc: [], hostnogssenc: ['ssl', 'plain'] };

/** Non-reject lines that could admit `role`, in file order. */
export function accessLines(role: string, rules: readonly HbaRule[], isMember: (role: string, group: string) => boolean): Access[] {
  const out: Access[] = [];
  const caught = new Set<string>();
  for (const rule of rules) {
    if (!userMatches(rule, role, isMember)) continue;
    const kinds = KINDS[rule.type] ?? [];
    if (rule.method !== 'reject') out.push({ rule, certain: !kinds.every((k) => caught.has(k)) });
    const anyDb = rule.databases.some((d) => d.kind === 'keyword' && d.keyword === 'all');
    if (anyDb && (rule.type === 'local' || rule.address?.kind === 'all' || prefixBits(rule) === 0)) kinds.forEach((k) => caught.add(k));
  }
  return out;
}

/** A line's reach, as the table shows it: `local`, or `hostssl 10.0.0.0/8`. */
export function reach(rule: HbaRule): string {
  const a = rule.address;
  if (rule.type === 'local' || a === null) return 'local';
  const where = a.kind === 'ip' ? `${a.display}/${prefixBits(rule) ?? a.netmaskDisplay}` : a.kind === 'hostname' ? a.name : a.kind;
  return `${rule.type} ${where}`;
}

/** A line that admits clients from other machines. */
export const remote = (rule: HbaRule): boolean => rule.type !== 'local' && rule.method !== 'reject' && !loopbackOnly(rule);
