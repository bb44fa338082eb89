/**
 * libpq connection strings for `gatehouse audit CONNINFO`: a `postgresql://` URI or `key=value`
 * pairs (fe-connect.c conninfo_parse / conninfo_uri_parse), with the PG* environment variables and
 * the password file as libpq uses them. Errors use libpq's wording. The password never leaves
 * {@link ConnParams.password}: {@link describeTarget} is what reports show.
 */
import { readFileSync, statSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
const SSL_MODES: readonly string[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

/** The connection, resolved: conninfo over environment over libpq's defaults. */
export interface ConnParams {
  host: string;
  port: number;
  user: string;
  dbname: string;
  password?: string;
  sslmode: SslMode;
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
  /** Seconds; 0 or absent waits forever in libpq, here it means 10 s. */
  connectTimeout: number;
  applicationName: string;
}

/** Every keyword libpq 18 knows; the ones gatehouse does not use are accepted and ignored, as unknown ones are errors. */
const KEYWORDS = new Set([
  'host', 'hostaddr', 'port', 'dbname', 'user', 'password', 'passfile', 'connect_timeout', 'client_encoding', 'options',
  'application_name', 'fallback_application_name', 'keepalives', 'keepalives_idle', 'keepalives_interval', 'keepalives_count',
  'tcp_user_timeout', 'replication', 'sslmode', 'sslnegotiation', 'sslcompression', 'sslcert', 'sslkey', 'sslpassword',
  'sslcertmode', 'sslrootcert', 'sslcrl', 'sslcrldir', 'sslsni', 'requirepeer', 'ssl_min_protocol_version',
  'ssl_max_protocol_version', 'gssencmode', 'krbsrvname', 'gsslib', 'gssdelegation', 'target_session_attrs', 'load_balance_hosts',
  'channel_binding', 'require_auth', 'service', 'min_protocol_version', 'max_protocol_version', 'scram_client_key', 'scram_server_key',
  'oauth_issuer', 'oauth_client_id', 'oauth_client_secret', 'oauth_scope',
]);

const ENV: Readonly<Record<string, string>> = {
  host: 'PGHOST', hostaddr: 'PGHOSTADDR', port: 'PGPORT', dbname: 'PGDATABASE', user: 'PGUSER', password: 'PGPASSWORD',
  passfile: 'PGPASSFILE', sslmode: 'PGSSLMODE', sslrootcert: 'PGSSLROOTCERT', sslcert: 'PGSSLCERT', sslkey: 'PGSSLKEY',
  connect_timeout: 'PGCONNECT_TIMEOUT', application_name: 'PGAPPNAME',
};

export class ConninfoError extends Error {
  override name = 'ConninfoError';
}

/** Parses a URI or key=value string into keyword → value (no defaults applied). */
export function parseConninfo(text: string): Map<string, string> {
  return /^postgres(?:ql)?:\/\//.test(text) ? parseUri(text) : parseKeywordValue(text);
}

/** fe-connect.c conninfo_parse: `key = value`, values single-quoted or bare, backslash escapes either way. */
function parseKeywordValue(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  const space = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);
  while (i < text.length) {
    while (space(text[i])) i++;
    if (i >= text.length) break;
    const start = i;
    while (i < text.length && text[i] !== '=' && !space(text[i])) i++;
    const key = text.slice(start, i);
    while (space(text[i])) i++;
    if (text[i] !== '=') throw new ConninfoError(`missing "=" after "${key}" in connection info string`);
    i++;
    while (space(text[i])) i++;
    let value = '';
    if (text[i] === "'") {
      i++;
      for (;;) {
        if (i >= text.length) throw new ConninfoError('unterminated quoted string in connection info string');
        const c = text[i++]!;
        if (c === "'") break;
        if (c === '\\' && i < text.length) value += text[i++]!;
        else value += c;
      }
    } else {
      while (i < text.length && !space(text[i])) {
        const c = text[i++]!;
        if (c === '\\' && i < text.length) value += text[i++]!;
        else value += c;
      }
    }
    if (!KEYWORDS.has(key)) throw new ConninfoError(`invalid connection option "${key}"`);
    out.set(key, value);
  }
  return out;
}

function decode(token: string): string {
  try {
    return decodeURIComponent(token);
  } catch {
    throw new ConninfoError(`invalid percent-encoded token: "${token}"`);
  }
}

/** conninfo_uri_parse: postgresql://[user[:password]@][host][:port][/dbname][?param=value&…]. */
function parseUri(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const m = /^postgres(?:ql)?:\/\/([^/?]*)(?:\/([^?]*))?(?:\?(.*))?$/s.exec(text);
  if (!m) throw new ConninfoError(`invalid URI: "${text.replace(/:[^@/]*@/, ':…@')}"`);
  let authority = m[1] ?? '';
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    authority = authority.slice(at + 1);
    const colon = userinfo.indexOf(':');
    const user = colon >= 0 ? userinfo.slice(0, colon) : userinfo;
    if (user !== '') out.set('user', decode(user));
    if (colon >= 0) out.set('password', decode(userinfo.slice(colon + 1)));
  }
  if (authority.includes(',')) throw new ConninfoError('gatehouse audit connects to one host: give a single host in the URI');
  const hp = /^(?:\[([^\]]*)\]|([^:]*))(?::(.*))?$/.exec(authority);
  const host = hp?.[1] ?? hp?.[2] ?? '';
  if (host !== '') out.set('host', decode(host));
  if (hp?.[3] !== undefined && hp[3] !== '') out.set('port', decode(hp[3]));
  if (m[2] !== undefined && m[2] !== '') out.set('dbname', decode(m[2]));
  for (const pair of (m[3] ?? '').split('&').filter((p) => p !== '')) {
    const eq = pair.indexOf('=');
    if (eq < 0) throw new ConninfoError(`missing key/value separator "=" in URI query parameter: "${pair}"`);
    let key = decode(pair.slice(0, eq));
    let value = decode(pair.slice(eq + 1));
    // libpq's JDBC compatibility: ssl=true means sslmode=require.
    if (key === 'ssl' && value === 'true') { key = 'sslmode'; value = 'require'; }
    if (!KEYWORDS.has(key)) throw new ConninfoError(`invalid URI query parameter: "${key}"`);
    out.set(key, value);
  }
  return out;
}

/** libpq's default socket directory: Debian's /var/run/postgresql when present, else /tmp. */
function defaultHost(): string {
  return existsSync('/var/run/postgresql') ? '/var/run/postgresql' : '/tmp';
}

/** Applies the environment and libpq's defaults to a parsed conninfo. */
export function resolveConnParams(conninfo: string | undefined, env: NodeJS.ProcessEnv = process.env): ConnParams {
  const given = conninfo === undefined ? new Map<string, string>() : parseConninfo(conninfo);
  const get = (k: string): string | undefined => {
    const v = given.get(k) ?? (ENV[k] ? env[ENV[k]] : undefined);
    return v === '' && k !== 'password' ? undefined : v;
  };
  const host = get('hostaddr') ?? get('host') ?? defaultHost();
  const portText = get('port') ?? '5432';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new ConninfoError(`invalid port number: "${portText}"`);
  const sslmode = get('sslmode') ?? 'prefer';
  if (!SSL_MODES.includes(sslmode)) throw new ConninfoError(`invalid sslmode value: "${sslmode}"`);
  const user = get('user') ?? userInfo().username;
  const dbname = get('dbname') ?? user;
  const timeoutText = get('connect_timeout') ?? '10';
  const timeout = Number(timeoutText);
  if (!/^-?\d+$/.test(timeoutText)) throw new ConninfoError(`invalid integer value "${timeoutText}" for connection option "connect_timeout"`);
  const p: ConnParams = {
    host, port, user, dbname, sslmode: sslmode as SslMode, connectTimeout: timeout > 0 ? Math.max(timeout, 2) : 10,
    applicationName: get('application_name') ?? 'gatehouse audit',
  };
  for (const k of ['sslrootcert', 'sslcert', 'sslkey'] as const) {
    const v = get(k);
    if (v !== undefined) p[k] = v;
  }
  const password = get('password') ?? passwordFromFile(get('passfile') ?? join(homedir(), '.pgpass'), p);
  if (password !== undefined) p.password = password;
  return p;
}

/** A Unix-domain socket directory rather than a TCP host. */
export const isSocket = (host: string): boolean => host.startsWith('/') || host.startsWith('@');

/**
 * libpq passwordFromFile: `host:port:dbname:user:password`, `*` matches anything, `\` escapes;
 * a socket host matches `localhost`. A file others can read is ignored, with libpq's reason.
 */
export function passwordFromFile(path: string, p: Pick<ConnParams, 'host' | 'port' | 'dbname' | 'user'>, warn: (m: string) => void = () => undefined): string | undefined {
  let text: string;
  try {
    const st = statSync(path);
    if (!st.isFile()) return undefined;
    if ((st.mode & 0o077) !== 0) {
      warn(`password file "${path}" has group or world access; permissions should be u=rw (0600) or less`);
      return undefined;
    }
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const host = isSocket(p.host) ? 'localhost' : p.host;
  const want = [host, String(p.port), p.dbname, p.user];
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const fields = splitPassLine(line);
    if (fields.length < 5) continue;
    if (want.every((w, i) => fields[i] === '*' || fields[i] === w || (i === 0 && fields[i] === p.host))) return fields.slice(4).join(':');
  }
  return undefined;
}

function splitPassLine(line: string): string[] {
  const fields: string[] = [''];
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) fields[fields.length - 1] += line[++i]!;
    else if (c === ':' && fields.length < 5) fields.push('');
    else fields[fields.length - 1] += c;
  }
  return fields;
}

/** What a report shows for the connection: never the password. */
export function describeTarget(p: ConnParams): string {
  const ssl = p.sslmode === 'prefer' || isSocket(p.host) ? '' : ` sslmode=${p.sslmode}`;
  return `host=${p.host} port=${p.port} user=${p.user} dbname=${p.dbname}${ssl}`;
}
