import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cidrMask, clientAddress, formatIp, parseInetAton, parseNumericHost, prefixLength } from '../../../src/hba/ip.js';

const v4 = (s: string): string | null => {
  const v = parseInetAton(s);
  return v === null ? null : formatIp({ family: 4, value: v });
};

describe('getaddrinfo(AI_NUMERICHOST) for IPv4 (glibc inet_aton, exact)', () => {
  const cases: [string, string | null][] = [
    ['127.0.0.1', '127.0.0.1'], ['127.1', '127.0.0.1'], ['10', '0.0.0.10'], ['1.2.3', '1.2.0.3'],
    ['0x7f.1', '127.0.0.1'], ['010.0.0.1', '8.0.0.1'], ['4294967295', '255.255.255.255'], ['255.0.255', '255.0.0.255'],
    ['4294967296', null], ['1.2.3.256', null], ['08.1.1.1', null], ['0x', null], ['1..2', null], ['1.2.3.4.', null],
    ['1.2.3.4 ', null], ['', null], ['a.b.c.d', null], ['256.1', null], ['1.16777216', null],
  ];
  for (const [input, expected] of cases) it(JSON.stringify(input), () => assert.equal(v4(input), expected));
});

describe('IPv6 parsing and inet_ntop formatting', () => {
  const cases: [string, string | null][] = [
    ['::1', '::1'], ['::', '::'], ['2001:DB8::1', '2001:db8::1'], ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::2:3', '::0.2.0.3'], ['1:0:0:2:0:0:0:3', '1:0:0:2::3'], ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'], ['fe80::', 'fe80::'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'], ['1:2:3:4:5:6:7', null], ['1::2::3', null], ['12345::', null],
    ['::1.2.3.04', null], ['fe80::1%99', 'fe80::1'], ['fe80::1%nosuchif', null],
  ];
  for (const [input, expected] of cases) {
    it(JSON.stringify(input), () => {
      const a = parseNumericHost(input);
      assert.equal(a === null ? null : formatIp(a), expected);
    });
  }
  it('accepts an interface name as scope when it exists', () => {
    assert.equal(parseNumericHost('fe80::1%eth9', new Set(['eth9']))?.family, 6);
  });
});

describe('pg_sockaddr_cidr_mask', () => {
  it('builds masks and refuses what strtol or the range refuses', () => {
    assert.equal(formatIp({ family: 4, value: cidrMask('8', 4) ?? -1n }), '255.0.0.0');
    assert.equal(formatIp({ family: 4, value: cidrMask('+24', 4) ?? -1n }), '255.255.255.0');
    assert.equal(formatIp({ family: 6, value: cidrMask('64', 6) ?? -1n }), 'ffff:ffff:ffff:ffff::');
    assert.equal(cidrMask('0', 4), 0n);
    for (const bad of ['33', '-1', '', 'x', '8x', '1e1']) assert.equal(cidrMask(bad, 4), null, bad);
    assert.equal(cidrMask('129', 6), null);
  });
  it('knows contiguous prefixes', () => {
    assert.equal(prefixLength(cidrMask('20', 4) ?? 0n, 4), 20);
    assert.equal(prefixLength(0xff00ff00n, 4), null);
    assert.equal(prefixLength(0n, 6), 0);
  });
});

describe('clientAddress', () => {
  it('turns a v4-mapped client address into IPv4 (dual-stack sockets)', () => {
    assert.deepEqual(clientAddress('::ffff:127.0.0.1'), { family: 4, value: 0x7f000001n });
    assert.deepEqual(clientAddress('127.0.0.1'), { family: 4, value: 0x7f000001n });
    assert.equal(clientAddress('::1')?.family, 6);
    assert.equal(clientAddress('fe80::1%eth0')?.family, 6);
    assert.equal(clientAddress('127.1'), null); // a socket never reports inet_aton shorthand
    assert.equal(clientAddress('nonsense'), null);
  });
});
