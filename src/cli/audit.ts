/**
 * `gatehouse audit`: the hardening inspector (issue 3). Offline mode reads postgresql.conf and
 * pg_hba.conf; --probe HOST:PORT shows what a scanner on the network sees (it never sends a
 * password). Live mode (CONNINFO) is not implemented yet and is refused clearly.
 *
 * Exit codes: 0 no finding at or above --fail-on; 1 some finding at or above it; 2 a file could not
 * be read or the arguments are wrong.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { CHECKS, PROBE_CHECKS, runChecks } from '../inspector/checks/index.js';
import { collectOffline } from '../inspector/collect/offline.js';
import { probeServer } from '../inspector/collect/probe.js';
import { REPORT_FORMATS, render, type ReportFormat } from '../inspector/report/index.js';
import { SEVERITIES, type Check, type CheckResult, type Facts, type ReportContext, type Severity } from '../inspector/types.js';

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
  format: ReportFormat;
  failOn: Severity;
  probe?: string;
  /** Role whose auth method the probe asks for (default postgres). */
  probeUser?: string;
  /** Host name to check the certificate against (default: the probe host). */
  probeServername?: string;
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

/** HOST:PORT, [IPv6]:PORT, or HOST (port 5432). */
export function parseProbeTarget(v: string): { host: string; port: number } | null {
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d{1,5}))?$/.exec(v);
  if (!m) return null;
  const port = m[3] === undefined ? 5432 : Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: (m[1] ?? m[2])!, port };
}

/** Runs an audit and returns the exit code (no process.exit, for tests). */
export async function runAudit(conninfo: string | undefined, opts: AuditOptions, io: AuditIo): Promise<number> {
  if (conninfo !== undefined) {
    io.err('gatehouse audit: live mode (CONNINFO) is not yet implemented; use --conf and --hba for the offline audit, or --probe HOST:PORT\n');
    return 2;
  }
  if (opts.conf === undefined && opts.hba === undefined && opts.probe === undefined) {
    io.err('gatehouse audit: nothing to audit; give --conf postgresql.conf and/or --hba pg_hba.conf, or --probe HOST:PORT\n');
    return 2;
  }
  const target = opts.probe === undefined ? null : parseProbeTarget(opts.probe);
  if (opts.probe !== undefined && target === null) {
    io.err(`gatehouse audit: --probe ${opts.probe}: expected HOST:PORT or [IPv6]:PORT\n`);
    return 2;
  }
  const facts: Facts = {};
  const checks: Check[] = [];
  let warnings: string[] = [];
  if (opts.conf !== undefined || opts.hba !== undefined) {
    const offline = offlineFacts(opts, io);
    if (offline === null) return 2;
    Object.assign(facts, offline.facts);
    warnings = offline.warnings;
    checks.push(...CHECKS);
  }
  if (target) {
    if (io.isTTY) io.err(`probing ${target.host}:${target.port} …\n`);
    facts.probe = await probeServer(target.host, target.port, {
      ...(opts.probeUser !== undefined ? { user: opts.probeUser } : {}),
      ...(opts.probeServername !== undefined ? { servername: opts.probeServername } : {}),
    });
    checks.push(...PROBE_CHECKS);
  }
  const result = runChecks(facts, checks);
  io.out(render(opts.format, { context: reportContext(opts, warnings), result }, { color: io.isTTY }));
  return failsAt(result, opts.failOn) ? 1 : 0;
}

/** The report's heading: the files and probe target audited (as given), and when. */
function reportContext(opts: AuditOptions, warnings: string[]): ReportContext {
  const targets = [opts.conf, opts.hba, opts.ident].filter((f): f is string => f !== undefined);
  if (opts.probe !== undefined) targets.push(`probe ${opts.probe}`);
  return { targets, generatedAt: new Date().toISOString(), warnings };
}

function offlineFacts(opts: AuditOptions, io: AuditIo): { facts: Facts; warnings: string[] } | null {
  const sources: { conf?: string; hba?: string; ident?: string } = {};
  if (opts.conf !== undefined) sources.conf = opts.conf;
  if (opts.hba !== undefined) sources.hba = opts.hba;
  if (opts.ident !== undefined) sources.ident = opts.ident;
  const collected = collectOffline(sources);
  if (collected.loadErrors.length > 0) {
    io.err(collected.loadErrors.map((e) => `gatehouse audit: ${e}\n`).join(''));
    return null;
  }
  return { facts: collected.facts, warnings: collected.warnings };
}

export function registerAuditCommand(program: Command, io: AuditIo = processIo()): void {
  program.command('audit')
    .description('check a PostgreSQL server\'s hardening: offline from postgresql.conf and pg_hba.conf, and from outside with --probe')
    .argument('[conninfo]', 'live mode: a libpq URL or key=value string (not yet implemented)')
    .option('--conf <file>', 'postgresql.conf (includes are followed)')
    .option('--hba <file>', 'pg_hba.conf')
    .option('--ident <file>', 'pg_ident.conf')
    .option('--probe <host:port>', 'outside-in probe: plaintext, TLS versions, certificate, direct TLS, auth method (never sends a password)')
    .option('--probe-user <role>', 'role whose authentication method the probe asks for', 'postgres')
    .option('--probe-servername <name>', 'host name the certificate must match (default: the probe host)')
    .addOption(new Option('--format <format>', 'report format').choices([...REPORT_FORMATS]).default('text'))
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a finding is at least this severe').argParser(parseSeverity).default('high'))
    .action(async (conninfo: string | undefined, opts: AuditOptions) => {
      process.exitCode = await runAudit(conninfo, opts, io);
    });
}
