/**
 * GH-ROLE-004: the least-privilege summary, a table rather than findings. For each login role: which
 * pg_hba.conf lines could admit it (hba ∩ roles), and its powers (attributes, objects owned, roles
 * it belongs to). Privileged rows come first.
 */
import type { Check, ReportTable, RoleFact } from '../types.js';
import { factNeeds, hbaNeeds, hbaRules, skip } from './finding.js';
import { accessLines, membership, reach } from './role-access.js';

const ID = 'GH-ROLE-004';
const TITLE = 'least-privilege summary';
const MAX_ROWS = 500;

const powers = (r: RoleFact): string[] => [r.superuser && 'superuser', r.createrole && 'createrole', r.createdb && 'createdb',
  r.replication && 'replication', r.bypassrls && 'bypassrls'].filter((p): p is string => p !== false);

export const leastPrivilegeSummary: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const roles = facts.catalog?.roles;
    if (!roles) return skip(ID, TITLE, factNeeds(facts, 'roles'));
    const rules = hbaRules(facts);
    const owned = new Map((facts.catalog?.owners ?? []).map((o) => [o.role, o.objects]));
    const isMember = membership(roles);
    const logins = roles.filter((r) => r.canLogin)
      .sort((a, b) => powers(b).length - powers(a).length || (owned.get(b.name) ?? 0) - (owned.get(a.name) ?? 0) || a.name.localeCompare(b.name));
    const rows = logins.slice(0, MAX_ROWS).map((r) => {
      const from = rules === null ? 'unknown' : accessLines(r.name, rules, isMember)
        .map((a) => `${reach(a.rule)} ${a.rule.method} (line ${a.rule.line})${a.certain ? '' : '?'}`).join('; ') || 'no pg_hba.conf line';
      const p = powers(r);
      const owns = owned.get(r.name);
      return [r.name, from, p.join(', ') || '-', facts.catalog?.owners ? String(owns ?? 0) : 'unknown', r.memberOf.join(', ') || '-'];
    });
    const notes = [
      rules === null ? `Where roles can log in from is unknown: reading pg_hba.conf needs ${hbaNeeds(facts)}.` : 'A "?" marks a line an earlier catch-all line for the role may take over. Addresses and databases are not narrowed further.',
      facts.catalog?.owners ? `Objects owned are counted in database ${facts.catalog.database} (and databases owned).` : `Objects owned: unknown (${factNeeds(facts, 'owners')}).`,
    ];
    if (logins.length > MAX_ROWS) notes.push(`Showing ${MAX_ROWS} of ${logins.length} login roles (most privileged first).`);
    const table: ReportTable = { id: ID, title: 'Least privilege: who can log in, from where, with what power', columns: ['Role', 'Can log in from (pg_hba.conf)', 'Powers', 'Owns', 'Member of'], rows, note: notes.join(' ') };
    return { findings: [], skipped: [], tables: [table] };
  },
};
