/**
 * What every check file shares: building findings and skips, reading settings with their source,
 * and the hba facts. Checks stay pure: facts in, {@link CheckResult} out.
 */
import type { HbaRule } from '../../hba/index.js';
import type { Check, CheckResult, Evidence, Facts, Finding, Severity } from '../types.js';
import { parsePgBool } from '../../pg-bool.js';

export const NONE: CheckResult = Object.freeze({ findings: [], skipped: [] });

export const skip = (id: string, title: string, needs: string): CheckResult => ({ findings: [], skipped: [{ id, title, needs }] });

export const found = (findings: Finding[]): CheckResult => ({ findings, skipped: [] });

export const NEEDS_CONF = 'postgresql.conf (--conf) or a live connection';
export const NEEDS_HBA = 'pg_hba.conf (--hba) or a live connection with pg_hba_file_rules';

export const NEEDS_LIVE = 'a live connection (gatehouse audit CONNINFO)';
const NEEDS_HIDDEN_SETTING = 'superuser or pg_read_all_settings (the setting is hidden from this role)';

/** What a check needs when {@link setting} returned null: the files offline, more privilege live. */
export const settingNeeds = (facts: Facts): string => (facts.settingsFrom === 'server' ? NEEDS_HIDDEN_SETTING : NEEDS_CONF);

/** What a check needs when a live fact is missing: the reason the collector recorded, else a live connection. */
export const factNeeds = (facts: Facts, key: string): string => facts.unavailable?.[key] ?? NEEDS_LIVE;

/** The hba facts' reason for being missing. */
export const hbaNeeds = (facts: Facts): string => facts.unavailable?.['hba'] ?? NEEDS_HBA;

/**
 * A setting's value and evidence; `fallback` is PostgreSQL's built-in default when the file does not
 * set it. Null when there are no settings, or (live) when the server hides the setting from this role.
 */
export function setting(facts: Facts, name: string, fallback: string): { value: string; evidence: Evidence } | null {
  if (!facts.settings) return null;
  const s = facts.settings.get(name);
  if (!s && facts.settingsFrom === 'server') return null;
  if (!s) return { value: fallback, evidence: { kind: 'setting', name, value: fallback, source: 'default' } };
  const evidence: Evidence = { kind: 'setting', name, value: s.value };
  if (s.file !== undefined) evidence.file = s.file;
  if (s.line !== undefined) evidence.line = s.line;
  if (s.source !== undefined) evidence.source = s.source;
  return { value: s.value, evidence };
}

export const ruleEvidence = (r: HbaRule): Evidence => ({ kind: 'file', file: r.file, line: r.line, text: r.text.trim() });

/** The loaded rules, or null when there is no hba fact. */
export const hbaRules = (facts: Facts): readonly HbaRule[] | null => facts.hba?.result.ruleSet.rules ?? null;

const LOOPBACK_V4 = 0x7f000000n;

/** A host* line that only admits loopback clients (127.0.0.0/8 or ::1) never crosses a network. */
export function loopbackOnly(rule: HbaRule): boolean {
  const a = rule.address;
  if (a?.kind === 'samehost') return true;
  if (a?.kind !== 'ip') return false;
  if (a.family === 4) return (a.mask & 0xff000000n) === 0xff000000n && (a.address & 0xff000000n) === LOOPBACK_V4;
  return a.mask === (1n << 128n) - 1n && a.address === 1n;
}

/** A non-reject TCP line reachable from other machines. */
export const remoteAllow = (r: HbaRule): boolean => r.type !== 'local' && r.method !== 'reject' && !loopbackOnly(r);

/** The prefix length of an ip address matcher, or null for anything else or a non-contiguous mask. */
export function prefixBits(rule: HbaRule): number | null {
  const a = rule.address;
  if (a?.kind !== 'ip') return a?.kind === 'all' ? 0 : null;
  const width = a.family === 4 ? 32 : 128;
  let bits = 0;
  for (let i = width - 1; i >= 0 && (a.mask >> BigInt(i)) & 1n; i--) bits++;
  return bits;
}

/** A wide open line: address all, 0.0.0.0/0 or ::/0, not reject. */
export const wideOpen = (r: HbaRule): boolean => r.type !== 'local' && r.method !== 'reject' && prefixBits(r) === 0;

/** A boolean setting that is on (parse_bool; anything that is not a boolean counts as off). */
export const isOn = (value: string): boolean => parsePgBool(value) === true;

/** CIS PostgreSQL 17 Benchmark v1.0.0 section reference. */
export const cis = (section: string): string => `CIS PostgreSQL 17 Benchmark v1.0.0 ${section}`;
export const PG_HBA_DOC = 'https://www.postgresql.org/docs/current/auth-pg-hba-conf.html';

/** A check that looks at each loaded hba rule on its own. */
export interface RuleCheckSpec {
  id: string;
  title: string;
  severity: Severity;
  references: string[];
  /** Returns null when the rule is fine, otherwise what is wrong and the exact fix. */
  judge(rule: HbaRule, facts: Facts): { message: string; remediation: string; confidence?: 'certain' | 'possible'; severity?: Severity } | null;
  /** Extra facts the check needs besides the hba file; return a "needs" text when they are missing. */
  requires?(facts: Facts): string | null;
}

export function ruleCheck(spec: RuleCheckSpec): Check {
  return {
    id: spec.id,
    title: spec.title,
    run(facts) {
      const rules = hbaRules(facts);
      if (rules === null) return skip(spec.id, spec.title, hbaNeeds(facts));
      const missing = spec.requires?.(facts) ?? null;
      if (missing !== null) return skip(spec.id, spec.title, missing);
      const findings: Finding[] = [];
      for (const rule of rules) {
        const v = spec.judge(rule, facts);
        if (v === null) continue;
        findings.push({
          id: spec.id, title: `${spec.title}: ${v.message}`, severity: v.severity ?? spec.severity, confidence: v.confidence ?? 'certain',
          evidence: [ruleEvidence(rule)], remediation: v.remediation, references: spec.references,
        });
      }
      return found(findings);
    },
  };
}

export const SEED_LEAST_PRIVILEGE = 'gatehouse seed tip: least privilege';
export const SEED_PATCHING = 'gatehouse seed tip: patching and backups';
export const SEED_SINGLE_DOOR = 'gatehouse seed tip: port 5432 is the single door';

/** A catalog row as evidence. */
export const rowEvidence = (query: string, row: Record<string, unknown>): Evidence => ({ kind: 'row', query, row });

/** "a, b, c and 17 more" for a sample of names. */
export function nameList(names: readonly string[], total: number = names.length): string {
  const more = total - names.length;
  return `${names.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/** SQL identifier quoting (quote_ident) for remediation text. */
export const ident = (name: string): string => (/^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`);
