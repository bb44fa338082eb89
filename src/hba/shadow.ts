/**
 * Does an earlier rule match every connection a later rule would? Then the later rule is dead: the
 * first match decides (hba.c check_hba). Each field answers yes, no or maybe; "maybe" is for what a
 * file alone cannot decide: host names, samehost/samenet, role membership, sameuser/samerole,
 * regular expressions against each other, and lists read from `@file` (which can change).
 */
import { hostnameMatches } from './evaluate.js';
import { fullMask } from './ip.js';
import type { AddressMatcher, DatabaseMatcher, HbaConnType, HbaRule, UserMatcher } from './types.js';

export type Cover = 'yes' | 'maybe' | 'no';

export interface CoverResult {
  readonly cover: Cover;
  /** Why the answer is only "maybe". */
  readonly reasons: readonly string[];
}

/** Connection kinds each type matches: local, TCP+TLS, plain TCP, GSS-encrypted TCP. */
const KINDS: Readonly<Record<HbaConnType, readonly string[]>> = {
  local: ['local'], host: ['ssl', 'plain', 'gss'], hostssl: ['ssl'], hostnossl: ['plain', 'gss'],
  hostgssenc: ['gss'], hostnogssenc: ['ssl', 'plain'],
};

const worst = (cs: readonly Cover[]): Cover => (cs.includes('no') ? 'no' : cs.includes('maybe') ? 'maybe' : 'yes');
const best = (cs: readonly Cover[]): Cover => (cs.includes('yes') ? 'yes' : cs.includes('maybe') ? 'maybe' : 'no');

/** Does `a` (earlier) match every connection `b` (later) matches? */
export function covers(a: HbaRule, b: HbaRule): CoverResult {
  const reasons: string[] = [];
  const note = (c: Cover, why: string): Cover => {
    if (c === 'maybe') reasons.push(why);
    return c;
  };
  const type = KINDS[b.type].every((k) => KINDS[a.type].includes(k)) ? 'yes' : 'no';
  if (type === 'no') return { cover: 'no', reasons: [] };
  const parts: Cover[] = [
    note(addressCover(a.address, b.address), 'host names or this machine\'s interfaces'),
    note(viaFile(listCover(b.databases, a.databases, databaseTokenCover), a.databases, b.databases), 'database names from regular expressions, sameuser/samerole or an @file'),
    note(viaFile(listCover(b.users, a.users, userTokenCover), a.users, b.users), 'role membership, regular expressions or an @file'),
  ];
  const cover = worst(parts);
  return { cover, reasons: cover === 'maybe' ? reasons : [] };
}

function listCover<T>(later: readonly T[], earlier: readonly T[], one: (a: T, b: T) => Cover): Cover {
  return worst(later.map((b) => best(earlier.map((a) => one(a, b)))));
}

/** A certain answer that rests on `@file` contents is only a "maybe": the file can change. */
function viaFile(c: Cover, a: readonly (DatabaseMatcher | UserMatcher)[], b: readonly (DatabaseMatcher | UserMatcher)[]): Cover {
  return c === 'yes' && [...a, ...b].some((m) => m.token.viaFile !== undefined) ? 'maybe' : c;
}

function addressCover(a: AddressMatcher | null, b: AddressMatcher | null): Cover {
  if (a === null || b === null) return a === b ? 'yes' : 'no';
  if (a.kind === 'all') return 'yes';
  if (b.kind === 'all') return 'no';
  if (a.kind === 'ip' && b.kind === 'ip') {
    // b's range is inside a's when a's mask bits are a subset of b's and the addresses agree on them.
    const inside = a.family === b.family && (a.mask & (fullMask(b.family) ^ b.mask)) === 0n && ((a.address ^ b.address) & a.mask) === 0n;
    return inside ? 'yes' : 'no';
  }
  if (a.kind === 'hostname' && b.kind === 'hostname') return hostnameMatches(a.name, b.name) ? 'yes' : 'no';
  if (a.kind === b.kind) return 'yes'; // samehost/samehost, samenet/samenet
  if (a.kind === 'samenet' && b.kind === 'samehost') return 'yes'; // an interface's address is on its own subnet
  return 'maybe';
}

function databaseTokenCover(a: DatabaseMatcher, b: DatabaseMatcher): Cover {
  const bKeyword = b.kind === 'keyword' ? (b.keyword === 'samegroup' ? 'samerole' : b.keyword) : null;
  if (a.kind === 'keyword') {
    const aKeyword = a.keyword === 'samegroup' ? 'samerole' : a.keyword;
    // `all` never matches physical replication, and only `replication` does.
    if (aKeyword === 'all') return bKeyword === 'replication' ? 'no' : 'yes';
    if (aKeyword === bKeyword) return 'yes';
    if (aKeyword !== 'replication' && b.kind === 'name') return 'maybe';
    return 'no';
  }
  if (a.kind === 'regex') {
    if (b.kind === 'name') return a.regex.test(b.name) ? 'yes' : 'no';
    if (b.kind === 'regex') return a.token.text === b.token.text ? 'yes' : 'maybe';
    return bKeyword === 'sameuser' || bKeyword === 'samerole' ? 'maybe' : 'no';
  }
  return b.kind === 'name' && b.name === a.name ? 'yes' : 'no';
}

function userTokenCover(a: UserMatcher, b: UserMatcher): Cover {
  switch (a.kind) {
    case 'all': return 'yes';
    case 'member':
      if (b.kind === 'member') return b.role === a.role ? 'yes' : 'maybe';
      if (b.kind === 'name') return b.name === a.role ? 'yes' : 'maybe';
      return b.kind === 'regex' ? 'maybe' : 'no';
    case 'regex':
      if (b.kind === 'name') return a.regex.test(b.name) ? 'yes' : 'no';
      if (b.kind === 'regex') return a.token.text === b.token.text ? 'yes' : 'maybe';
      return b.kind === 'member' ? 'maybe' : 'no';
    case 'name':
      return b.kind === 'name' && b.name === a.name ? 'yes' : 'no';
  }
}
