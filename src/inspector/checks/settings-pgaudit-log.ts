/**
 * GH-AUD-002: pgaudit.log does not cover ddl, write and role (CIS 3.2; STIG asks for all three). The
 * value is a list of classes, `all`, and `-class` exclusions (pgaudit.c check_pgaudit_log).
 */
import type { Check } from '../types.js';
import { cis, found, settingNeeds, setting, skip } from './finding.js';
import { preloadLibraries } from './settings-pgaudit-loaded.js';

const ID = 'GH-AUD-002';
const TITLE = 'pgaudit.log misses ddl, write or role';
const CLASSES = ['read', 'write', 'function', 'role', 'ddl', 'misc', 'misc_set'];
const REQUIRED = ['ddl', 'write', 'role'];

/** The classes pgaudit.log turns on, applying `all`, `none` and `-class` in order. */
export function pgauditClasses(value: string): Set<string> {
  const on = new Set<string>();
  for (const raw of value.split(',')) {
    const item = raw.trim().toLowerCase();
    const minus = item.startsWith('-');
    const name = minus ? item.slice(1) : item;
    const names = name === 'all' ? CLASSES : name === 'none' ? [] : [name];
    for (const n of names) if (minus) on.delete(n); else on.add(n);
  }
  return on;
}

export const pgauditLog: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const libs = setting(facts, 'shared_preload_libraries', '');
    const s = setting(facts, 'pgaudit.log', 'none');
    if (libs === null) return skip(ID, TITLE, settingNeeds(facts));
    if (!preloadLibraries(libs.value).some((l) => l.toLowerCase() === 'pgaudit')) return found([]); // GH-AUD-001 says it
    if (s === null) return skip(ID, TITLE, settingNeeds(facts));
    const on = pgauditClasses(s.value);
    const missing = REQUIRED.filter((c) => !on.has(c));
    if (missing.length === 0) return found([]);
    return found([{
      id: ID, title: `${TITLE}: missing ${missing.join(', ')}`, severity: 'medium', confidence: 'certain',
      evidence: [s.evidence],
      remediation: `Set pgaudit.log = '${[...new Set([...on, ...REQUIRED])].join(',')}' and reload.`,
      references: [cis('3.2'), 'https://github.com/pgaudit/pgaudit#pgauditlog'],
    }]);
  },
};
