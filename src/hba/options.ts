/**
 * `name=value` authentication options: a port of hba.c parse_hba_auth_opt() and the mandatory-option
 * checks at the end of parse_hba_line(), with PostgreSQL's wording. Where hba.c logs a message but
 * leaves err_msg unset (pg_hba_file_rules then shows no error), {@link LineFailure.viewMessage} is null.
 */
import { parseLdapUrl } from './ldapurl.js';
import { parseNumericHost } from './ip.js';
import type { HbaBuildFeatures, HbaConnType, HbaMethod, PgMajor } from './types.js';

/** A refused line: `message` for our error list, `viewMessage` for what pg_hba_file_rules.error shows. */
export class LineFailure extends Error {
  constructor(message: string, readonly viewMessage: string | null = message) {
    super(message);
    this.name = 'LineFailure';
  }
}

/** The parsed options of one line (the HbaLine fields hba.c fills in). */
export interface OptionState {
  readonly method: HbaMethod;
  readonly type: HbaConnType;
  raw: Record<string, string>;
  map?: string;
  clientcert?: 'verify-ca' | 'verify-full';
  clientname: 'CN' | 'DN';
  pamservice?: string;
  ldaptls: boolean;
  ldapscheme?: string;
  ldapserver?: string;
  ldapport: number;
  ldapbinddn?: string;
  ldapbindpasswd?: string;
  ldapsearchattribute?: string;
  ldapsearchfilter?: string;
  ldapbasedn?: string;
  ldapscope: number;
  ldapprefix?: string;
  ldapsuffix?: string;
  krbRealm?: string;
  includeRealm: boolean;
  radius: Partial<Record<RadiusList, { list: string[]; text: string }>>;
  issuer?: string;
  scope?: string;
  validator?: string;
  delegateIdentMapping: boolean;
}

type RadiusList = 'radiusservers' | 'radiussecrets' | 'radiusidentifiers' | 'radiusports';

export interface OptionContext {
  readonly version: PgMajor;
  readonly build: HbaBuildFeatures;
  readonly oauthValidatorLibraries: readonly string[];
}

/** LDAP_SCOPE_SUBTREE: hba.c resets ldapscope to it before *every* option when built with LDAP. */
const LDAP_SCOPE_SUBTREE = 2;

export function newOptionState(method: HbaMethod, type: HbaConnType): OptionState {
  return {
    method, type, raw: {}, clientname: 'CN', ldaptls: false, ldapport: 0, ldapscope: 0,
    // hba.c: include_realm defaults to true for gss and sspi.
    includeRealm: method === 'gss' || method === 'sspi', radius: {}, delegateIdentMapping: false,
  };
}

/** INVALID_AUTH_OPTION / REQUIRE_AUTH_OPTION. */
function requireMethod(s: OptionState, name: string, methods: readonly HbaMethod[], label: string): void {
  if (methods.includes(s.method)) return;
  throw new LineFailure(`authentication option "${name}" is only valid for authentication methods ${label}`);
}

/** Applies one `name=value` token to `s` (parse_hba_auth_opt). */
export function applyOption(s: OptionState, name: string, val: string, ctx: OptionContext): void {
  if (ctx.build.ldap) s.ldapscope = LDAP_SCOPE_SUBTREE;
  s.raw[name] = val;
  const handler = HANDLERS[name];
  const oauthOnly = ['issuer', 'scope', 'validator', 'delegate_ident_mapping'].includes(name);
  if (handler === undefined || (oauthOnly && ctx.version < 18)) {
    throw new LineFailure(`unrecognized authentication option name: "${name}"`);
  }
  handler(s, val, ctx);
}

type Handler = (s: OptionState, val: string, ctx: OptionContext) => void;

const setLdap = (key: 'ldapserver' | 'ldapbinddn' | 'ldapbindpasswd' | 'ldapsearchattribute' | 'ldapsearchfilter' | 'ldapbasedn' | 'ldapprefix' | 'ldapsuffix'): Handler =>
  (s, val) => {
    requireMethod(s, key, ['ldap'], 'ldap');
    s[key] = val;
  };

const HANDLERS: Readonly<Record<string, Handler>> = {
  map: (s, val, ctx) => {
    const oauth = ctx.version >= 18;
    const methods: HbaMethod[] = ['ident', 'peer', 'gss', 'sspi', 'cert', ...(oauth ? ['oauth' as const] : [])];
    requireMethod(s, 'map', methods, oauth ? 'ident, peer, gssapi, sspi, cert, and oauth' : 'ident, peer, gssapi, sspi, and cert');
    s.map = val;
  },
  clientcert: (s, val) => {
    if (s.type !== 'hostssl') throw new LineFailure('clientcert can only be configured for "hostssl" rows');
    if (val === 'verify-full') s.clientcert = 'verify-full';
    else if (val === 'verify-ca') {
      // hba.c logs one wording and stores another in err_msg; the view shows the stored one.
      if (s.method === 'cert') throw new LineFailure('clientcert can only be set to "verify-full" when using "cert" authentication');
      s.clientcert = 'verify-ca';
    } else throw new LineFailure(`invalid value for clientcert: "${val}"`, null);
  },
  clientname: (s, val) => {
    if (s.type !== 'hostssl') throw new LineFailure('clientname can only be configured for "hostssl" rows');
    if (val !== 'CN' && val !== 'DN') throw new LineFailure(`invalid value for clientname: "${val}"`, null);
    s.clientname = val;
  },
  pamservice: (s, val) => {
    requireMethod(s, 'pamservice', ['pam'], 'pam');
    s.pamservice = val;
  },
  pam_use_hostname: (s) => requireMethod(s, 'pam_use_hostname', ['pam'], 'pam'),
  ldapurl: (s, val) => {
    requireMethod(s, 'ldapurl', ['ldap'], 'ldap');
    applyLdapUrl(s, val);
  },
  ldaptls: (s, val) => {
    requireMethod(s, 'ldaptls', ['ldap'], 'ldap');
    s.ldaptls = val === '1';
  },
  // An unknown scheme is only logged ("invalid ldapscheme value"); the line still loads.
  ldapscheme: (s, val) => {
    requireMethod(s, 'ldapscheme', ['ldap'], 'ldap');
    s.ldapscheme = val;
  },
  ldapport: (s, val) => {
    requireMethod(s, 'ldapport', ['ldap'], 'ldap');
    s.ldapport = atoi(val);
    if (s.ldapport === 0) throw new LineFailure(`invalid LDAP port number: "${val}"`);
  },
  ldapserver: setLdap('ldapserver'), ldapbinddn: setLdap('ldapbinddn'), ldapbindpasswd: setLdap('ldapbindpasswd'),
  ldapsearchattribute: setLdap('ldapsearchattribute'), ldapsearchfilter: setLdap('ldapsearchfilter'),
  ldapbasedn: setLdap('ldapbasedn'), ldapprefix: setLdap('ldapprefix'), ldapsuffix: setLdap('ldapsuffix'),
  krb_realm: (s, val) => {
    requireMethod(s, 'krb_realm', ['gss', 'sspi'], 'gssapi and sspi');
    s.krbRealm = val;
  },
  include_realm: (s, val) => {
    requireMethod(s, 'include_realm', ['gss', 'sspi'], 'gssapi and sspi');
    s.includeRealm = val === '1';
  },
  compat_realm: (s) => requireMethod(s, 'compat_realm', ['sspi'], 'sspi'),
  upn_username: (s) => requireMethod(s, 'upn_username', ['sspi'], 'sspi'),
  radiusservers: (s, val) => {
    requireMethod(s, 'radiusservers', ['radius'], 'radius');
    const list = splitGucList(val);
    if (list === null) throw new LineFailure(`could not parse RADIUS server list "${val}"`, null);
    // hba.c resolves each name with getaddrinfo() here; we can only check numeric ones (see lint notes).
    s.radius.radiusservers = { list, text: val };
  },
  radiusports: (s, val) => {
    requireMethod(s, 'radiusports', ['radius'], 'radius');
    const list = splitGucList(val);
    // hba.c's err_msg for an unparsable list reuses the port-number wording.
    if (list === null) throw new LineFailure(`could not parse RADIUS port list "${val}"`, `invalid RADIUS port number: "${val}"`);
    if (list.some((p) => atoi(p) === 0)) throw new LineFailure(`invalid RADIUS port number: "${val}"`, null);
    s.radius.radiusports = { list, text: val };
  },
  radiussecrets: (s, val) => radiusList(s, 'radiussecrets', val, 'secret'),
  radiusidentifiers: (s, val) => radiusList(s, 'radiusidentifiers', val, 'identifiers'),
  issuer: (s, val) => {
    requireMethod(s, 'issuer', ['oauth'], 'oauth');
    s.issuer = val;
  },
  scope: (s, val) => {
    requireMethod(s, 'scope', ['oauth'], 'oauth');
    s.scope = val;
  },
  validator: (s, val) => {
    requireMethod(s, 'validator', ['oauth'], 'oauth');
    s.validator = val;
  },
  delegate_ident_mapping: (s, val) => {
    requireMethod(s, 'delegate_ident_mapping', ['oauth'], 'oauth');
    s.delegateIdentMapping = val === '1';
  },
};

function radiusList(s: OptionState, name: 'radiussecrets' | 'radiusidentifiers', val: string, what: string): void {
  requireMethod(s, name, ['radius'], 'radius');
  const list = splitGucList(val);
  if (list === null) throw new LineFailure(`could not parse RADIUS ${what} list "${val}"`, null);
  s.radius[name] = { list, text: val };
}

function applyLdapUrl(s: OptionState, val: string): void {
  const url = parseLdapUrl(val);
  if ('error' in url) throw new LineFailure(`could not parse LDAP URL "${val}": ${url.error}`);
  if (url.scheme !== 'ldap' && url.scheme !== 'ldaps') throw new LineFailure(`unsupported LDAP URL scheme: ${url.scheme}`);
  s.ldapscheme = url.scheme;
  if (url.host !== undefined) s.ldapserver = url.host;
  s.ldapport = url.port;
  if (url.dn !== undefined) s.ldapbasedn = url.dn;
  if (url.attribute !== undefined) s.ldapsearchattribute = url.attribute;
  s.ldapscope = url.scope;
  if (url.filter !== undefined) s.ldapsearchfilter = url.filter;
}

/** C atoi(): leading white space, optional sign, digits; anything unparsable is 0. */
export function atoi(text: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?[0-9]+)/.exec(text);
  return m?.[1] === undefined ? 0 : Number.parseInt(m[1], 10) | 0;
}

/** varlena.c SplitGUCList(): comma list, `"…"` quoting with `""`, no empty elements; null on syntax error. */
export function splitGucList(raw: string): string[] | null {
  const isSpace = (c: string | undefined): boolean => c !== undefined && ' \t\n\r\f\v'.includes(c);
  let i = 0;
  while (isSpace(raw[i])) i++;
  if (i >= raw.length) return [];
  const out: string[] = [];
  for (;;) {
    let name: string;
    if (raw[i] === '"') {
      const m = /^"((?:[^"]|"")*)"/.exec(raw.slice(i));
      if (!m) return null;
      name = (m[1] ?? '').replaceAll('""', '"');
      i += m[0].length;
    } else {
      const start = i;
      while (i < raw.length && raw[i] !== ',' && !isSpace(raw[i])) i++;
      if (i === start) return null;
      name = raw.slice(start, i);
    }
    while (isSpace(raw[i])) i++;
    out.push(name);
    if (i >= raw.length) return out;
    if (raw[i] !== ',') return null;
    i++;
    while (isSpace(raw[i])) i++;
  }
}

/** The checks at the end of parse_hba_line(), in hba.c's order. */
export function checkMandatoryOptions(s: OptionState, ctx: OptionContext): { viewErrorCleared: boolean } {
  if (s.method === 'ldap') checkLdap(s, ctx);
  if (s.method === 'radius') checkRadius(s);
  if (s.method === 'cert') s.clientcert = 'verify-full';
  if (s.method === 'oauth') return checkOauth(s, ctx);
  return { viewErrorCleared: false };
}

function checkLdap(s: OptionState, ctx: OptionContext): void {
  if (s.ldapprefix !== undefined || s.ldapsuffix !== undefined) {
    if ([s.ldapbasedn, s.ldapbinddn, s.ldapbindpasswd, s.ldapsearchattribute, s.ldapsearchfilter].some((v) => v !== undefined)) {
      throw new LineFailure(ctx.version >= 18 ? 'cannot mix options for simple bind and search+bind modes'
        : 'cannot use ldapbasedn, ldapbinddn, ldapbindpasswd, ldapsearchattribute, ldapsearchfilter, or ldapurl together with ldapprefix');
    }
  } else if (s.ldapbasedn === undefined) {
    throw new LineFailure('authentication method "ldap" requires argument "ldapbasedn", "ldapprefix", or "ldapsuffix" to be set');
  }
  if (s.ldapsearchattribute !== undefined && s.ldapsearchfilter !== undefined) {
    throw new LineFailure('cannot use ldapsearchattribute together with ldapsearchfilter');
  }
}

const requires = (method: string, arg: string): LineFailure =>
  new LineFailure(`authentication method "${method}" requires argument "${arg}" to be set`);

function checkRadius(s: OptionState): void {
  const count = (k: RadiusList): number => s.radius[k]?.list.length ?? 0;
  // An empty list is NIL, i.e. NULL, so it fails MANDATORY_AUTH_ARG rather than the "cannot be empty" checks.
  if (count('radiusservers') === 0) throw requires('radius', 'radiusservers');
  if (count('radiussecrets') === 0) throw requires('radius', 'radiussecrets');
  const servers = count('radiusservers');
  for (const [k, what, zeroOk] of [['radiussecrets', 'secrets', false], ['radiusports', 'ports', true], ['radiusidentifiers', 'identifiers', true]] as const) {
    const n = count(k);
    if ((zeroOk && n === 0) || n === 1 || n === servers) continue;
    throw new LineFailure(`the number of RADIUS ${what} (${n}) must be 1 or the same as the number of RADIUS servers (${servers})`);
  }
}

/** MANDATORY scope and issuer, then auth-oauth.c check_oauth_validator() (which clears err_msg first). */
function checkOauth(s: OptionState, ctx: OptionContext): { viewErrorCleared: boolean } {
  if (s.scope === undefined) throw requires('oauth', 'scope');
  if (s.issuer === undefined) throw requires('oauth', 'issuer');
  const libs = ctx.oauthValidatorLibraries;
  if (libs.length === 0) {
    throw new LineFailure('oauth_validator_libraries must be set for authentication method oauth');
  }
  if (s.validator === undefined) {
    if (libs.length !== 1) {
      throw new LineFailure('authentication method "oauth" requires argument "validator" to be set when oauth_validator_libraries contains multiple options');
    }
    s.validator = libs[0];
  } else if (!libs.includes(s.validator)) {
    throw new LineFailure(`validator "${s.validator}" is not permitted by oauth_validator_libraries`);
  }
  if (s.delegateIdentMapping && s.map !== undefined) {
    throw new LineFailure('map cannot be used in combination with delegate_ident_mapping');
  }
  return { viewErrorCleared: true };
}

/** hbafuncs.c gethba_options(): the options column of pg_hba_file_rules, in its order. */
export function viewOptions(s: OptionState): string[] {
  const out: string[] = [];
  const add = (cond: unknown, text: string): void => {
    if (cond !== undefined && cond !== false && cond !== 0) out.push(text);
  };
  if (s.method === 'gss' || s.method === 'sspi') {
    add(s.includeRealm, 'include_realm=true');
    add(s.krbRealm, `krb_realm=${s.krbRealm ?? ''}`);
  }
  add(s.map, `map=${s.map ?? ''}`);
  add(s.clientcert, `clientcert=${s.clientcert ?? ''}`);
  add(s.pamservice, `pamservice=${s.pamservice ?? ''}`);
  if (s.method === 'ldap') {
    add(s.ldapserver, `ldapserver=${s.ldapserver ?? ''}`);
    add(s.ldapport, `ldapport=${s.ldapport}`);
    add(s.ldapscheme, `ldapscheme=${s.ldapscheme ?? ''}`);
    add(s.ldaptls, 'ldaptls=true');
    for (const k of ['ldapprefix', 'ldapsuffix', 'ldapbasedn', 'ldapbinddn', 'ldapbindpasswd', 'ldapsearchattribute', 'ldapsearchfilter'] as const) {
      add(s[k], `${k}=${s[k] ?? ''}`);
    }
    add(s.ldapscope, `ldapscope=${s.ldapscope}`);
  }
  if (s.method === 'radius') {
    for (const k of ['radiusservers', 'radiussecrets', 'radiusidentifiers', 'radiusports'] as const) {
      add(s.radius[k], `${k}=${s.radius[k]?.text ?? ''}`);
    }
  }
  if (s.method === 'oauth') {
    add(s.issuer, `issuer=${s.issuer ?? ''}`);
    add(s.scope, `scope=${s.scope ?? ''}`);
    add(s.validator, `validator=${s.validator ?? ''}`);
    add(s.delegateIdentMapping, 'delegate_ident_mapping=true');
  }
  return out;
}

/** True when every RADIUS server is a numeric address (hba.c would resolve names; we cannot, synchronously). */
export function radiusServersAreNumeric(s: OptionState): boolean {
  return (s.radius.radiusservers?.list ?? []).every((h) => parseNumericHost(h) !== null);
}
