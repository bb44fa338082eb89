/**
 * The inspector's shared shapes (issue 3): collectors gather {@link Facts}; each check is a pure
 * function from facts to findings, one file a check under checks/; reports render findings.
 */

export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info';
export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low', 'info'];

/** Where a finding's evidence comes from: a file line, a setting, a catalog row, or a probe result. */
export type Evidence =
  | { kind: 'file'; file: string; line: number; text: string }
  | { kind: 'setting'; name: string; value: string; file?: string; line?: number; source?: string }
  | { kind: 'row'; query: string; row: Record<string, unknown> }
  | { kind: 'probe'; target: string; detail: string };

export interface Finding {
  /** Stable id, `GH-<AREA>-<NNN>` (GH-HBA-003). */
  id: string;
  title: string;
  severity: Severity;
  /** certain, or possible when the facts cannot decide (hostnames, samenet, regex, groups). */
  confidence: 'certain' | 'possible';
  evidence: Evidence[];
  /** The exact fix: a config line, SQL, or a command. */
  remediation: string;
  /** Seed tip, CIS section, STIG id. */
  references: string[];
}

/** A check that could not run with what was collected, and what it needs. */
export interface Skipped {
  id: string;
  title: string;
  /** e.g. "superuser or pg_read_all_settings", "the pg_hba.conf file". */
  needs: string;
}

/** Everything the collectors found. Every part is optional: a check uses what is there or skips. */
export interface Facts {
  /** postgresql.conf settings, last value wins, with where each came from. */
  settings?: Map<string, { value: string; file?: string; line?: number; source?: string }>;
  /** Lines of postgresql.conf (and what it includes) that PostgreSQL would refuse, with file:line. */
  confErrors?: { file: string; line: number; message: string }[];
  /** The server's pg_hba.conf, parsed by src/hba (path plus compile result). */
  hba?: { path: string; result: import('../hba/index.js').HbaCompileResult };
  /** server_version_num, when known. */
  serverVersionNum?: number;
  /** What an outside scanner saw (--probe). */
  probe?: ProbeFacts;
  /** Catalog rows (live mode); each key is one query's result. */
  catalog?: Record<string, Record<string, unknown>[]>;
  /** Privileges the live connection had (to explain skipped checks). */
  privileges?: { superuser: boolean; roles: string[] };
}

export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/** The server's first answer to a StartupMessage for the probe user (no password is ever sent). */
export interface ProbeAuth {
  user: string;
  method: 'scram-sha-256' | 'scram-sha-256-plus' | 'md5' | 'password' | 'trust' | 'other' | 'refused';
  detail: string;
}

export interface ProbeFacts {
  target: string;
  plaintextAccepted: boolean | null;
  /** TLS versions the server accepted; null when this client could not offer the version. */
  tlsVersions: Partial<Record<TlsVersion, boolean | null>>;
  directTls: boolean | null;
  certificate?: {
    subject: string;
    issuer: string;
    selfSigned: boolean;
    validTo: string;
    daysLeft: number;
    hostnameMatches: boolean | null;
    keyBits?: number;
    keyType?: string;
    signatureAlgorithm?: string;
    /** EC keys: the named curve. */
    keyCurve?: string;
  };
  /** The auth request the server answered for --probe-user: over TLS when TLS works, else plaintext. */
  auth?: ProbeAuth;
  /** The auth request over plaintext, when plaintext was accepted. */
  plaintextAuth?: ProbeAuth;
  /** The answer to SSLRequest: 'S' (TLS offered), 'N' (no TLS) or anything else. */
  sslResponse?: 'S' | 'N' | 'other';
}

/** A table a report shows beside the findings (the least-privilege summary: role → from where → powers). */
export interface ReportTable {
  id: string;
  title: string;
  columns: string[];
  rows: string[][];
  /** What the table cannot know, said plainly. */
  note?: string;
}

export interface CheckResult {
  findings: Finding[];
  skipped: Skipped[];
  /** Tables some checks add (optional; most checks have none). */
  tables?: ReportTable[];
}

/** What was audited and how, for a report's heading. Never carries a password. */
export interface ReportContext {
  /** Each thing audited: a file, a live connection (without its password), a probe target. */
  targets: string[];
  /** ISO time the audit ran. */
  generatedAt: string;
  /** The release table the patching checks used: its date and where it came from. */
  releaseData?: { asOf: string; source: string };
  /** Non-fatal problems met while collecting (file:line: message). */
  warnings: string[];
}

/** One check: pure, deterministic, no I/O. */
export interface Check {
  id: string;
  title: string;
  run(facts: Facts): CheckResult;
}
