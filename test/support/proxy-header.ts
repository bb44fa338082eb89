/** Handcrafted PROXY protocol v2 headers for tests (HAProxy proxy-protocol.txt §2.2). */
import { PROXY_V2_SIGNATURE } from '../../src/protocol/proxy.js';

/** A v2 header: version 2, command (1 PROXY, 0 LOCAL), family byte, address block (+ optional TLVs). */
export function proxyV2(command: 0 | 1, family: number, body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head[0] = 0x20 | command;
  head[1] = family;
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([PROXY_V2_SIGNATURE, head, body]);
}

export function tcp4Body(src: string, dst: string, sport: number, dport: number): Buffer {
  const b = Buffer.alloc(12);
  Buffer.from(src.split('.').map(Number)).copy(b, 0);
  Buffer.from(dst.split('.').map(Number)).copy(b, 4);
  b.writeUInt16BE(sport, 8);
  b.writeUInt16BE(dport, 10);
  return b;
}

/** The TCP6 address block: source and destination as 32 hex digits each. */
export function tcp6Body(srcHex: string, dstHex: string, sport: number, dport: number): Buffer {
  const b = Buffer.alloc(36);
  Buffer.from(srcHex, 'hex').copy(b, 0);
  Buffer.from(dstHex, 'hex').copy(b, 16);
  b.writeUInt16BE(sport, 32);
  b.writeUInt16BE(dport, 34);
  return b;
}
