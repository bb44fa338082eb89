/**
 * One tokenized pg_hba.conf record → one rule: a port of hba.c parse_hba_line(), checking fields in
 * the same order so the first error is the one PostgreSQL reports, in its words.
 */
import { networkInterfaces } from 'node:os';
import { cidrMask, formatIp, parseNumericHost, type IpAddress } from './ip.js';
import {
  applyOption, checkMandatoryOptions, LineFailure, newOptionState, viewOptions, type OptionContext, type OptionState,
} from './options.js';
import { compilePgRegex, PgRegexError } from './regex.js';
import type { HbaToken, TokenizedLine } from './tokenize.js';
import type {
  AddressMatcher, DatabaseMatcher, HbaBuildFeatures, HbaConnType, HbaEntry, HbaMethod, HbaRule, PgMajor, UserMatcher,
} from './types.js';

export interface ParseContext extends OptionContext {
  readonly sslEnabled: boolean;
  /** Interface names glibc accepts as an IPv6 `%scope`. */
  readonly interfaceNames: ReadonlySet<string>;
}

export function makeParseContext(version: PgMajor, build: HbaBuildFeatures, sslEnabled: boolean, oauth: readonly string[]): ParseContext {
  return { version, build, sslEnabled, oauthValidatorLibraries: oauth, interfaceNames: new Set(Object.keys(networkInterfaces())) };
}

/** What parse_hba_line() leaves behind besides the rule: the err_msg a warning put there. */
interface LineState {
  viewError: string | null;
}

const CONN_TYPES: readonly HbaConnType[] = ['local', 'host', 'hostssl', 'hostnossl', 'hostgssenc', 'hostnogssenc'];
const DB_KEYWORDS = ['all', 'sameuser', 'samerole', 'samegroup', 'replication'] as const;

/** Parses one line; `ruleNumber` is the number the rule gets if it loads. */
export function parseHbaLine(tl: TokenizedLine, ruleNumber: number, ctx: ParseContext): HbaEntry {
  const base = { file: tl.file, line: tl.line, text: tl.raw, fields: tl.fields };
  if (tl.error !== undefined) return { ...base, rule: null, error: tl.error, viewError: tl.error, viewOptions: [] };
  const state: LineState = { viewError: null };
  try {
    const { rule, options } = buildRule(tl, ruleNumber, ctx, state);
    return { ...base, rule, error: null, viewError: state.viewError, viewOptions: viewOptions(options) };
  } catch (err) {
    if (!(err instanceof LineFailure)) throw err;
    return { ...base, rule: null, error: err.message, viewError: err.viewMessage ?? state.viewError, viewOptions: [] };
  }
}

function buildRule(tl: TokenizedLine, ruleNumber: number, ctx: ParseContext, state: LineState): { rule: HbaRule; options: OptionState } {
  const fields = tl.fields;
  let f = 0;
  const type = connectionType(fields[f++] ?? [], ctx, state);
  const dbField = fields[f++];
  if (dbField === undefined) throw new LineFailure('end-of-line before database specification');
  const databases = dbField.map((t) => databaseMatcher(t, ctx));
  const userField = fields[f++];
  if (userField === undefined) throw new LineFailure('end-of-line before role specification');
  const users = userField.map((t) => userMatcher(t, ctx));
  let address: AddressMatcher | null = null;
  if (type !== 'local') {
    const parsed = addressMatcher(fields, f, ctx);
    address = parsed.address;
    f = parsed.next;
  }
  const method = authMethod(fields[f++], type, ctx);
  const options = newOptionState(method, type);
  for (const field of fields.slice(f)) for (const token of field) applyToken(options, token, ctx);
  if (checkMandatoryOptions(options, ctx).viewErrorCleared) state.viewError = null;
  const rule: HbaRule = Object.freeze({
    file: tl.file, line: tl.line, ruleNumber, text: tl.raw, type,
    databases: Object.freeze(databases), users: Object.freeze(users), address, method,
    options: Object.freeze({ ...options.raw }), clientcert: options.clientcert, map: options.map, clientname: options.clientname,
  });
  return { rule, options };
}

function connectionType(field: readonly HbaToken[], ctx: ParseContext, state: LineState): HbaConnType {
  if (field.length > 1) throw new LineFailure('multiple values specified for connection type');
  const text = field[0]?.text ?? '';
  const type = CONN_TYPES.find((t) => t === text);
  if (type === undefined) throw new LineFailure(`invalid connection type "${text}"`);
  // These two only warn: the line loads but cannot match (hba.c stores the text in err_msg anyway).
  if (type === 'hostssl' && !ctx.build.ssl) state.viewError = 'hostssl record cannot match because SSL is not supported by this build';
  else if (type === 'hostssl' && !ctx.sslEnabled) state.viewError = 'hostssl record cannot match because SSL is disabled';
  if (type === 'hostgssenc' && !ctx.build.gssapi) state.viewError = 'hostgssenc record cannot match because GSSAPI is not supported by this build';
  return type;
}

/** regcomp_auth_token(): any token starting with `/`, quoted or not (PostgreSQL 16+). */
function compileToken(token: HbaToken, ctx: ParseContext): RegExp | null {
  if (ctx.version < 16 || !token.text.startsWith('/')) return null;
  try {
    return compilePgRegex(token.text.slice(1));
  } catch (err) {
    if (!(err instanceof PgRegexError)) throw err;
    throw new LineFailure(`invalid regular expression "${token.text.slice(1)}": ${err.reason}`);
  }
}

function databaseMatcher(token: HbaToken, ctx: ParseContext): DatabaseMatcher {
  const regex = compileToken(token, ctx);
  const keyword = token.quoted ? undefined : DB_KEYWORDS.find((k) => k === token.text);
  if (keyword !== undefined) return Object.freeze({ kind: 'keyword', keyword, token });
  if (regex !== null) return Object.freeze({ kind: 'regex', regex, token });
  return Object.freeze({ kind: 'name', name: token.text, token });
}

function userMatcher(token: HbaToken, ctx: ParseContext): UserMatcher {
  const regex = compileToken(token, ctx);
  if (!token.quoted && token.text.startsWith('+')) return Object.freeze({ kind: 'member', role: token.text.slice(1), token });
  if (!token.quoted && token.text === 'all') return Object.freeze({ kind: 'all', token });
  if (regex !== null) return Object.freeze({ kind: 'regex', regex, token });
  return Object.freeze({ kind: 'name', name: token.text, token });
}

/** The ADDRESS field, and the separate netmask field when the address has no `/len`. */
function addressMatcher(fields: readonly (readonly HbaToken[])[], f: number, ctx: ParseContext): { address: AddressMatcher; next: number } {
  const field = fields[f];
  if (field === undefined) throw new LineFailure('end-of-line before IP address specification');
  if (field.length > 1) throw new LineFailure('multiple values specified for host address');
  const token = field[0] ?? { text: '', quoted: false };
  const keyword = token.quoted ? undefined : (['all', 'samehost', 'samenet'] as const).find((k) => k === token.text);
  if (keyword !== undefined) return { address: Object.freeze({ kind: keyword }), next: f + 1 };
  const slash = token.text.indexOf('/');
  const host = slash < 0 ? token.text : token.text.slice(0, slash);
  const ip = parseNumericHost(host, ctx.interfaceNames);
  if (ip === null) {
    // getaddrinfo(AI_NUMERICHOST) said EAI_NONAME: hba.c takes the text as a host name.
    if (slash >= 0) throw new LineFailure(`specifying both host name and CIDR mask is invalid: "${token.text}"`);
    return { address: Object.freeze({ kind: 'hostname', name: host }), next: f + 1 };
  }
  if (slash >= 0) {
    const mask = cidrMask(token.text.slice(slash + 1), ip.family);
    if (mask === null) throw new LineFailure(`invalid CIDR mask in address "${token.text}"`);
    return { address: ipMatcher(ip, mask), next: f + 1 };
  }
  return { address: ipMatcher(ip, netmaskField(fields[f + 1], ip, ctx)), next: f + 2 };
}

function netmaskField(field: readonly HbaToken[] | undefined, ip: IpAddress, ctx: ParseContext): bigint {
  if (field === undefined) throw new LineFailure('end-of-line before netmask specification');
  if (field.length > 1) throw new LineFailure('multiple values specified for netmask');
  const text = field[0]?.text ?? '';
  const mask = parseNumericHost(text, ctx.interfaceNames);
  if (mask === null) throw new LineFailure(`invalid IP mask "${text}": Name or service not known`);
  if (mask.family !== ip.family) throw new LineFailure('IP address and mask do not match');
  return mask.value;
}

function ipMatcher(ip: IpAddress, mask: bigint): AddressMatcher {
  return Object.freeze({
    kind: 'ip', family: ip.family, address: ip.value, mask,
    display: formatIp(ip), netmaskDisplay: formatIp({ family: ip.family, value: mask }),
  });
}

/** Method names in hba.c's order; the build decides which ones exist. */
function authMethod(field: readonly HbaToken[] | undefined, type: HbaConnType, ctx: ParseContext): HbaMethod {
  if (field === undefined) throw new LineFailure('end-of-line before authentication method');
  if (field.length > 1) throw new LineFailure('multiple values specified for authentication type');
  const name = field[0]?.text ?? '';
  const known = METHODS.find((m) => m === name && (m !== 'oauth' || ctx.version >= 18));
  if (known === undefined) throw new LineFailure(`invalid authentication method "${name}"`);
  const feature = BUILD_FEATURE[known];
  if (feature !== undefined && !ctx.build[feature]) {
    throw new LineFailure(`invalid authentication method "${name}": not supported by this build`);
  }
  // hba.c: "When using ident on local connections, change it to peer, for backwards compatibility."
  const method = type === 'local' && known === 'ident' ? 'peer' : known;
  if (type === 'local' && method === 'gss') throw new LineFailure('gssapi authentication is not supported on local sockets');
  if (type !== 'local' && method === 'peer') throw new LineFailure('peer authentication is only supported on local sockets');
  if (type !== 'hostssl' && method === 'cert') throw new LineFailure('cert authentication is only supported on hostssl connections');
  return method;
}

const METHODS: readonly HbaMethod[] = [
  'trust', 'ident', 'peer', 'password', 'gss', 'sspi', 'reject', 'md5', 'scram-sha-256', 'pam', 'bsd', 'ldap', 'cert', 'radius', 'oauth',
];
const BUILD_FEATURE: Partial<Record<HbaMethod, keyof HbaBuildFeatures>> = {
  gss: 'gssapi', sspi: 'sspi', pam: 'pam', bsd: 'bsd', ldap: 'ldap', cert: 'ssl',
};

function applyToken(options: OptionState, token: HbaToken, ctx: ParseContext): void {
  const eq = token.text.indexOf('=');
  if (eq < 0) throw new LineFailure(`authentication option not in name=value format: ${token.text}`);
  applyOption(options, token.text.slice(0, eq), token.text.slice(eq + 1), ctx);
}
