/**
 * Address lists for the guard (`guard.allow`, `guard.deny`, `guard.ignore`,
 * `listen.proxy_trusted`): CIDR blocks or single addresses, IPv4 and IPv6, parsed and matched
 * exactly as pg_hba.conf addresses are (src/hba/ip.ts).
 */
import { cidrMask, clientAddress, formatIp, fullMask, inRange, parseNumericHost, type IpAddress } from '../../hba/ip.js';

export interface CidrBlock {
  readonly addr: IpAddress;
  readonly mask: bigint;
  /** As written in the config, for logs. */
  readonly text: string;
}

/** Parses `a.b.c.d/n`, `x::y/n` or a single address; null when it is not one. */
export function parseCidr(text: string): CidrBlock | null {
  const slash = text.indexOf('/');
  const host = slash < 0 ? text : text.slice(0, slash);
  // Only strict forms: 10 or 127.1 (inet_aton shorthands) are typos in an allow-list.
  const addr = /^[0-9]+(?:\.[0-9]+){3}$/.test(host) || host.includes(':') ? parseNumericHost(host) : null;
  const bits = slash < 0 ? null : text.slice(slash + 1);
  if (!addr || (bits !== null && !/^[0-9]{1,3}$/.test(bits))) return null;
  const mask = bits === null ? fullMask(addr.family) : cidrMask(bits, addr.family);
  return mask === null ? null : { addr, mask, text };
}

/** A parsed list; an address is in it when any block contains it. */
export class CidrList {
  readonly blocks: readonly CidrBlock[];

  /** Throws on an entry that is not an address or CIDR block (the schema checks first, so this names the entry). */
  constructor(entries: readonly string[]) {
    this.blocks = entries.map((e) => {
      const b = parseCidr(e);
      if (!b) throw new Error(`invalid address or CIDR block "${e}"`);
      return b;
    });
  }

  get empty(): boolean {
    return this.blocks.length === 0;
  }

  has(addr: IpAddress | null): boolean {
    if (!addr) return false;
    for (const b of this.blocks) if (inRange(addr, b.addr, b.mask)) return true;
    return false;
  }
}

/**
 * One spelling per source address, as PostgreSQL prints client addresses: IPv4-mapped IPv6
 * becomes IPv4 and IPv6 is compressed. Ban keys, logs and hba all use it.
 */
export function canonicalSource(text: string): { text: string; addr: IpAddress | null } {
  const hit = recent.get(text);
  if (hit) return hit;
  const addr = clientAddress(text);
  const out = Object.freeze(addr ? { text: formatIp(addr), addr } : { text, addr: null });
  // A flood comes from few addresses: remember the last few thousand spellings (cleared, not LRU: cheap and bounded).
  if (recent.size >= 4096) recent.clear();
  recent.set(text, out);
  return out;
}
const recent = new Map<string, { text: string; addr: IpAddress | null }>();
