/**
 * OpenLDAP's ldap_url_parse() (libldap/url.c, "historic" flags: default port, base scope, empty host
 * means none) as hba.c uses it for `ldapurl=`. Failures carry ldap_err2string() of the URL error code,
 * which is what PostgreSQL prints (so a bad scheme reads "Time limit exceeded", exactly as it does there).
 */

export interface LdapUrl {
  readonly scheme: string;
  readonly host?: string;
  readonly port: number;
  readonly dn?: string;
  /** The first attribute (hba.c uses only that one). */
  readonly attribute?: string;
  readonly scope: number;
  readonly filter?: string;
}

/** ldap_err2string() of LDAP_URL_ERR_* codes 1..10. */
const URL_ERRORS = {
  BADSCHEME: 'Time limit exceeded', BADENCLOSURE: 'Size limit exceeded', BADURL: 'Compare False',
  BADATTRS: 'Authentication method not supported', BADSCOPE: 'Strong(er) authentication required',
  BADFILTER: 'Partial results and referral received', BADEXTS: 'Referral',
} as const;

/** Schemes libldap 2.5+ recognises (cldap:// is gone, so it is a bad scheme like http://). */
const SCHEMES = ['ldap', 'ldaps', 'ldapi'];
const SCOPES: Readonly<Record<string, number>> = {
  base: 0, one: 1, onelevel: 1, sub: 2, subtree: 2, subord: 3, subordinate: 3, children: 3,
};

/** ldap_pvt_hex_unescape(). */
function unhex(s: string): string {
  const digit = (c: string): number => (/[0-9]/.test(c) ? c.charCodeAt(0) - 48 : /[A-Z]/.test(c) ? c.charCodeAt(0) - 55 : c.charCodeAt(0) - 87);
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? '';
    if (c !== '%') {
      out += c;
      continue;
    }
    const hi = s[i + 1];
    const lo = s[i + 2];
    if (hi === undefined || lo === undefined) break;
    out += String.fromCharCode(((digit(hi) << 4) + digit(lo)) & 0xff);
    i += 2;
  }
  return out;
}

/** skip_url_prefix(): optional `<…>` and `URL:`, then a known scheme (case-insensitive). */
function splitScheme(url: string): { scheme: string; rest: string } | { error: string } {
  let p = url;
  const enclosed = p.startsWith('<');
  if (enclosed) p = p.slice(1);
  if (p.slice(0, 4).toLowerCase() === 'url:') p = p.slice(4);
  const scheme = SCHEMES.find((s) => p.slice(0, s.length + 3).toLowerCase() === `${s}://`);
  if (scheme === undefined) return { error: URL_ERRORS.BADSCHEME };
  let rest = p.slice(scheme.length + 3);
  if (enclosed) {
    if (!rest.endsWith('>')) return { error: URL_ERRORS.BADENCLOSURE };
    rest = rest.slice(0, -1);
  }
  return { scheme, rest };
}

/** Parses `scheme://host:port/dn?attrs?scope?filter?exts`. */
export function parseLdapUrl(url: string): LdapUrl | { error: string } {
  const head = splitScheme(url);
  if ('error' in head) return head;
  const slash = head.rest.indexOf('/');
  const hostport = slash < 0 ? head.rest.split('?')[0] ?? '' : head.rest.slice(0, slash);
  const host = parseHostPort(hostport, head.scheme);
  if ('error' in host) return host;
  if (slash < 0) return { scheme: head.scheme, ...host, scope: 0 };
  const [dn = '', attrs, scope, filter, exts, extra] = head.rest.slice(slash + 1).split('?');
  const out = { scheme: head.scheme, ...host, dn: unhex(dn) };
  if (extra !== undefined) return { error: URL_ERRORS.BADURL };
  let scopeValue = 0;
  if (scope !== undefined && scope !== '') {
    const v = SCOPES[unhex(scope).toLowerCase()];
    if (v === undefined) return { error: URL_ERRORS.BADSCOPE };
    scopeValue = v;
  }
  if (filter !== undefined && filter !== '' && unhex(filter) === '') return { error: URL_ERRORS.BADFILTER };
  if (exts !== undefined && exts.split(',').every((e) => e === '')) return { error: URL_ERRORS.BADEXTS };
  const attribute = attrs === undefined ? undefined : unhex(attrs).split(',').find((a) => a !== '');
  return {
    ...out, scope: scopeValue,
    ...(attribute !== undefined ? { attribute } : {}),
    ...(filter !== undefined && filter !== '' ? { filter: unhex(filter) } : {}),
  };
}

function parseHostPort(hostport: string, scheme: string): { host?: string; port: number } | { error: string } {
  let host = hostport;
  let portText: string | undefined;
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']');
    if (close < 0) return { error: URL_ERRORS.BADURL };
    host = hostport.slice(1, close);
    const after = hostport.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return { error: URL_ERRORS.BADURL };
    portText = after === '' ? undefined : after.slice(1);
  } else {
    const colon = hostport.indexOf(':');
    if (colon >= 0) {
      host = hostport.slice(0, colon);
      portText = hostport.slice(colon + 1);
    }
  }
  let port = 0;
  if (portText !== undefined) {
    const p = unhex(portText);
    if (!/^[ \t\n\v\f\r]*[+-]?[0-9]+$/.test(p)) return { error: URL_ERRORS.BADURL };
    port = Number.parseInt(p, 10);
  }
  if (port === 0) port = scheme === 'ldaps' ? 636 : 389;
  const h = unhex(host);
  return h === '' ? { port } : { host: h, port };
}
