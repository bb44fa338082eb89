/**
 * hba.c check_hba(): the first rule that matches connection type, address, database and user
 * decides; no match is an implicit reject. One `continue` per criterion, in hba.c's order.
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { clientAddress, fullMask, inRange, parseInetPton6, parseInetAton, type IpAddress } from './ip.js';
import type { AddressMatcher, DatabaseMatcher, HbaRule, HbaRuleSet, UserMatcher } from './types.js';

/** One connection attempt, as the gateway (or `gatehouse hba check`) sees it. */
export interface HbaAttempt {
  /** `local` is a Unix-domain socket; `host` is TCP. */
  socket: 'local' | 'host';
  /** TLS is in use on this TCP connection. */
  ssl: boolean;
  /** Client IP for TCP. `::ffff:a.b.c.d` (Node's dual-stack form) is matched as IPv4 a.b.c.d. */
  address?: string;
  database: string;
  user: string;
  /** `physical` walsenders match only the `replication` keyword; `logical` ones match by database name. */
  replication: 'none' | 'physical' | 'logical';
  /**
   * Is `user` a member of `role`, directly or indirectly, counting itself but not superuser power
   * (is_member_of_role_nosuper)? Without it, a user is a member of itself only.
   */
  isMember?: (role: string) => boolean;
  /** The client's verified host name (see resolveClientHostname); null or absent matches no host-name rule. */
  hostname?: string | null;
}

/** What evaluation needs from the machine; injectable for tests. */
export interface HbaEnvironment {
  /** os.networkInterfaces(), for samehost and samenet. */
  readonly networkInterfaces?: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
}

/**
 * Returns the rule that decides `attempt`, or null for PostgreSQL's implicit reject.
 * `hostgssenc` lines never match (gatehouse never negotiates GSS encryption) and `hostnogssenc` lines
 * match like `host`, since no connection here is GSS-encrypted: hba.c's check for a build with GSSAPI.
 */
export function evaluateHba(set: HbaRuleSet, attempt: HbaAttempt, env: HbaEnvironment = {}): HbaRule | null {
  const client = attempt.socket === 'host' && attempt.address !== undefined ? clientAddress(attempt.address) : null;
  for (const rule of set.rules) {
    if (!connectionTypeMatches(rule, attempt)) continue;
    if (rule.type !== 'local' && !addressMatches(rule.address, client, attempt, env)) continue;
    if (!databaseMatches(rule.databases, attempt)) continue;
    if (!userMatches(rule.users, attempt)) continue;
    return rule;
  }
  return null;
}

function connectionTypeMatches(rule: HbaRule, attempt: HbaAttempt): boolean {
  if (rule.type === 'local') return attempt.socket === 'local';
  if (attempt.socket === 'local') return false;
  if (rule.type === 'hostssl') return attempt.ssl;
  if (rule.type === 'hostnossl') return !attempt.ssl;
  return rule.type !== 'hostgssenc';
}

function addressMatches(address: AddressMatcher | null, client: IpAddress | null, attempt: HbaAttempt, env: HbaEnvironment): boolean {
  if (address === null) return false;
  switch (address.kind) {
    case 'all': return true;
    case 'ip': return client !== null && inRange(client, { family: address.family, value: address.address }, address.mask);
    case 'hostname': return typeof attempt.hostname === 'string' && hostnameMatches(address.name, attempt.hostname);
    case 'samehost': return client !== null && sameHostOrNet(client, 'samehost', env);
    case 'samenet': return client !== null && sameHostOrNet(client, 'samenet', env);
  }
}

/** hba.c hostname_match(): ASCII case-insensitive; a leading dot matches any name ending in it. */
export function hostnameMatches(pattern: string, actual: string): boolean {
  const lower = (s: string): string => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
  if (pattern.startsWith('.')) return actual.length >= pattern.length && lower(actual.slice(actual.length - pattern.length)) === lower(pattern);
  return lower(pattern) === lower(actual);
}

/** check_same_host_or_net(): each interface address with an all-ones mask (samehost) or its own netmask (samenet). */
function sameHostOrNet(client: IpAddress, how: 'samehost' | 'samenet', env: HbaEnvironment): boolean {
  const list = (env.networkInterfaces ?? networkInterfaces)();
  for (const infos of Object.values(list)) {
    for (const info of infos ?? []) {
      const addr = parseInterfaceAddress(info.address);
      if (addr === null) continue;
      const mask = how === 'samehost' ? fullMask(addr.family) : parseInterfaceAddress(info.netmask)?.value;
      if (mask !== undefined && inRange(client, addr, mask)) return true;
    }
  }
  return false;
}

function parseInterfaceAddress(text: string): IpAddress | null {
  const v4 = parseInetAton(text);
  if (v4 !== null) return { family: 4, value: v4 };
  const v6 = parseInetPton6(text.split('%')[0] ?? '');
  return v6 === null ? null : { family: 6, value: v6 };
}

/** hba.c check_db(). */
function databaseMatches(databases: readonly DatabaseMatcher[], attempt: HbaAttempt): boolean {
  return databases.some((d) => databaseTokenMatches(d, attempt));
}

function databaseTokenMatches(d: DatabaseMatcher, attempt: HbaAttempt): boolean {
  // Physical replication walsenders can only match the replication keyword.
  if (attempt.replication === 'physical') return d.kind === 'keyword' && d.keyword === 'replication';
  switch (d.kind) {
    case 'keyword':
      if (d.keyword === 'all') return true;
      if (d.keyword === 'sameuser') return attempt.database === attempt.user;
      if (d.keyword === 'samerole' || d.keyword === 'samegroup') return isMember(attempt, attempt.database);
      return false; // `replication` never matches a non-walsender (or a logical walsender)
    case 'regex': return d.regex.test(attempt.database);
    case 'name': return d.name === attempt.database;
  }
}

/** hba.c check_role(). */
function userMatches(users: readonly UserMatcher[], attempt: HbaAttempt): boolean {
  return users.some((u) => userTokenMatches(u, attempt.user, attempt));
}

/** One USER (or pg_ident PG-USER) token against `user`. */
export function userTokenMatches(u: UserMatcher, user: string, attempt: Pick<HbaAttempt, 'isMember' | 'user'>): boolean {
  switch (u.kind) {
    case 'member': return isMember(attempt, u.role);
    case 'all': return true;
    case 'regex': return u.regex.test(user);
    case 'name': return u.name === user;
  }
}

function isMember(attempt: Pick<HbaAttempt, 'isMember' | 'user'>, role: string): boolean {
  return attempt.isMember ? attempt.isMember(role) : role === attempt.user;
}
