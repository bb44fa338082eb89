/**
 * The pg_hba.conf rule model. Rules are frozen once parsed and keep file, line, rule number and the
 * raw line text, so every decision can say which line made it.
 */
import type { IpFamily } from './ip.js';
import type { HbaIssue, HbaToken, PgMajor } from './tokenize.js';

export type { HbaIssue, HbaToken, PgMajor } from './tokenize.js';

export type HbaConnType = 'local' | 'host' | 'hostssl' | 'hostnossl' | 'hostgssenc' | 'hostnogssenc';

/** Authentication methods as hba.c spells them (`ident` on a local line is already `peer`). */
export type HbaMethod =
  | 'trust' | 'reject' | 'scram-sha-256' | 'md5' | 'password' | 'gss' | 'sspi' | 'ident' | 'peer'
  | 'ldap' | 'radius' | 'cert' | 'pam' | 'bsd' | 'oauth';

/**
 * One entry of the DATABASE field. Keywords count only when unquoted; `/regex` stays a regex even
 * when quoted (hba.c regcomp_auth_token looks only at the first character).
 */
export type DatabaseMatcher =
  | { readonly kind: 'keyword'; readonly keyword: 'all' | 'sameuser' | 'samerole' | 'samegroup' | 'replication'; readonly token: HbaToken }
  | { readonly kind: 'regex'; readonly regex: RegExp; readonly token: HbaToken }
  | { readonly kind: 'name'; readonly name: string; readonly token: HbaToken };

/** One entry of the USER field: `all` and `+role` only when unquoted. */
export type UserMatcher =
  | { readonly kind: 'all'; readonly token: HbaToken }
  | { readonly kind: 'member'; readonly role: string; readonly token: HbaToken }
  | { readonly kind: 'regex'; readonly regex: RegExp; readonly token: HbaToken }
  | { readonly kind: 'name'; readonly name: string; readonly token: HbaToken };

/** The ADDRESS field of a host* line. */
export type AddressMatcher =
  | { readonly kind: 'all' }
  | { readonly kind: 'samehost' }
  | { readonly kind: 'samenet' }
  | {
    readonly kind: 'ip';
    readonly family: IpFamily;
    /** Address and mask bits; host bits of `address` are kept, as PostgreSQL keeps them. */
    readonly address: bigint;
    readonly mask: bigint;
    /** As pg_hba_file_rules shows them (getnameinfo NI_NUMERICHOST). */
    readonly display: string;
    readonly netmaskDisplay: string;
  }
  /** Anything that is not a numeric address. A leading `.` is a suffix match. */
  | { readonly kind: 'hostname'; readonly name: string };

export interface HbaRule {
  readonly file: string;
  /** First physical line of the record. */
  readonly line: number;
  /** 1-based position among the loaded rules. */
  readonly ruleNumber: number;
  /** The logical line, continuations joined (what PostgreSQL quotes in "Connection matched …"). */
  readonly text: string;
  readonly type: HbaConnType;
  readonly databases: readonly DatabaseMatcher[];
  readonly users: readonly UserMatcher[];
  /** null on `local` lines. */
  readonly address: AddressMatcher | null;
  readonly method: HbaMethod;
  /** `name=value` options as written (the value is everything after the first `=`; the last one wins). */
  readonly options: Readonly<Record<string, string>>;
  /** The client certificate check: `cert` lines imply verify-full; otherwise from `clientcert=`. */
  readonly clientcert: 'verify-ca' | 'verify-full' | undefined;
  /** `map=` (ident, peer, gss, sspi, cert, oauth). */
  readonly map: string | undefined;
  /** `clientname=`: which certificate field names the user; CN unless DN is given. */
  readonly clientname: 'CN' | 'DN';
}

export interface HbaRuleSet {
  /** The top-level file. */
  readonly file: string;
  readonly rules: readonly HbaRule[];
  /** Some rule names a host; the gateway must resolve the client's host name (resolveClientHostname). */
  readonly needsHostname: boolean;
  /** Some rule uses `+role` or samerole; evaluation needs `attempt.isMember`. */
  readonly needsMembership: boolean;
  /** PostgreSQL's non-fatal messages: skipped `include_if_exists`, hostssl without SSL, … */
  readonly notes: readonly string[];
}

/** Which optional parts the PostgreSQL server was built with; "not supported by this build" otherwise. */
export interface HbaBuildFeatures {
  readonly ssl: boolean;
  readonly gssapi: boolean;
  readonly sspi: boolean;
  readonly pam: boolean;
  readonly bsd: boolean;
  readonly ldap: boolean;
}

/** A Linux build from PGDG or Debian: SSL, GSSAPI, PAM and LDAP; no BSD auth, no SSPI. */
export const LINUX_BUILD: HbaBuildFeatures = Object.freeze({ ssl: true, gssapi: true, sspi: false, pam: true, bsd: false, ldap: true });

export interface HbaParseOptions {
  /** Which PostgreSQL's rules to apply (default 18). 15 has no include directives, no regexes, no oauth. */
  readonly pgVersion?: PgMajor;
  /** The server's `ssl` setting (default true). When false, hostssl lines load but cannot match. */
  readonly sslEnabled?: boolean;
  /** Build features (default {@link LINUX_BUILD}). */
  readonly build?: Partial<HbaBuildFeatures>;
  /** `oauth_validator_libraries` (default empty, which makes every oauth line an error, as in PostgreSQL 18). */
  readonly oauthValidatorLibraries?: readonly string[];
}

/** One record as PostgreSQL sees it: parsed into a rule, or refused with a message. */
export interface HbaEntry {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  readonly fields: readonly (readonly HbaToken[])[];
  /** Set when the line loads (it may still carry a warning). */
  readonly rule: HbaRule | null;
  /** Why PostgreSQL refuses this line (its err_msg, or its log message where it keeps none). */
  readonly error: string | null;
  /** What pg_hba_file_rules.error shows: PostgreSQL sometimes keeps a warning here, sometimes nothing. */
  readonly viewError: string | null;
  /** pg_hba_file_rules.options for a parsed line. */
  readonly viewOptions: readonly string[];
}

/** Everything hba.c learns from a file, errors included. */
export interface HbaCompileResult {
  readonly file: string;
  readonly entries: readonly HbaEntry[];
  readonly errors: readonly HbaIssue[];
  readonly notes: readonly HbaIssue[];
  readonly ruleSet: HbaRuleSet;
}
