/** `audit.log` lists to class sets, with pgaudit.log's rules (pgaudit.c check_pgaudit_log). */
import type { AuditClassName } from './types.js';

const ALL: readonly AuditClassName[] = ['read', 'write', 'function', 'role', 'ddl', 'misc', 'misc_set'];

/**
 * Words apply left to right: a class adds its bit, `-class` removes it, `all` adds every class,
 * `-all` removes every class. `none` adds nothing, as in pgAudit, so `[none]` records no
 * statement and `[read, none]` still records READ. Case does not matter.
 */
export function resolveClasses(words: readonly string[]): ReadonlySet<AuditClassName> {
  const set = new Set<AuditClassName>();
  for (const w of words) {
    const subtract = w.startsWith('-');
    const name = (subtract ? w.slice(1) : w).toLowerCase();
    const members = name === 'all' ? ALL : name === 'none' ? [] : ALL.filter((c) => c === name);
    for (const c of members) {
      if (subtract) set.delete(c);
      else set.add(c);
    }
  }
  return set;
}
