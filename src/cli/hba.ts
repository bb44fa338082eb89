/**
 * `gatehouse hba check` (which pg_hba.conf line decides a connection, and why) and
 * `gatehouse hba lint` (what PostgreSQL would refuse, plus dead, weak and open lines).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  checkIdentMap, clientAddress, compileHbaFile, compileIdentFile, evaluateHba, formatIssue, lintHba, resolveClientHostname,
  type HbaAttempt, type HbaRule, type IdentMapSet, type PgMajor,
} from '../hba/index.js';

/** Where output goes; tests pass their own. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const processIo: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

export interface HbaCheckOptions {
  hba: string;
  ident?: string;
  type: 'local' | 'host' | 'hostssl' | 'hostnossl';
  database: string;
  user: string;
  address?: string;
  hostname?: string;
  groups?: string[];
  certCn?: string;
  systemUser?: string;
  replication?: 'physical' | 'logical';
  pgVersion?: PgMajor;
  json?: boolean;
}

export interface HbaLintOptions {
  json?: boolean;
  ssl?: 'on' | 'off';
  pgVersion?: PgMajor;
}

const parsePgVersion = (v: string): PgMajor => {
  if (!['15', '16', '17', '18'].includes(v)) throw new InvalidArgumentError('expected 15, 16, 17 or 18');
  return Number(v) as PgMajor;
};

export function registerHbaCommands(program: Command): void {
  const hba = program.command('hba').description('explain and lint pg_hba.conf / pg_ident.conf exactly as PostgreSQL reads them');
  hba.addCommand(checkCommand());
  hba.addCommand(lintCommand());
}

function checkCommand(): Command {
  return new Command('check')
    .description('show which pg_hba.conf line decides a connection (first match wins; no match is an implicit reject)')
    .requiredOption('--hba <file>', 'pg_hba.conf to load (include, include_dir and @file are followed)')
    .option('--ident <file>', 'pg_ident.conf, to evaluate the map= of the matching line')
    .addOption(new Option('--type <type>', 'connection kind: local (Unix socket), host (TCP without TLS), hostssl (TCP with TLS), hostnossl (same as host)')
      .choices(['local', 'host', 'hostssl', 'hostnossl']).makeOptionMandatory())
    .requiredOption('--database <name>', 'database the client asks for')
    .requiredOption('--user <name>', 'role the client logs in as')
    .option('--address <ip>', 'client IP address (required unless --type local); ::ffff:a.b.c.d counts as IPv4')
    .option('--hostname <name>', 'the client\'s verified host name for host-name lines (default: reverse DNS of --address, forward-confirmed)')
    .option('--groups <roles>', 'comma-separated roles the user is a member of, for +role and samerole (the user is always a member of itself)',
      (v: string) => v.split(',').map((s) => s.trim()).filter((s) => s !== ''))
    .option('--cert-cn <cn>', 'client certificate CN (or DN with clientname=DN): the system user for cert lines and their map=')
    .option('--system-user <name>', 'system user for ident/peer maps (OS user, Kerberos principal…)')
    .addOption(new Option('--replication <kind>', 'a walsender: physical matches only the "replication" keyword; logical matches by database').choices(['physical', 'logical']))
    .option('--pg-version <n>', 'apply this PostgreSQL major version\'s syntax (15-18)', parsePgVersion, 18 as PgMajor)
    .option('--json', 'print one JSON object: {"matched":bool,"file","line","type","method","options",…}')
    .addHelpText('after', '\nExit status: 0 when the file loads (match or implicit reject), 2 when PostgreSQL would refuse it (errors are printed as file:line: message).\n'
      + '\nExample:\n  gatehouse hba check --hba /etc/postgresql/18/main/pg_hba.conf --type hostssl --address 10.1.2.3 --database app --user alice\n')
    .action(async (opts: HbaCheckOptions, cmd: Command) => {
      if (opts.type !== 'local' && opts.address === undefined) cmd.error('error: --address is required unless --type local');
      process.exitCode = await runHbaCheck(opts);
    });
}

function lintCommand(): Command {
  return new Command('lint')
    .description('report what PostgreSQL would refuse (errors) and lines that are dead, weak or wide open (warnings GH-HBA-001…010, each with a fix)')
    .argument('<file>', 'pg_hba.conf to lint (includes are followed)')
    .addOption(new Option('--ssl <on|off>', 'the server\'s ssl setting: off makes hostssl lines unmatchable; on (the assumption) flags host lines that could be hostssl').choices(['on', 'off']))
    .option('--pg-version <n>', 'apply this PostgreSQL major version\'s syntax (15-18)', parsePgVersion, 18 as PgMajor)
    .option('--json', 'print {"errors":[{file,line,message}],"warnings":[{id,file,line,message,fix}]}')
    .addHelpText('after', '\nExit status: 1 when there is an error (PostgreSQL would not load the file), else 0.\n')
    .action((file: string, opts: HbaLintOptions) => {
      process.exitCode = runHbaLint(file, opts);
    });
}

/** `hba check`; returns the exit status. */
export async function runHbaCheck(opts: HbaCheckOptions, io: CliIo = processIo): Promise<number> {
  const parse = { pgVersion: opts.pgVersion ?? 18 };
  const compiled = compileHbaFile(opts.hba, parse);
  const ident = opts.ident === undefined ? null : compileIdentFile(opts.ident, parse);
  const errors = [...compiled.errors, ...(ident?.errors ?? [])];
  if (errors.length > 0) {
    for (const e of errors) io.err(`${formatIssue(e)}\n`);
    return 2;
  }
  for (const n of compiled.notes) io.err(`${formatIssue(n)}\n`);
  const attempt = await buildAttempt(opts, compiled.ruleSet.needsHostname);
  const rule = evaluateHba(compiled.ruleSet, attempt);
  const identResult = rule ? identOutcome(rule, opts, ident?.set ?? null, attempt) : null;
  io.out(opts.json ? `${JSON.stringify(checkJson(rule, identResult))}\n` : checkText(rule, identResult));
  return 0;
}

async function buildAttempt(opts: HbaCheckOptions, needsHostname: boolean): Promise<HbaAttempt> {
  const groups = new Set(opts.groups ?? []);
  const attempt: HbaAttempt = {
    socket: opts.type === 'local' ? 'local' : 'host',
    ssl: opts.type === 'hostssl',
    database: opts.database,
    user: opts.user,
    replication: opts.replication ?? 'none',
    isMember: (role) => role === opts.user || groups.has(role),
  };
  if (attempt.socket === 'host' && opts.address !== undefined) {
    attempt.address = opts.address;
    if (opts.hostname !== undefined) attempt.hostname = opts.hostname;
    else if (needsHostname && clientAddress(opts.address) !== null) attempt.hostname = await resolveClientHostname(opts.address);
  }
  return attempt;
}

interface IdentOutcome {
  map: string | null;
  systemUser: string;
  allowed: boolean;
}

/** The map= check (check_usermap) for the matched line, when we know the system user. */
function identOutcome(rule: HbaRule, opts: HbaCheckOptions, ident: IdentMapSet | null, attempt: HbaAttempt): IdentOutcome | null {
  const systemUser = rule.method === 'cert' ? opts.certCn ?? opts.systemUser : opts.systemUser ?? opts.certCn;
  if (systemUser === undefined) return null;
  if (rule.map === undefined) {
    // cert without map=: the certificate name must equal the user name.
    return rule.method === 'cert' ? { map: null, systemUser, allowed: systemUser === opts.user } : null;
  }
  const allowed = ident !== null && checkIdentMap(ident, rule.map, systemUser, opts.user, attempt.isMember);
  return { map: rule.map, systemUser, allowed };
}

function checkJson(rule: HbaRule | null, ident: IdentOutcome | null): Record<string, unknown> {
  if (!rule) return { matched: false };
  return {
    matched: true, file: rule.file, line: rule.line, type: rule.type, method: rule.method, options: rule.options,
    text: rule.text, ...(rule.clientcert ? { clientcert: rule.clientcert } : {}),
    ...(ident ? { ident: { map: ident.map, allowed: ident.allowed } } : {}),
  };
}

function checkText(rule: HbaRule | null, ident: IdentOutcome | null): string {
  if (!rule) return 'no pg_hba.conf entry matches (implicit reject)\n';
  const lines = [`matched ${rule.file}:${rule.line}: ${rule.text.trim()}`, `  method: ${rule.method}`];
  const opts = Object.entries(rule.options).map(([k, v]) => `${k}=${v}`);
  if (opts.length > 0) lines.push(`  options: ${opts.join(' ')}`);
  if (rule.clientcert) lines.push(`  client certificate: ${rule.clientcert}${rule.method === 'cert' ? ' (implied by cert)' : ''}`);
  if (ident) {
    const verdict = ident.allowed ? 'allows' : 'does not allow';
    lines.push(ident.map === null
      ? `  certificate name "${ident.systemUser}" ${ident.allowed ? 'equals' : 'does not equal'} the user name`
      : `  ident map "${ident.map}" ${verdict} "${ident.systemUser}" to log in as this user`);
  }
  return `${lines.join('\n')}\n`;
}

/** `hba lint`; returns the exit status. */
export function runHbaLint(file: string, opts: HbaLintOptions, io: CliIo = processIo): number {
  const result = lintHba(file, {
    pgVersion: opts.pgVersion ?? 18, ...(opts.ssl ? { sslEnabled: opts.ssl === 'on' } : {}),
  });
  if (opts.json) {
    io.out(`${JSON.stringify({ errors: result.errors, warnings: result.warnings })}\n`);
  } else {
    for (const e of result.errors) io.out(`${formatIssue({ ...e, message: `error: ${e.message}` })}\n`);
    for (const w of result.warnings) {
      io.out(`${formatIssue({ ...w, message: `warning ${w.id}: ${w.message}` })}\n  fix: ${w.fix}\n`);
    }
    io.out(`${result.errors.length} error(s), ${result.warnings.length} warning(s)\n`);
  }
  return result.errors.length > 0 ? 1 : 0;
}
