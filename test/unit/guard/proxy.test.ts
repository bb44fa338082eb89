/** PROXY protocol v1 and v2 headers, handcrafted byte for byte (HAProxy proxy-protocol.txt). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROXY_V2_SIGNATURE, looksLikeProxyHeader, parseProxyHeader } from '../../../src/protocol/proxy.js';
import { proxyV2, tcp4Body } from '../../support/proxy-header.js';
import { ProtocolError } from '../../../src/protocol/errors.js';

const violation = (fn: () => unknown, message: string): void =>
  assert.throws(fn, (e: unknown) => e instanceof ProtocolError && e.wire.code === '08P01' && e.wire.message === message);

test('v1 TCP4, TCP6 and UNKNOWN; the header length excludes what follows', () => {
  const after = Buffer.from([0, 0, 0, 8, 4, 210, 22, 47]);
  const h = Buffer.concat([Buffer.from('PROXY TCP4 192.0.2.7 198.51.100.1 56324 6432\r\n'), after]);
  assert.deepEqual(parseProxyHeader(h, 'v1'), { kind: 'header', length: h.length - 8, source: { address: '192.0.2.7', port: 56324 } });
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY TCP6 2001:DB8::1 2001:db8::2 1 6432\r\n'), 'v1'),
    { kind: 'header', length: 43, source: { address: '2001:db8::1', port: 1 } });
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n'), 'v1'), { kind: 'header', length: 15, source: null });
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n'), 'v1').kind, 'header');
});

test('v1 split at every byte needs more until the CRLF', () => {
  const h = Buffer.from('PROXY TCP4 10.1.2.3 10.0.0.1 40000 5432\r\n');
  for (let i = 1; i < h.length; i++) assert.deepEqual(parseProxyHeader(h.subarray(0, i), 'v1'), { kind: 'need' }, `prefix of ${i}`);
  assert.equal(parseProxyHeader(h, 'v1').kind, 'header');
});

test('v1 malformed headers are 08P01 protocol violations', () => {
  violation(() => parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3 10.0.0.1 1 2\r\n'), 'v1'), 'invalid PROXY protocol v1 header');
  violation(() => parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4 10.0.0.1 01 2\r\n'), 'v1'), 'invalid PROXY protocol v1 header');
  violation(() => parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4 10.0.0.1 1 65536\r\n'), 'v1'), 'invalid PROXY protocol v1 header');
  violation(() => parseProxyHeader(Buffer.from('PROXY TCP6 1.2.3.4 10.0.0.1 1 2\r\n'), 'v1'), 'invalid PROXY protocol v1 header');
  violation(() => parseProxyHeader(Buffer.from('PROXY UDP4 1.2.3.4 10.0.0.1 1 2\r\n'), 'v1'), 'invalid PROXY protocol v1 header');
  violation(() => parseProxyHeader(Buffer.from('GET / HTTP/1.0\r\n'), 'v1'), 'invalid PROXY protocol v1 header');
  violation(() => parseProxyHeader(Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`), 'v1'), 'PROXY protocol v1 header too long');
  // a v2 header where v1 is configured
  violation(() => parseProxyHeader(proxyV2(1, 0x11, tcp4Body('1.2.3.4', '5.6.7.8', 1, 2)), 'v1'), 'invalid PROXY protocol v1 header');
});

test('v2 PROXY over TCP4 and TCP6, with TLVs after the addresses', () => {
  const tlv = Buffer.from([0x04, 0x00, 0x03, 0x61, 0x62, 0x63]); // PP2_TYPE_NOOP, length 3
  const h4 = proxyV2(1, 0x11, Buffer.concat([tcp4Body('203.0.113.9', '10.0.0.1', 50123, 6432), tlv]));
  assert.deepEqual(parseProxyHeader(Buffer.concat([h4, Buffer.from('rest')]), 'v2'),
    { kind: 'header', length: h4.length, source: { address: '203.0.113.9', port: 50123 } });
  const b6 = Buffer.alloc(36);
  Buffer.from('20010db8000000000000000000000042', 'hex').copy(b6, 0);
  Buffer.from('20010db8000000000000000000000001', 'hex').copy(b6, 16);
  b6.writeUInt16BE(443, 32);
  b6.writeUInt16BE(6432, 34);
  assert.deepEqual(parseProxyHeader(proxyV2(1, 0x21, b6), 'v2'), { kind: 'header', length: 52, source: { address: '2001:db8::42', port: 443 } });
});

test('v2 LOCAL and UNSPEC carry no client address; split headers need more', () => {
  assert.deepEqual(parseProxyHeader(proxyV2(0, 0x00, Buffer.alloc(0)), 'v2'), { kind: 'header', length: 16, source: null });
  assert.deepEqual(parseProxyHeader(proxyV2(0, 0x11, tcp4Body('1.1.1.1', '2.2.2.2', 1, 2)), 'v2'), { kind: 'header', length: 28, source: null });
  assert.deepEqual(parseProxyHeader(proxyV2(1, 0x00, Buffer.alloc(0)), 'v2'), { kind: 'header', length: 16, source: null });
  const h = proxyV2(1, 0x11, tcp4Body('1.1.1.1', '2.2.2.2', 1, 2));
  for (let i = 0; i < h.length; i++) assert.deepEqual(parseProxyHeader(h.subarray(0, i), 'v2'), { kind: 'need' });
});

test('v2 malformed headers are refused before the body is buffered', () => {
  const bad = proxyV2(1, 0x11, tcp4Body('1.1.1.1', '2.2.2.2', 1, 2));
  bad[12] = 0x11; // version 1 in a v2 header
  violation(() => parseProxyHeader(bad, 'v2'), 'unsupported PROXY protocol version');
  violation(() => parseProxyHeader(proxyV2(1, 0x11, Buffer.alloc(4)), 'v2'), 'invalid PROXY protocol v2 address block');
  violation(() => parseProxyHeader(proxyV2(1, 0x31, Buffer.alloc(216)), 'v2'), 'unsupported PROXY protocol v2 address family');
  const huge = proxyV2(1, 0x11, Buffer.alloc(12)).subarray(0, 16);
  huge.writeUInt16BE(65535, 14);
  violation(() => parseProxyHeader(huge, 'v2'), 'PROXY protocol v2 header too long');
  violation(() => parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n'), 'v2'), 'invalid PROXY protocol v2 signature');
});

test('a PROXY header is recognised from its first bytes; a startup packet is not', () => {
  assert.equal(looksLikeProxyHeader(Buffer.from('PROXY TCP4 ')), true);
  assert.equal(looksLikeProxyHeader(PROXY_V2_SIGNATURE.subarray(0, 8)), true);
  assert.equal(looksLikeProxyHeader(Buffer.from([0, 0, 0, 8, 4, 210, 22, 47])), false);
  assert.equal(looksLikeProxyHeader(Buffer.from([0x16, 3, 1, 0, 0x20])), false);
});
