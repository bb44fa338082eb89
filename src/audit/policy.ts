/**
 * Least privilege at the door (issue 6). Policy is a value (STYLE.md): the classifier says what a
 * statement is, {@link decide} says whether it may pass, and the session acts on the answer. The
 * rules come from the `policy:` config section; every rule matching the session's role and
 * database applies, and a statement any of them refuses is refused (rules only take away, so their
 * order never opens a hole). A multi-statement text with one refused part is refused whole.
 */
import type { Config, PolicyRuleConfig } from '../config/schema.js';
import type { AuditClass, Classification, ClassifiedStatement, PolicyDecision } from './types.js';

/**
 * What `deny_functions: [dangerous]` stands for: functions that reach the server's files, other
 * servers or other sessions' processes, which a role granted them (or a superuser) can use to step
 * outside the database. COPY … PROGRAM, the other way to run a shell command, is `deny_copy_program`.
 */
export const DANGEROUS_FUNCTIONS: readonly string[] = Object.freeze([
  // Server files (pg_read_server_files / pg_write_server_files and the adminpack extension).
  'pg_read_file', 'pg_read_binary_file', 'pg_stat_file', 'pg_ls_dir', 'pg_ls_logdir', 'pg_ls_waldir', 'pg_ls_tmpdir',
  'pg_ls_archive_statusdir', 'pg_ls_logicalsnapdir', 'pg_ls_logicalmapdir', 'pg_ls_replslotdir', 'lo_import', 'lo_export',
  'pg_file_write', 'pg_file_rename', 'pg_file_unlink', 'pg_file_sync', 'pg_logdir_ls',
  // Other servers (dblink: connections made as the server's OS user, with its network reach).
  'dblink', 'dblink_connect', 'dblink_connect_u', 'dblink_exec', 'dblink_send_query', 'dblink_open',
  // Other sessions and the server process.
  'pg_terminate_backend', 'pg_cancel_backend', 'pg_reload_conf', 'pg_rotate_logfile', 'pg_promote',
]);

/** One `policy.<name>` rule, compiled: sets for the per-statement checks. */
export interface PolicyRule {
  readonly name: string;
  /** null: every role / database. */
  readonly users: ReadonlySet<string> | null;
  readonly databases: ReadonlySet<string> | null;
  readonly readOnly: boolean;
  readonly denyClasses: ReadonlySet<AuditClass>;
  /** The entries as written (lower case): bare names and `schema.name`. */
  readonly denyFunctions: ReadonlySet<string>;
  /** The name part of every entry: what a bare call is matched against. */
  readonly denyFunctionNames: ReadonlySet<string>;
  readonly denyCopyProgram: boolean;
  /** Upper-case command tags; null: no allow-list. */
  readonly allowOnly: ReadonlySet<string> | null;
}

/** The whole `policy:` section, compiled. */
export type Policy = readonly PolicyRule[];

/** The rules that apply to one session (non-empty). */
export type SessionPolicy = readonly PolicyRule[];

const ALLOW: PolicyDecision = Object.freeze({ allow: true });
const READ_ONLY_DENIES: ReadonlySet<AuditClass> = new Set(['WRITE', 'DDL', 'ROLE']);
/** Run code the door cannot see into. */
const OPAQUE_COMMANDS: ReadonlySet<string> = new Set(['DO', 'CALL']);
/** Transaction control passes any allow-list: a client that cannot ROLLBACK is worse off. */
const ALWAYS_ALLOWED: ReadonlySet<ClassifiedStatement['transaction']> = new Set(['begin', 'commit', 'rollback', 'savepoint', 'release', 'rollback_to']);

const compiled = new WeakMap<object, Policy>();

/** Compiles the config's rules (memoized per config object: a reload compiles the new one). */
export function compilePolicy(section: Config['policy']): Policy {
  let p = compiled.get(section);
  if (!p) {
    p = Object.freeze(Object.entries(section).map(([name, r]) => compileRule(name, r)));
    compiled.set(section, p);
  }
  return p;
}

function compileRule(name: string, r: PolicyRuleConfig): PolicyRule {
  const fns = new Set<string>();
  for (const f of r.deny_functions) {
    if (f.toLowerCase() === 'dangerous') for (const d of DANGEROUS_FUNCTIONS) fns.add(d);
    else fns.add(f.toLowerCase());
  }
  return Object.freeze({
    name,
    users: r.users ? new Set(r.users) : null,
    databases: r.databases ? new Set(r.databases) : null,
    readOnly: r.read_only,
    denyClasses: new Set(r.deny_classes.map((c) => c.toUpperCase() as AuditClass)),
    denyFunctions: fns,
    denyFunctionNames: new Set([...fns].map((f) => f.slice(f.lastIndexOf('.') + 1))),
    denyCopyProgram: r.deny_copy_program,
    allowOnly: r.allow_only ? new Set(r.allow_only.map((t) => t.toUpperCase())) : null,
  });
}

/** The rules that apply to a role in a database; null when none does (the session needs no policy tap). */
export function rulesFor(policy: Policy, user: string, database: string): SessionPolicy | null {
  const out = policy.filter((r) => (r.users === null || r.users.has(user)) && (r.databases === null || r.databases.has(database)));
  return out.length > 0 ? Object.freeze(out) : null;
}

/** The decision for one classified text: refused when any rule refuses any of its statements. */
export function decide(rules: SessionPolicy, c: Classification): PolicyDecision {
  for (const st of c.statements) {
    for (const r of rules) {
      const why = refusal(r, st, c.unparsed);
      if (why) return { allow: false, rule: `${r.name}: ${why}` };
    }
  }
  return ALLOW;
}

/** The same for a role and database, from the whole policy (what a one-off caller uses). */
export function decideFor(policy: Policy, c: Classification, user: string, database: string): PolicyDecision {
  const rules = rulesFor(policy, user, database);
  return rules ? decide(rules, c) : ALLOW;
}

/** Why rule `r` refuses statement `st`, or '' when it does not. Named guards, first refusal wins. */
function refusal(r: PolicyRule, st: ClassifiedStatement, unparsed: boolean): string {
  if (r.readOnly && (READ_ONLY_DENIES.has(st.class) || st.modifiesData === true || OPAQUE_COMMANDS.has(st.command))) {
    return `read_only refuses ${st.command}`;
  }
  if (r.denyClasses.has(st.class)) return `deny_classes refuses ${st.class.toLowerCase()} (${st.command})`;
  if (r.denyFunctions.size > 0) {
    // Text the door cannot parse could call anything: refused rather than guessed at.
    if (unparsed) return 'deny_functions refuses a statement gatehouse cannot parse';
    const f = st.functions.find((fn) => deniedFunction(r, fn));
    if (f) return `deny_functions refuses ${f}`;
  }
  if (r.denyCopyProgram) {
    if (st.copyProgram === true) return 'deny_copy_program refuses COPY … PROGRAM';
    if (unparsed && st.command === 'COPY') return 'deny_copy_program refuses a COPY gatehouse cannot parse';
  }
  if (r.allowOnly && !r.allowOnly.has(st.command) && !ALWAYS_ALLOWED.has(st.transaction)) return `allow_only does not list ${st.command}`;
  return '';
}

/**
 * `fn` as the classifier wrote it (lower case, maybe schema-qualified). A bare call may resolve to
 * any schema's function of that name (search_path), so it matches every entry's name part; a
 * qualified call matches that entry or a bare entry of its name.
 */
function deniedFunction(r: PolicyRule, fn: string): boolean {
  const dot = fn.lastIndexOf('.');
  if (dot < 0) return r.denyFunctionNames.has(fn);
  return r.denyFunctions.has(fn) || r.denyFunctions.has(fn.slice(dot + 1));
}
