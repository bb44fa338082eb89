/**
 * GH-HBA-013: superusers or replication reachable from the network (CIS 5.11, 7.1). Offline the
 * superusers are not known: `postgres` (the bootstrap superuser) and `all`/`+group`/regex users are
 * "possible"; with the catalog (live mode) the login superusers a line admits (by name, `all`,
 * `+group` or regex) are named and certain, and a line that admits none of them is not reported.
 */
import type { HbaRule } from '../../hba/index.js';
import { formatRuleLine } from '../../hba/lint.js';
import type { Facts } from '../types.js';
import { cis, PG_HBA_DOC, prefixBits, remoteAllow, ruleCheck } from './finding.js';
import { membership } from './role-access.js';

/** The superusers that can log in, when the catalog is known (live mode); null offline. */
function loginSuperusers(facts: Facts): string[] | null {
  const roles = facts.catalog?.roles;
  return roles ? roles.filter((r) => r.superuser && r.canLogin).map((r) => r.name) : null;
}

/** Live: which login superusers the line's users match (by name, all, +group membership, regex). */
function matchedSuperusers(rule: HbaRule, facts: Facts, supers: readonly string[]): string[] {
  const isMember = membership(facts.catalog?.roles ?? []);
  return supers.filter((name) => rule.users.some((u) => (u.kind === 'all' ? true : u.kind === 'name' ? u.name === name
    : u.kind === 'member' ? isMember(name, u.role) : u.regex.test(name))));
}

function privilegedUser(rule: HbaRule, facts: Facts): { who: string; confidence: 'certain' | 'possible'; names?: string[] } | null {
  const supers = loginSuperusers(facts);
  if (supers !== null) {
    const hit = matchedSuperusers(rule, facts, supers);
    return hit.length === 0 ? null : { who: `superuser ${hit.join(', ')}`, confidence: 'certain', names: hit };
  }
  for (const u of rule.users) {
    if (u.kind === 'name' && u.name === 'postgres') return { who: 'postgres (the usual superuser)', confidence: 'possible' };
    if (u.kind === 'all') return { who: 'all users, superusers included', confidence: 'possible' };
    if (u.kind !== 'name') return { who: `${u.token.text} (may include a superuser)`, confidence: 'possible' };
  }
  return null;
}

/** A role name as a pg_hba.conf USER token (quoted unless plain; quoting also stops `all`/`+` meaning a keyword). */
const hbaName = (n: string): string => (/^[A-Za-z0-9_.$-]+$/.test(n) && n !== 'all' ? n : `"${n.replace(/"/g, '""')}"`);

/** Why a replication line is too wide: any user, a wide network, or a weak method; null when narrow. */
function wideReplication(r: HbaRule): string | null {
  if (r.users.some((u) => u.kind !== 'name')) return `for ${r.users.map((u) => u.token.text).join(',')}`;
  const bits = prefixBits(r);
  const a = r.address;
  if (a?.kind === 'samenet') return 'from the whole local network';
  if (a?.kind === 'ip' && bits !== null && bits < (a.family === 4 ? 24 : 64)) return `from a /${bits} network`;
  if (a?.kind === 'all') return 'from any address';
  if (r.method === 'trust' || r.method === 'password') return `with ${r.method}`;
  return null;
}

/** The replacement for a wide replication line: hostssl, SCRAM, and one standby address when the range is wide. */
function narrowReplication(r: HbaRule): { type: string; method: string; address?: string } {
  const bits = prefixBits(r);
  const narrow = r.address?.kind === 'ip' && bits !== null && bits >= (r.address.family === 4 ? 24 : 64);
  return narrow ? { type: 'hostssl', method: 'scram-sha-256' } : { type: 'hostssl', method: 'scram-sha-256', address: '192.0.2.10/32' };
}

export const hbaRemotePrivileged = ruleCheck({
  id: 'GH-HBA-013',
  title: 'superuser or replication reachable remotely',
  severity: 'high',
  references: [cis('5.11'), cis('7.1'), PG_HBA_DOC],
  judge: (r, facts) => {
    if (!remoteAllow(r)) return null;
    const why = r.databases.some((d) => d.kind === 'keyword' && d.keyword === 'replication') ? wideReplication(r) : null;
    if (why !== null) {
      return {
        message: `replication connections are admitted from the network ${why}`,
        remediation: `Allow replication only for a dedicated role from the standbys' addresses: ${formatRuleLine(r, narrowReplication(r))}`,
      };
    }
    const p = privilegedUser(r, facts);
    if (p === null) return null;
    return {
      message: `${p.who} can log in from the network`,
      confidence: p.confidence,
      remediation: `Name the application roles instead of ${r.users.map((u) => u.token.text).join(',')}, and put these lines above ${r.file}:${r.line}: ${
        (p.names ?? ['postgres']).map(hbaName).map((n) => `host all ${n} 0.0.0.0/0 reject and host all ${n} ::/0 reject`).join(' and ')}`,
    };
  },
});
