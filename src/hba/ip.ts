/**
 * Numeric IP addresses exactly as hba.c sees them: parsed by glibc getaddrinfo() with
 * AI_NUMERICHOST (inet_aton "exact" for IPv4, inet_pton for IPv6), masks by
 * pg_sockaddr_cidr_mask() (src/common/ip.c), printed by getnameinfo(NI_NUMERICHOST).
 *
 * Addresses are bigints so rules stay immutable and a range test is one expression:
 * `((client ^ addr) & mask) === 0n`, which is pg_range_sockaddr().
 */

export type IpFamily = 4 | 6;

/** One numeric address. `value` holds 32 (IPv4) or 128 (IPv6) bits. */
export interface IpAddress {
  readonly family: IpFamily;
  readonly value: bigint;
}

const V4_BITS = 32n;
const V6_BITS = 128n;

/** All-ones value for the family: the mask `samehost` uses (pg_sockaddr_cidr_mask with NULL bits). */
export function fullMask(family: IpFamily): bigint {
  return (1n << (family === 4 ? V4_BITS : V6_BITS)) - 1n;
}

/**
 * glibc's __inet_aton_exact(): `a`, `a.b`, `a.b.c` or `a.b.c.d`; each part decimal, octal (leading 0)
 * or hex (0x); the last part fills the remaining bytes. Trailing characters are refused.
 * So `10` is 0.0.0.10 and `127.1` is 127.0.0.1, as PostgreSQL shows them in pg_hba_file_rules.
 */
export function parseInetAton(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length > 4) return null;
  const values: number[] = [];
  for (const part of parts) {
    const v = parseAtonPart(part);
    if (v === null) return null;
    values.push(v);
  }
  const last = values.pop() ?? 0;
  if (values.some((v) => v > 0xff)) return null;
  const lastBits = 8 * (4 - values.length);
  if (last >= 2 ** lastBits) return null;
  let out = 0n;
  for (const v of values) out = (out << 8n) | BigInt(v);
  return (out << BigInt(lastBits)) | BigInt(last);
}

function parseAtonPart(part: string): number | null {
  const m = /^(?:0[xX]([0-9a-fA-F]+)|0([0-7]*)|([1-9][0-9]*))$/.exec(part);
  if (!m) return null;
  const [, hex, oct, dec] = m;
  const v = hex !== undefined ? parseInt(hex, 16) : oct !== undefined ? (oct === '' ? 0 : parseInt(oct, 8)) : parseInt(dec ?? '', 10);
  return Number.isSafeInteger(v) && v <= 0xffffffff ? v : null;
}

/** inet_pton(AF_INET): strict dotted quad, decimal, no leading zeros. */
function parseInetPton4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let out = 0n;
  for (const p of parts) {
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return null;
    out = (out << 8n) | BigInt(p);
  }
  return out;
}

/** inet_pton(AF_INET6): hex groups, one `::`, an optional trailing dotted quad. */
export function parseInetPton6(text: string): bigint | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = parseGroups(halves[0] ?? '', halves.length === 1);
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? '', true) : [];
  if (head === null || tail === null) return null;
  const total = head.length + tail.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return null;
  const groups = [...head, ...new Array<number>(8 - total).fill(0), ...tail];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** Groups of one side of `::`. Only the last group may be a dotted quad (two 16-bit groups). */
function parseGroups(side: string, mayEndWithV4: boolean): number[] | null {
  if (side === '') return [];
  const items = side.split(':');
  const out: number[] = [];
  for (const [i, item] of items.entries()) {
    if (mayEndWithV4 && i === items.length - 1 && item.includes('.')) {
      const v4 = parseInetPton4(item);
      if (v4 === null) return null;
      out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
    } else if (/^[0-9a-fA-F]{1,4}$/.test(item)) {
      out.push(parseInt(item, 16));
    } else {
      return null;
    }
  }
  return out;
}

/**
 * getaddrinfo(text, AI_NUMERICHOST, AF_UNSPEC): IPv4 via inet_aton, else IPv6 with an optional
 * `%scope` (a number or a known interface name; glibc refuses unknown names). null means
 * EAI_NONAME, which hba.c then treats as a host name.
 */
export function parseNumericHost(text: string, knownInterfaces: ReadonlySet<string> = new Set()): IpAddress | null {
  const v4 = parseInetAton(text);
  if (v4 !== null) return { family: 4, value: v4 };
  const pct = text.indexOf('%');
  const base = pct < 0 ? text : text.slice(0, pct);
  if (pct >= 0) {
    const scope = text.slice(pct + 1);
    if (!/^[0-9]+$/.test(scope) && !knownInterfaces.has(scope)) return null;
  }
  const v6 = parseInetPton6(base);
  return v6 === null ? null : { family: 6, value: v6 };
}

/**
 * pg_sockaddr_cidr_mask(): the bit count is read with strtol() and must be the whole string,
 * within 0..32 or 0..128. strtol allows leading white space and a sign, so `+8` is 8.
 */
export function cidrMask(bits: string, family: IpFamily): bigint | null {
  if (!/^[ \t\n\v\f\r]*[+-]?[0-9]+$/.test(bits)) return null;
  const n = Number(bits.trim());
  const max = family === 4 ? 32 : 128;
  if (!Number.isSafeInteger(n) || n < 0 || n > max) return null;
  const width = BigInt(max);
  return fullMask(family) ^ ((1n << (width - BigInt(n))) - 1n);
}

/** pg_range_sockaddr(): same family and `(client ^ addr) & mask == 0`. Host bits of `addr` are ignored. */
export function inRange(client: IpAddress, addr: IpAddress, mask: bigint): boolean {
  return client.family === addr.family && ((client.value ^ addr.value) & mask) === 0n;
}

/** The prefix length when `mask` is contiguous (leading ones), else null. */
export function prefixLength(mask: bigint, family: IpFamily): number | null {
  const width = family === 4 ? 32 : 128;
  const inverted = fullMask(family) ^ mask;
  if ((inverted & (inverted + 1n)) !== 0n) return null;
  return width - inverted.toString(2).replace(/^0+/, '').length;
}

/** getnameinfo(NI_NUMERICHOST), i.e. glibc inet_ntop(): what pg_hba_file_rules shows. */
export function formatIp(addr: IpAddress): string {
  if (addr.family === 4) return formatV4(addr.value);
  const words = Array.from({ length: 8 }, (_, i) => Number((addr.value >> BigInt(112 - 16 * i)) & 0xffffn));
  const run = longestZeroRun(words);
  // inet_ntop6 prints ::a.b.c.d and ::ffff:a.b.c.d for IPv4-compatible and -mapped addresses.
  if (run.start === 0 && (run.length === 6 || (run.length === 5 && words[5] === 0xffff))) {
    return (run.length === 6 ? '::' : '::ffff:') + formatV4(addr.value & 0xffffffffn);
  }
  const hex = words.map((w) => w.toString(16));
  if (run.length < 2) return hex.join(':');
  return `${hex.slice(0, run.start).join(':')}::${hex.slice(run.start + run.length).join(':')}`;
}

function formatV4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
}

/** The first longest run of zero words (inet_ntop6 compresses runs of two or more). */
function longestZeroRun(words: readonly number[]): { start: number; length: number } {
  let best = { start: -1, length: 0 };
  let cur = { start: -1, length: 0 };
  for (const [i, w] of words.entries()) {
    if (w !== 0) {
      cur = { start: -1, length: 0 };
      continue;
    }
    cur = cur.start < 0 ? { start: i, length: 1 } : { start: cur.start, length: cur.length + 1 };
    if (cur.length > best.length) best = cur;
  }
  return best;
}

/**
 * The client address of a TCP connection as PostgreSQL would see it. Node reports IPv4 clients of a
 * dual-stack (`::`) listener as `::ffff:a.b.c.d`; PostgreSQL listens with IPV6_V6ONLY, so the same
 * client reaches it as plain IPv4. We therefore turn a v4-mapped address back into IPv4 *before*
 * matching, so `host … 127.0.0.1/32` lines behave as they do in PostgreSQL. A scope (`%eth0`) is
 * dropped: pg_range_sockaddr() compares only the address bytes.
 */
export function clientAddress(text: string): IpAddress | null {
  const pct = text.indexOf('%');
  const bare = pct < 0 ? text : text.slice(0, pct);
  const v4 = parseInetPton4(bare);
  if (v4 !== null) return { family: 4, value: v4 };
  const v6 = parseInetPton6(bare);
  if (v6 === null) return null;
  if (v6 >> 32n === 0xffffn) return { family: 4, value: v6 & 0xffffffffn };
  return { family: 6, value: v6 };
}
