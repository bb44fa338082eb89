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
  /** What the catalog says (live mode); each part is absent when it could not be read. */
  catalog?: CatalogFacts;
  /** Privileges the live connection had (to explain skipped checks). */
  privileges?: { user: string; superuser: boolean; roles: string[] };
  /** Where `settings` came from: files (offline: a setting they do not set has its default) or the server (live: a missing one is hidden from this role). */
  settingsFrom?: 'files' | 'server';
  /** Live mode: why a fact is missing, by fact name (`hba`, `secrets`, `certificate`, …): what reading it needs. */
  unavailable?: Record<string, string>;
  /** The release table the patching checks compare server_version_num with. */
  releases?: ReleaseTable;
  /** When the facts were collected (ISO); checks never read the clock. */
  now?: string;
}

/** pg_roles, one row a role (pg_* predefined roles excluded). */
export interface RoleFact {
  name: string;
  superuser: boolean;
  createrole: boolean;
  createdb: boolean;
  canLogin: boolean;
  replication: boolean;
  bypassrls: boolean;
  /** rolvaliduntil as text: null (never expires), 'infinity', or a timestamp. */
  validUntil: string | null;
  /** Roles it is a direct member of. */
  memberOf: string[];
  /** The bootstrap superuser (oid 10), made by initdb. */
  bootstrap: boolean;
}

/** What kind of secret pg_authid holds for a role; the secret itself is never fetched. */
export interface SecretFact {
  role: string;
  kind: 'none' | 'md5' | 'scram' | 'other';
  /** SCRAM iteration count. */
  iterations: number | null;
}

/** A count and the first few names (catalog results are aggregated on the server, never returned in bulk). */
export interface Sample<T> {
  count: number;
  sample: T[];
}

export interface CatalogFacts {
  /** The database the live connection audited (per-database facts come from it). */
  database: string;
  roles?: RoleFact[];
  /** pg_authid (superuser only). */
  secrets?: SecretFact[];
  /** pg_extension of the audited database. */
  extensions?: string[];
  /** pg_stat_archiver (timestamps as ISO text). */
  archiver?: { archivedCount: number; lastArchivedTime: string | null; failedCount: number; lastFailedTime: string | null; lastFailedWal: string | null };
  /** Schemas of the audited database where PUBLIC has CREATE. */
  publicCreateSchemas?: { schema: string; owner: string; acl: string | null }[];
  /** Databases (not templates) and what PUBLIC may do there; acl null means PostgreSQL's default (PUBLIC has CONNECT and TEMP). */
  databases?: { name: string; acl: string | null; publicConnect: boolean; publicTemp: boolean }[];
  /** Tables, views and sequences in user schemas with privileges granted to PUBLIC. */
  publicTables?: Sample<{ name: string; privileges: string }>;
  /** SECURITY DEFINER functions in user schemas without `SET search_path` (extension members excluded). */
  unpinnedDefiners?: Sample<{ name: string; owner: string; publicExecute: boolean }>;
  /** Roles that own objects in the audited database (schemas, relations, functions) or own a database. */
  owners?: { role: string; objects: number }[];
  /** The server certificate (ssl_cert_file), when it could be read. */
  certificate?: { file: string; subject: string; validTo: string };
  /** ssl_key_file's mode bits, when the audit runs on the server's host and can stat it. */
  keyFile?: { file: string; mode: number; ownerIsRoot: boolean };
}

/** The bundled (or --release-data) table of PostgreSQL majors. */
export interface ReleaseTable {
  /** The date the table was last checked against postgresql.org. */
  asOf: string;
  source: string;
  majors: Record<string, { latestMinor: number; latestReleased: string; eol: string }>;
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
