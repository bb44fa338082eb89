/**
 * `gatehouse audit`: the hardening inspector (issue 3). Offline mode reads postgresql.conf and
 * pg_hba.conf; live mode (CONNINFO) and --probe are not implemented yet and are refused clearly.
 *
 * Exit codes: 0 no finding at or above --fail-on; 1 some finding at or above it; 2 a file could not
 * be read or the arguments are wrong.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { runChecks } from '../inspector/checks/index.js';
import { collectOffline } from '../inspector/collect/offline.js';
import { renderJson } from '../inspector/report/json.js';
import { renderText } from '../inspector/report/text.js';
import { SEVERITIES, type CheckResult, type Severity } from '../inspector/types.js';

/** Where output goes; tests pass their own. */
export interface AuditIo {
  out: (text: string) => void;
  err: (text: string) => void;
  isTTY: boolean;
}

export interface AuditOptions {
  conf?: string;
  hba?: string;
  ident?: string;
  format: 'text' | 'json';
  failOn: Severity;
  probe?: string;
}

const processIo = (): AuditIo => ({ out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), isTTY: process.stdout.isTTY === true });

const parseSeverity = (v: string): Severity => {
  if (!(SEVERITIES as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${SEVERITIES.join(', ')}`);
  return v as Severity;
};

/** Whether some finding is at least as severe as `failOn`. */
export function failsAt(result: CheckResult, failOn: Severity): boolean {
  const limit = SEVERITIES.indexOf(failOn);
  return result.findings.some((f) => SEVERITIES.indexOf(f.severity) <= limit);
}

/** Runs an audit and returns the exit code (no process.exit, for tests). */
export function runAudit(conninfo: string | undefined, opts: AuditOptions, io: AuditIo): number {
  if (conninfo !== undefined || opts.probe !== undefined) {
    io.err(`gatehouse audit: ${conninfo !== undefined ? 'live mode (CONNINFO)' : '--probe'} is not yet implemented; use --conf and --hba for the offline audit\n`);
    return 2;
  }
  if (opts.conf === undefined && opts.hba === undefined) {
    io.err('gatehouse audit: nothing to audit; give --conf postgresql.conf and/or --hba pg_hba.conf\n');
    return 2;
  }
  const sources: { conf?: string; hba?: string; ident?: string } = {};
  if (opts.conf !== undefined) sources.conf = opts.conf;
  if (opts.hba !== undefined) sources.hba = opts.hba;
  if (opts.ident !== undefined) sources.ident = opts.ident;
  const collected = collectOffline(sources);
  if (collected.loadErrors.length > 0) {
    io.err(collected.loadErrors.map((e) => `gatehouse audit: ${e}\n`).join(''));
    return 2;
  }
  const result = runChecks(collected.facts);
  io.out(opts.format === 'json' ? renderJson(result, collected.warnings) : renderText(result, { color: io.isTTY }, collected.warnings));
  return failsAt(result, opts.failOn) ? 1 : 0;
}

export function registerAuditCommand(program: Command, io: AuditIo = processIo()): void {
  program.command('audit')
    .description('check a PostgreSQL server\'s hardening: offline from postgresql.conf and pg_hba.conf')
    .argument('[conninfo]', 'live mode: a libpq URL or key=value string (not yet implemented)')
    .option('--conf <file>', 'postgresql.conf (includes are followed)')
    .option('--hba <file>', 'pg_hba.conf')
    .option('--ident <file>', 'pg_ident.conf')
    .option('--probe <host:port>', 'outside-in probe (not yet implemented)')
    .addOption(new Option('--format <format>', 'report format').choices(['text', 'json']).default('text'))
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a finding is at least this severe').argParser(parseSeverity).default('high'))
    .action((conninfo: string | undefined, opts: AuditOptions) => {
      process.exitCode = runAudit(conninfo, opts, io);
    });
}
