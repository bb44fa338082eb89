/**
 * SARIF 2.1.0 for GitHub code scanning (`github/codeql-action/upload-sarif`): one run, one rule per
 * finding id (with GitHub's `security-severity`), one result per finding. File evidence (an hba
 * line, a setting with its file and line) becomes a physical location relative to the directory
 * the audit ran in; a setting at its default, a catalog row or a probe gets a logical location,
 * anchored at a file too (see {@link fallbackFile}), as GitHub requires.
 * Skipped checks and reading problems are tool execution notifications.
 *
 * @see https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html
 * @see https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning
 */
import { createHash } from 'node:crypto';
import { isAbsolute, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Evidence, Finding, Severity } from '../types.js';
import { AUDIT_DOCS_URL, GATEHOUSE_VERSION, checkTitle, evidenceWhat, formatEvidence, type AuditReport } from './common.js';
import { SEVERITIES } from '../types.js';

export interface SarifOptions {
  /** Directory file URIs are made relative to (the repository root when uploading). Default: the working directory. */
  baseDir?: string;
}

/** GitHub maps security-severity to critical (≥ 9.0), high (7.0–8.9), medium (4.0–6.9), low (0.1–3.9), none. */
const SECURITY_SEVERITY: Readonly<Record<Severity, string>> = { critical: '9.5', high: '8.0', medium: '5.5', low: '3.0', info: '0.0' };
const LEVEL: Readonly<Record<Severity, 'error' | 'warning' | 'note'>> = { critical: 'error', high: 'error', medium: 'warning', low: 'note', info: 'note' };

type Json = Record<string, unknown>;

/** A file path as SARIF wants it: relative with forward slashes under baseDir, else a file: URI. */
function artifactUri(file: string, baseDir: string): string {
  const rel = relative(baseDir, file);
  if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) return rel.split(sep).join('/');
  return pathToFileURL(file).href;
}

/** The file an evidence names, with its line (0 when none): an hba line, or a setting with its source file. */
function evidenceFile(e: Evidence): { file: string; line: number } | null {
  if (e.kind === 'file' && e.file !== '') return { file: e.file, line: e.line };
  if (e.kind === 'setting' && e.file !== undefined) return { file: e.file, line: e.line ?? 0 };
  return null;
}

/**
 * Where a result without a file is anchored. GitHub code scanning refuses a whole upload when one
 * result's location has no physicalLocation, so such results (a setting at its built-in default, a
 * catalog row, a probe) point at the configuration file the audit read settings from (where their
 * fix usually goes), else at any file it read, else at `postgresql.conf`; their logical location
 * says exactly what they are about.
 */
function fallbackFile(findings: readonly Finding[]): string | null {
  const all = findings.flatMap((f) => f.evidence);
  const setting = all.find((e) => e.kind === 'setting' && e.file !== undefined);
  const any = setting ?? all.find((e) => evidenceFile(e) !== null);
  return any ? evidenceFile(any)!.file : null;
}

function logical(e: Evidence): { name: string; kind: string } {
  switch (e.kind) {
    case 'setting': return { name: e.name, kind: 'variable' };
    case 'row': return { name: e.query, kind: 'resource' };
    case 'probe': return { name: e.target, kind: 'resource' };
    case 'file': return { name: e.file, kind: 'resource' };
  }
}

function location(e: Evidence, baseDir: string, fallback: string | null): Json {
  const at = evidenceFile(e);
  if (at) {
    const physicalLocation: Json = { artifactLocation: { uri: artifactUri(at.file, baseDir) } };
    if (at.line > 0) physicalLocation.region = { startLine: at.line };
    return { physicalLocation, message: { text: evidenceWhat(e) } };
  }
  const uri = fallback === null ? 'postgresql.conf' : artifactUri(fallback, baseDir);
  return { physicalLocation: { artifactLocation: { uri } }, logicalLocations: [logical(e)], message: { text: formatEvidence(e) } };
}

/** What identifies a finding across runs: its id and what the evidence names, not line numbers that move. */
function fingerprint(f: Finding, baseDir: string): string {
  const parts = f.evidence.map((e) => {
    switch (e.kind) {
      case 'file': return `file:${artifactUri(e.file, baseDir)}:${e.text.replace(/\s+/g, ' ').trim()}`;
      case 'setting': return `setting:${e.name}`;
      case 'row': return `row:${e.query}:${JSON.stringify(e.row)}`;
      case 'probe': return `probe:${e.target}`;
    }
  });
  return createHash('sha256').update([f.id, ...parts].join('\n')).digest('hex').slice(0, 32);
}

function message(f: Finding): string {
  const possible = f.confidence === 'possible' ? ' (possible: the facts alone cannot decide)' : '';
  return `${f.title}${possible}. Fix: ${f.remediation}`;
}

interface Rule { id: string; findings: Finding[]; worst: Severity }

function collectRules(findings: readonly Finding[]): Rule[] {
  const rules = new Map<string, Rule>();
  for (const f of findings) {
    const r = rules.get(f.id);
    if (!r) rules.set(f.id, { id: f.id, findings: [f], worst: f.severity });
    else {
      r.findings.push(f);
      if (SEVERITIES.indexOf(f.severity) < SEVERITIES.indexOf(r.worst)) r.worst = f.severity;
    }
  }
  return [...rules.values()];
}

function ruleDescriptor(r: Rule): Json {
  const first = r.findings[0]!;
  const name = checkTitle(first);
  const fixes = [...new Set(r.findings.map((f) => f.remediation))];
  const refs = [...new Set(r.findings.flatMap((f) => f.references))];
  const text = [`${name}.`, 'Fix:', ...fixes.map((x) => `- ${x}`), 'References:', ...refs.map((x) => `- ${x}`)].join('\n');
  const markdown = [`**${name}**`, '', 'Fix:', '', ...fixes.map((x) => `\`\`\`\n${x}\n\`\`\``), '', 'References:', '', ...refs.map((x) => `- ${x}`)].join('\n');
  return {
    id: r.id,
    name: r.id.replace(/-/g, '') + pascal(name),
    shortDescription: { text: name },
    fullDescription: { text: `${r.id}: ${name}. ${first.title}` },
    help: { text, markdown },
    ...(AUDIT_DOCS_URL ? { helpUri: `${AUDIT_DOCS_URL}#${r.id.startsWith('GH-PROBE-') ? 'outside-in-probe' : 'check-catalogue'}` } : {}),
    defaultConfiguration: { level: LEVEL[r.worst] },
    properties: { tags: ['security', 'postgresql', area(r.id)], 'security-severity': SECURITY_SEVERITY[r.worst], precision: 'high' },
  };
}

/** SARIF rule names are identifiers: `trust on a TCP line` → `TrustOnATcpLine`. */
function pascal(s: string): string {
  return s.split(/[^A-Za-z0-9]+/).filter(Boolean).map((w) => w[0]!.toUpperCase() + w.slice(1).toLowerCase()).join('');
}

/** `GH-HBA-003` → `hba`. */
const area = (id: string): string => (id.split('-')[1] ?? 'other').toLowerCase();

export function renderSarif({ context, result }: AuditReport, opts: SarifOptions = {}): string {
  const baseDir = opts.baseDir ?? process.cwd();
  const rules = collectRules(result.findings);
  const fallback = fallbackFile(result.findings);
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const results = result.findings.map((f) => ({
    ruleId: f.id,
    ruleIndex: index.get(f.id)!,
    level: LEVEL[f.severity],
    message: { text: message(f) },
    locations: f.evidence.slice(0, 10).map((e) => location(e, baseDir, fallback)),
    partialFingerprints: { 'gatehouseFinding/v1': fingerprint(f, baseDir) },
    properties: { severity: f.severity, confidence: f.confidence, references: f.references },
  }));
  const notifications = [
    ...context.warnings.map((w) => ({ level: 'warning', message: { text: w } })),
    ...result.skipped.map((s) => ({ level: 'note', descriptor: { id: s.id }, message: { text: `skipped ${s.id} ${s.title}: needs ${s.needs}` } })),
  ];
  const run = {
    tool: { driver: { name: 'gatehouse', ...(AUDIT_DOCS_URL ? { informationUri: AUDIT_DOCS_URL } : {}), semanticVersion: GATEHOUSE_VERSION, version: GATEHOUSE_VERSION, rules: rules.map(ruleDescriptor) } },
    invocations: [{ executionSuccessful: true, startTimeUtc: context.generatedAt, toolExecutionNotifications: notifications }],
    results,
    properties: {
      targets: context.targets,
      ...(context.releaseData ? { releaseData: context.releaseData } : {}),
      skipped: result.skipped,
      ...(result.tables && result.tables.length > 0 ? { tables: result.tables } : {}),
    },
  };
  const log = { $schema: 'https://json.schemastore.org/sarif-2.1.0.json', version: '2.1.0', runs: [run] };
  return `${JSON.stringify(log, null, 2)}\n`;
}
