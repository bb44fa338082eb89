/**
 * `gatehouse hba lint`: errors are what PostgreSQL would refuse (its words, file:line); warnings are
 * lines that load but are dead, weak or wide open. Every warning has a stable id and a concrete fix.
 *
 *   GH-HBA-001 rule can never match (an earlier rule covers it)
 *   GH-HBA-002 rule may never match (coverage depends on names, interfaces, membership, regexes, @file)
 *   GH-HBA-003 trust on a TCP line           GH-HBA-004 password (cleartext)
 *   GH-HBA-005 md5 (deprecated in 18)        GH-HBA-006 any address on a non-reject TCP line
 *   GH-HBA-007 host/hostnossl while SSL is on GH-HBA-008 PostgreSQL's own warning (line loads, cannot match…)
 *   GH-HBA-009 ident on a TCP line           GH-HBA-010 trust on a local line
 */
import { dirname, relative } from 'node:path';
import { prefixLength } from './ip.js';
import { compileHbaFile, where } from './load.js';
import { covers } from './shadow.js';
import type { HbaCompileResult, HbaIssue, HbaParseOptions, HbaRule, HbaToken } from './types.js';

const at = (r: HbaRule): string => where({ file: r.file, line: r.line, message: '' });

export interface LintWarning {
  readonly id: string;
  readonly file: string;
  readonly line: number;
  readonly message: string;
  /** What to do about it, with a replacement line where one exists. */
  readonly fix: string;
}

export interface LintResult {
  readonly errors: readonly HbaIssue[];
  readonly warnings: readonly LintWarning[];
}

export interface LintOptions extends HbaParseOptions {
  /** The server's `ssl` setting. Unknown (undefined) is treated as on for GH-HBA-007. */
  readonly sslEnabled?: boolean;
}

/** Lints the file at `path` and what it includes. */
export function lintHba(path: string, opts: LintOptions = {}): LintResult {
  return lintHbaResult(compileHbaFile(path, opts), opts);
}

/** Lints an already compiled file. Warnings cover the lines that load, even when others do not. */
export function lintHbaResult(result: HbaCompileResult, opts: LintOptions = {}): LintResult {
  const rules = result.ruleSet.rules;
  const warnings: LintWarning[] = [...result.notes.map(noteWarning)];
  for (const [i, rule] of rules.entries()) {
    warnings.push(...ruleWarnings(rule, opts));
    const shadow = shadowWarning(rule, rules.slice(0, i), opts);
    if (shadow) warnings.push(shadow);
  }
  warnings.sort((a, b) => order(result, a) - order(result, b));
  return Object.freeze({ errors: result.errors, warnings: Object.freeze(warnings) });
}

/** Warnings in file order: position of the line among the entries, notes about whole files first. */
function order(result: HbaCompileResult, w: LintWarning): number {
  const i = result.entries.findIndex((e) => e.file === w.file && e.line === w.line);
  return i < 0 ? -1 : i;
}

function warning(rule: HbaRule, id: string, message: string, fix: string): LintWarning {
  return { id, file: rule.file, line: rule.line, message, fix };
}

const LOOPBACK_V4 = 0x7f000000n;

/** The rule only admits loopback clients (127.0.0.0/8 or ::1), so it never crosses a network. */
function loopbackOnly(rule: HbaRule): boolean {
  const a = rule.address;
  if (a?.kind !== 'ip') return false;
  if (a.family === 4) return (a.mask & 0xff000000n) === 0xff000000n && (a.address & 0xff000000n) === LOOPBACK_V4;
  return a.mask === (1n << 128n) - 1n && a.address === 1n;
}

function ruleWarnings(rule: HbaRule, opts: LintOptions): LintWarning[] {
  const out: LintWarning[] = [];
  const tcp = rule.type !== 'local';
  const users = rule.users.map((u) => u.token.text).join(',');
  const scram = formatRuleLine(rule, { method: 'scram-sha-256', type: tcp && opts.sslEnabled !== false ? 'hostssl' : rule.type });
  if (tcp && rule.method === 'trust') {
    out.push(warning(rule, 'GH-HBA-003', `trust on a ${rule.type} line: anyone who can reach the server from ${addressText(rule)} can log in as ${users} without a password`, `Require a password: ${scram}`));
  }
  if (!tcp && rule.method === 'trust') {
    out.push(warning(rule, 'GH-HBA-010', `trust on a local line: every operating-system user on this machine can log in as ${users} without a password`, `Use peer (add map= when OS and role names differ) or a password: ${formatRuleLine(rule, { method: 'peer' })}`));
  }
  if (rule.method === 'password') {
    const clear = tcp && rule.type !== 'hostssl' ? ', and this line also admits connections without TLS' : '';
    out.push(warning(rule, 'GH-HBA-004', `password sends the password in cleartext${clear}`, `Use SCRAM: ${scram}`));
  }
  if (rule.method === 'md5') {
    out.push(warning(rule, 'GH-HBA-005', 'md5 is deprecated since PostgreSQL 18 and weaker than SCRAM (an md5 line already uses SCRAM for roles whose password is stored as SCRAM)', `Set password_encryption = scram-sha-256, re-set the passwords, then use: ${formatRuleLine(rule, { method: 'scram-sha-256' })}`));
  }
  if (tcp && rule.method === 'ident') {
    out.push(warning(rule, 'GH-HBA-009', 'ident over TCP believes whatever user name the client machine\'s ident server reports', `Use SCRAM or certificates: ${scram}`));
  }
  if (tcp && rule.method !== 'reject' && openAddress(rule) !== null) {
    out.push(warning(rule, 'GH-HBA-006', `${openAddress(rule) ?? ''} on a non-reject ${rule.type} line admits clients from anywhere that can reach the port`, `Name the clients' network instead, e.g. ${formatRuleLine(rule, { address: '192.0.2.0/24' })} (use your subnet), and keep listen_addresses narrow`));
  }
  if ((rule.type === 'host' || rule.type === 'hostnossl') && rule.method !== 'reject' && opts.sslEnabled !== false && !loopbackOnly(rule)) {
    out.push(warning(rule, 'GH-HBA-007', `${rule.type} admits connections without TLS although the server has SSL on, so passwords and data can cross the network in clear`, `Use hostssl: ${formatRuleLine(rule, { type: 'hostssl' })}`));
  }
  return out;
}

function openAddress(rule: HbaRule): string | null {
  const a = rule.address;
  if (a?.kind === 'all') return 'address "all"';
  if (a?.kind === 'ip' && a.mask === 0n) return a.family === 4 ? '0.0.0.0/0' : '::/0';
  return null;
}

function addressText(rule: HbaRule): string {
  const a = rule.address;
  if (a === null) return 'this machine';
  if (a.kind === 'ip') return ipText(a);
  return a.kind === 'hostname' ? a.name : a.kind;
}

function ipText(a: Extract<HbaRule['address'], { kind: 'ip' }>): string {
  const prefix = prefixLength(a.mask, a.family);
  return prefix === null ? `${a.display} ${a.netmaskDisplay}` : `${a.display}/${prefix}`;
}

/** GH-HBA-001/002: the first earlier rule that certainly (or possibly) matches everything this one does. */
function shadowWarning(rule: HbaRule, earlier: readonly HbaRule[], opts: LintOptions): LintWarning | null {
  if (rule.type === 'hostssl' && opts.sslEnabled === false) return null; // already "cannot match" (GH-HBA-008)
  let possible: { by: HbaRule; reasons: readonly string[] } | null = null;
  for (const a of earlier) {
    const c = covers(a, rule);
    if (c.cover === 'yes') {
      return warning(rule, 'GH-HBA-001', `this rule can never match: ${at(a)} (${a.text.trim()}) already matches every connection it would${weaker(a, rule)}`,
        `Move this line above ${at(a)}, or delete it if it is obsolete.`);
    }
    if (c.cover === 'maybe' && possible === null) possible = { by: a, reasons: c.reasons };
  }
  if (possible === null) return null;
  const by = possible.by;
  return warning(rule, 'GH-HBA-002', `this rule may never match: ${at(by)} (${by.text.trim()}) possibly matches every connection it would, depending on ${possible.reasons.join(' and ')}${weaker(by, rule)}`,
    `If ${at(by)} is meant to be the broader rule, move this line above it; otherwise narrow ${at(by)}.`);
}

/** Rough strength of a method, to call out an earlier, weaker rule that takes over (permissive shadowing). */
const STRENGTH: Readonly<Record<string, number>> = { trust: 0, password: 1, ident: 1, peer: 2, md5: 2, reject: 9 };

function weaker(a: HbaRule, b: HbaRule): string {
  const s = (r: HbaRule): number => STRENGTH[r.method] ?? 3;
  return s(a) < s(b) ? `; it uses ${a.method}, weaker than this line's ${b.method}` : '';
}

const NOTE_FIXES: readonly [RegExp, string][] = [
  [/SSL is disabled/, 'Set ssl = on in postgresql.conf (with a certificate), or change the line to host.'],
  [/GSSAPI is not supported/, 'Use host or hostssl, or a server built with GSSAPI.'],
  [/SSL is not supported by this build/, 'Use a server built with SSL.'],
  [/skipping missing authentication file/, 'Create the file, or remove the include_if_exists line if it is no longer needed.'],
];

function noteWarning(note: HbaIssue): LintWarning {
  const fix = NOTE_FIXES.find(([re]) => re.test(note.message))?.[1] ?? 'See the PostgreSQL documentation for pg_hba.conf.';
  return { id: 'GH-HBA-008', file: note.file, line: note.line, message: note.message, fix };
}

/** A pg_hba.conf line for `rule` with some fields replaced; quotes what the lexer would otherwise split. */
export function formatRuleLine(rule: HbaRule, change: { type?: string; method?: string; address?: string }): string {
  const parts = [change.type ?? rule.type, tokenList(rule, rule.databases.map((d) => d.token)), tokenList(rule, rule.users.map((u) => u.token))];
  if ((change.type ?? rule.type) !== 'local') {
    const a = rule.address;
    parts.push(change.address ?? (a === null ? 'all' : a.kind === 'ip' ? ipText(a) : a.kind === 'hostname' ? a.name : a.kind));
  }
  // A line we suggest never keeps `trust` on the network (invariant 7: no trust in anything generated).
  const method = change.method ?? (rule.method === 'trust' && (change.type ?? rule.type) !== 'local' ? 'scram-sha-256' : rule.method);
  parts.push(method);
  const keep = Object.entries(rule.options).filter(([k]) => method === rule.method || !['map', 'ldapserver', 'ldapbasedn'].includes(k));
  parts.push(...keep.map(([k, v]) => quote(`${k}=${v}`, false)));
  return parts.join(' ');
}

function tokenList(rule: HbaRule, tokens: readonly HbaToken[]): string {
  const out: string[] = [];
  for (const t of tokens) {
    if (t.viaFile === undefined) out.push(quote(t.text, t.quoted));
    else {
      const ref = `@${relative(dirname(rule.file), t.viaFile)}`;
      if (!out.includes(ref)) out.push(ref);
    }
  }
  return out.join(',');
}

function quote(text: string, quoted: boolean): string {
  return quoted || text === '' || /[\s,#"]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
