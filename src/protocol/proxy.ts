/**
 * The PROXY protocol header a load balancer puts in front of the client's bytes (HAProxy's
 * proxy-protocol.txt, versions 1 and 2). Pure: it decodes bytes already read and says how many
 * bytes the header took; the caller owns the socket, the size cap and the deadline.
 */
import { violation } from './errors.js';

export type ProxyVersion = 'v1' | 'v2';

/** v1 is one text line of at most 107 bytes, CRLF included (proxy-protocol.txt §2.1). */
export const PROXY_V1_MAX = 107;
/** The v2 signature: `\r\n\r\n\0\r\nQUIT\n` (§2.2). */
export const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/**
 * Our cap on a v2 header's address-and-TLV part. The spec allows 65,535 bytes; real proxies send
 * the addresses (at most 216 bytes) plus a few TLVs (AWS, Azure and GCP each add one small TLV).
 */
export const PROXY_V2_MAX_BODY = 1024;
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');

/** The original connection's source, or null for `LOCAL` / `UNKNOWN` (the proxy's own connection, such as a health check). */
export interface ProxySource {
  address: string;
  port: number;
}

export type ProxyParse = { kind: 'need' } | { kind: 'header'; length: number; source: ProxySource | null };

/** Does `head` start like a PROXY header of either version? Used to refuse one from an untrusted peer. */
export function looksLikeProxyHeader(head: Buffer): boolean {
  const n = Math.min(head.length, V1_PREFIX.length);
  if (n >= 5 && head.subarray(0, n).equals(V1_PREFIX.subarray(0, n))) return true;
  const m = Math.min(head.length, PROXY_V2_SIGNATURE.length);
  return m >= 8 && head.subarray(0, m).equals(PROXY_V2_SIGNATURE.subarray(0, m));
}

/** Decodes the header of `version` at the start of `buf`; throws an 08P01 ProtocolError when it is malformed or over its cap. */
export function parseProxyHeader(buf: Buffer, version: ProxyVersion): ProxyParse {
  return version === 'v1' ? parseV1(buf) : parseV2(buf);
}

function parseV1(buf: Buffer): ProxyParse {
  const have = Math.min(buf.length, V1_PREFIX.length);
  if (!buf.subarray(0, have).equals(V1_PREFIX.subarray(0, have))) throw violation('invalid PROXY protocol v1 header');
  const end = buf.indexOf('\r\n', 0, 'latin1');
  if (end < 0) {
    if (buf.length >= PROXY_V1_MAX) throw violation('PROXY protocol v1 header too long');
    return { kind: 'need' };
  }
  if (end + 2 > PROXY_V1_MAX) throw violation('PROXY protocol v1 header too long');
  const fields = buf.toString('latin1', V1_PREFIX.length, end).split(' ');
  const length = end + 2;
  if (fields[0] === 'UNKNOWN') return { kind: 'header', length, source: null };
  if (fields.length !== 5 || (fields[0] !== 'TCP4' && fields[0] !== 'TCP6')) throw violation('invalid PROXY protocol v1 header');
  const [family, src, dst, sport, dport] = fields as [string, string, string, string, string];
  const isV4 = family === 'TCP4';
  if (!validAddress(src, isV4) || !validAddress(dst, isV4) || !validPort(sport) || !validPort(dport)) {
    throw violation('invalid PROXY protocol v1 header');
  }
  return { kind: 'header', length, source: { address: isV4 ? src : src.toLowerCase(), port: Number(sport) } };
}

/** A port is decimal 0..65535 without leading zeros (§2.1). */
function validPort(p: string): boolean {
  return /^(?:0|[1-9][0-9]{0,4})$/.test(p) && Number(p) <= 65535;
}

function validAddress(a: string, v4: boolean): boolean {
  if (v4) return /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$/.test(a);
  return /^[0-9a-fA-F:.]{2,45}$/.test(a) && a.includes(':') && isIPv6(a);
}

function isIPv6(a: string): boolean {
  try {
    return new URL(`http://[${a}]/`).hostname.length > 0;
  } catch {
    return false;
  }
}

function parseV2(buf: Buffer): ProxyParse {
  const have = Math.min(buf.length, PROXY_V2_SIGNATURE.length);
  if (!buf.subarray(0, have).equals(PROXY_V2_SIGNATURE.subarray(0, have))) throw violation('invalid PROXY protocol v2 signature');
  if (buf.length < 16) return { kind: 'need' };
  const verCmd = buf[12]!;
  const fam = buf[13]!;
  const bodyLength = buf.readUInt16BE(14);
  if (verCmd >> 4 !== 2) throw violation('unsupported PROXY protocol version');
  const command = verCmd & 0x0f;
  if (command > 1) throw violation('invalid PROXY protocol v2 command');
  if (bodyLength > PROXY_V2_MAX_BODY) throw violation('PROXY protocol v2 header too long');
  const length = 16 + bodyLength;
  if (buf.length < length) return { kind: 'need' };
  // LOCAL: the proxy speaks for itself (health checks); the addresses, if any, are ignored (§2.2).
  if (command === 0) return { kind: 'header', length, source: null };
  const body = buf.subarray(16, length);
  switch (fam) {
    case 0x11: // TCP over IPv4: src 4, dst 4, sport 2, dport 2
      if (body.length < 12) throw violation('invalid PROXY protocol v2 address block');
      return { kind: 'header', length, source: { address: Array.from(body.subarray(0, 4)).join('.'), port: body.readUInt16BE(8) } };
    case 0x21: // TCP over IPv6: src 16, dst 16, sport 2, dport 2
      if (body.length < 36) throw violation('invalid PROXY protocol v2 address block');
      return { kind: 'header', length, source: { address: formatV6(body.subarray(0, 16)), port: body.readUInt16BE(32) } };
    case 0x00: // UNSPEC: the receiver must use the real connection's addresses (§2.2)
      return { kind: 'header', length, source: null };
    default:
      throw violation('unsupported PROXY protocol v2 address family');
  }
}

/** RFC 5952 text, as Node prints socket addresses. */
function formatV6(b: Buffer): string {
  const groups = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2).toString(16)).join(':');
  return new URL(`http://[${groups}]/`).hostname.slice(1, -1);
}
