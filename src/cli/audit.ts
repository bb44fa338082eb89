/**
 * `gatehouse audit`: the hardening inspector (issue 3). Live mode (CONNINFO, or the PG* environment)
 * reads the server's catalog and settings; offline mode reads postgresql.conf and pg_hba.conf;
 * --probe HOST:PORT shows what a scanner on the network sees (it never sends a password). They combine.
 *
 * Exit codes: 0 no finding at or above --fail-on; 1 some finding at or above it; 2 a file could not
 * be read, the connection failed, or the arguments are wrong.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { CHECKS, LIVE_CHECKS, PROBE_CHECKS, runChecks } from '../inspector/checks/index.js';
import { ConninfoError, describeTarget, resolveConnParams, type ConnParams } from '../inspector/collect/conninfo.js';
import { collectLive, LiveConnectError } from '../inspector/collect/live.js';
import { collectOffline } from '../inspector/collect/offline.js';
import { loadReleaseTable, ReleaseDataError } from '../inspector/collect/releases.js';
import { probeServer } from '../inspector/collect/probe.js';
import { REPORT_FORMATS, render, type ReportFormat } from '../inspector/report/index.js';
import { SEVERITIES, type Check, type CheckResult, type Facts, type ReleaseTable, type ReportContext, type Severity } from '../inspector/types.js';

/** Where output goes; tests pass their own. */
export interface AuditIo {
  out: (text: string) => void;
  err: (text: string) => void;
  isTTY: boolean;
  /** stderr is a terminal: show a progress line while collecting. */
  errIsTTY?: boolean;
  /** The environment the PG* variables come from (default process.env). */
  env?: NodeJS.ProcessEnv;
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
  /** A release table replacing the bundled one (JSON, see docs/audit.md). */
  releaseData?: string;
}

const processIo = (): AuditIo => ({
  out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), isTTY: process.stdout.isTTY === true, errIsTTY: process.stderr.isTTY === true,
});

/** The libpq variables that ask for a live audit when no CONNINFO and no file or probe is given. */
const PG_ENV = ['PGHOST', 'PGHOSTADDR', 'PGPORT', 'PGUSER', 'PGDATABASE', 'PGSERVICE'];

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

/** What the arguments ask for, or an error message (exit 2). */
interface AuditPlan {
  params?: ConnParams;
  releases?: ReleaseTable;
  target: { host: string; port: number } | null;
}

function planAudit(conninfo: string | undefined, opts: AuditOptions, env: NodeJS.ProcessEnv): AuditPlan | string {
  const offlineOnly = opts.conf !== undefined || opts.hba !== undefined || opts.probe !== undefined;
  const live = conninfo !== undefined || (!offlineOnly && PG_ENV.some((k) => (env[k] ?? '') !== ''));
  if (!live && !offlineOnly) {
    return 'nothing to audit; give a CONNINFO (or set PGHOST/PGDATABASE…), --conf postgresql.conf and/or --hba pg_hba.conf, or --probe HOST:PORT';
  }
  const target = opts.probe === undefined ? null : parseProbeTarget(opts.probe);
  if (opts.probe !== undefined && target === null) return `--probe ${opts.probe}: expected HOST:PORT or [IPv6]:PORT`;
  if (!live) return { target };
  try {
    return { params: resolveConnParams(conninfo, env), releases: loadReleaseTable(opts.releaseData), target };
  } catch (e) {
    if (e instanceof ConninfoError) return `invalid connection string: ${e.message}`;
    if (e instanceof ReleaseDataError) return `--release-data ${e.message}`;
    throw e;
  }
}

/** Runs an audit and returns the exit code (no process.exit, for tests). */
export async function runAudit(conninfo: string | undefined, opts: AuditOptions, io: AuditIo): Promise<number> {
  const plan = planAudit(conninfo, opts, io.env ?? process.env);
  if (typeof plan === 'string') {
    io.err(`gatehouse audit: ${plan}\n`);
    return 2;
  }
  const { params, releases, target } = plan;
  const facts: Facts = {};
  const checks: Check[] = [];
  let warnings: string[] = [];
  const targets: string[] = [];
  if (params) {
    const collected = await liveFacts(params, io);
    if (collected === null) return 2;
    Object.assign(facts, collected.facts, { releases });
    warnings = collected.warnings;
    targets.push(describeTarget(params));
    checks.push(...CHECKS, ...LIVE_CHECKS);
  }
  if (opts.conf !== undefined || opts.hba !== undefined) {
    const offline = offlineFacts(opts, io);
    if (offline === null) return 2;
    mergeOffline(facts, offline.facts);
    warnings.push(...offline.warnings);
    targets.push(...[opts.conf, opts.hba, opts.ident].filter((f): f is string => f !== undefined));
    if (!params) checks.push(...CHECKS);
  }
  if (target) {
    if (io.errIsTTY) io.err(`probing ${target.host}:${target.port} …\n`);
    facts.probe = await probeServer(target.host, target.port, {
      ...(opts.probeUser !== undefined ? { user: opts.probeUser } : {}),
      ...(opts.probeServername !== undefined ? { servername: opts.probeServername } : {}),
    });
    checks.push(...PROBE_CHECKS);
  }
  if (opts.probe !== undefined) targets.push(`probe ${opts.probe}`);
  const result = runChecks(facts, checks);
  io.out(render(opts.format, { context: reportContext(targets, warnings, releases, opts.releaseData), result }, { color: io.isTTY }));
  return failsAt(result, opts.failOn) ? 1 : 0;
}

/** The report's heading: what was audited (never a password), when, and the release table's date. */
function reportContext(targets: string[], warnings: string[], releases: ReleaseTable | undefined, file: string | undefined): ReportContext {
  const context: ReportContext = { targets, generatedAt: new Date().toISOString(), warnings };
  if (releases) {
    context.releaseData = { asOf: releases.asOf, source: file ?? 'bundled' };
    const age = Math.floor((Date.now() - Date.parse(`${releases.asOf}T00:00:00Z`)) / 86_400_000);
    if (age > 120) warnings.push(`the release table is of ${releases.asOf} (${age} days old): a newer minor release may exist; pass --release-data FILE with a current table`);
  }
  return context;
}

/** Collects from the server, with a progress line on a terminal; null (exit 2) when it cannot connect. */
async function liveFacts(params: ConnParams, io: AuditIo): Promise<{ facts: Facts; warnings: string[] } | null> {
  const progress = io.errIsTTY ? (step: string) => io.err(`\r\x1b[Kgatehouse audit: collecting ${step} …`) : undefined;
  try {
    return await collectLive(params, progress);
  } catch (e) {
    if (!(e instanceof LiveConnectError)) throw e;
    io.err(`${progress ? '\r\x1b[K' : ''}gatehouse audit: ${e.message}\n`);
    return null;
  } finally {
    if (progress) io.err('\r\x1b[K');
  }
}

/**
 * Files given beside a live connection: --hba replaces what the server let us read, and --conf fills
 * in the settings the server hid from this role (the server's running values win otherwise).
 */
function mergeOffline(facts: Facts, offline: Facts): void {
  if (offline.hba) {
    facts.hba = offline.hba;
    if (facts.unavailable) delete facts.unavailable['hba'];
  }
  if (!offline.settings) return;
  if (!facts.settings) {
    facts.settings = offline.settings;
    facts.confErrors = offline.confErrors ?? [];
    return;
  }
  for (const [k, v] of offline.settings) if (!facts.settings.has(k)) facts.settings.set(k, v);
  facts.confErrors ??= offline.confErrors ?? [];
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
    .description('check a PostgreSQL server\'s hardening: live from its catalog and settings, offline from postgresql.conf and pg_hba.conf, and from outside with --probe')
    .argument('[conninfo]', 'live mode: a libpq URI (postgresql://user@host:port/db) or key=value string (host=… port=… user=… dbname=…); without it, the PG* environment variables when set. The password comes from the string, PGPASSWORD or ~/.pgpass (PGPASSFILE); it is never shown')
    .option('--conf <file>', 'postgresql.conf (includes are followed)')
    .option('--hba <file>', 'pg_hba.conf')
    .option('--ident <file>', 'pg_ident.conf')
    .option('--probe <host:port>', 'outside-in probe: plaintext, TLS versions, certificate, direct TLS, auth method (never sends a password)')
    .option('--probe-user <role>', 'role whose authentication method the probe asks for', 'postgres')
    .option('--probe-servername <name>', 'host name the certificate must match (default: the probe host)')
    .option('--release-data <file>', 'JSON release table (asOf, source, majors) replacing the bundled one for the patching checks')
    .addOption(new Option('--format <format>', 'report format').choices([...REPORT_FORMATS]).default('text'))
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a finding is at least this severe').argParser(parseSeverity).default('high'))
    .action(async (conninfo: string | undefined, opts: AuditOptions) => {
      process.exitCode = await runAudit(conninfo, opts, io);
    });
}
