/** StartupFramer and decodeStartupPacket against backend_startup.c ProcessStartupPacket(). */
import { describe, it } from 'node:test';
import { strict as assert } from 'node:assert';
import { StartupFramer, decodeStartupPacket, looksLikeTlsClientHello, type StartupPacket } from '../../../src/protocol/startup.js';
import * as fe from '../../../src/protocol/frontend/encode.js';
import { wire } from '../../../src/errors.js';
import { splits, throwsProtocol } from './helpers.js';

/** A startup-phase packet from its Int32 code and raw body bytes, bypassing the encoders. */
const packet = (code: number, body: Buffer | string = Buffer.alloc(0)): Buffer => {
  const b = Buffer.from(body);
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + b.length, 0);
  head.writeUInt32BE(code, 4);
  return Buffer.concat([head, b]);
};

function packets(chunks: Buffer[]): Buffer[] {
  const framer = new StartupFramer();
  const out: Buffer[] = [];
  for (const chunk of chunks) {
    framer.push(chunk);
    for (let p = framer.next(); p; p = framer.next()) out.push(Buffer.from(p));
  }
  assert.equal(framer.bufferedBytes, 0);
  return out;
}

const key256 = Buffer.alloc(256, 0xab);
const cases: { name: string; bytes: Buffer; expected: StartupPacket }[] = [
  {
    name: 'StartupMessage 3.0', bytes: fe.startupMessage({ user: 'alice', database: 'app', application_name: 'psql' }),
    expected: { kind: 'startup', major: 3, minor: 0, params: new Map([['user', 'alice'], ['database', 'app'], ['application_name', 'psql']]), protocolOptions: [] },
  },
  {
    name: 'StartupMessage 3.2 with a protocol option', bytes: fe.startupMessage(new Map([['_pq_.test', '1'], ['user', 'bob']]), 2),
    expected: { kind: 'startup', major: 3, minor: 2, params: new Map([['user', 'bob']]), protocolOptions: ['_pq_.test'] },
  },
  { name: 'SSLRequest', bytes: fe.sslRequest, expected: { kind: 'ssl' } },
  { name: 'GSSENCRequest', bytes: fe.gssencRequest, expected: { kind: 'gssenc' } },
  { name: 'CancelRequest 3.0', bytes: fe.cancelRequest(1234, Buffer.from([0, 0, 0, 9])), expected: { kind: 'cancel', pid: 1234, key: Buffer.from([0, 0, 0, 9]) } },
  { name: 'CancelRequest 3.2 (256-byte key)', bytes: fe.cancelRequest(77, key256), expected: { kind: 'cancel', pid: 77, key: key256 } },
];

void describe('startup packets', () => {
  for (const c of cases) {
    void it(`${c.name}: round-trips and frames identically at every split`, () => {
      assert.deepEqual(decodeStartupPacket(c.bytes), c.expected);
      const stream = Buffer.concat([c.bytes, fe.sslRequest]);
      for (const { label, chunks } of splits(stream)) {
        const got = packets(chunks);
        assert.deepEqual(got, [c.bytes, fe.sslRequest], label);
        assert.deepEqual(decodeStartupPacket(got[0] as Buffer), c.expected, label);
      }
    });
  }

  void it('keeps parameter order, and the last value of a repeated name', () => {
    const p = decodeStartupPacket(packet(196608, 'user\0a\0options\0-c x=1\0user\0b\0\0'));
    assert.equal(p.kind, 'startup');
    if (p.kind === 'startup') assert.deepEqual([...p.params], [['user', 'b'], ['options', '-c x=1']]);
  });
});

void describe('StartupFramer length checks', () => {
  for (const len of [0, 3, 7, 10001, 0x7fffffff, -1]) {
    void it(`refuses length ${len} from the 4 length bytes alone, before any body`, () => {
      const framer = new StartupFramer();
      const word = Buffer.alloc(4);
      word.writeInt32BE(len);
      framer.push(word);
      throwsProtocol(() => framer.next(), '08P01', 'invalid length of startup packet');
      assert.equal(framer.bufferedBytes, 4);
    });
  }

  void it('accepts exactly 10000 bytes, and waits for the body', () => {
    const framer = new StartupFramer();
    const big = packet(196608, Buffer.concat([Buffer.from('user\0u\0x\0'), Buffer.alloc(10000 - 8 - 10 - 1, 0x61), Buffer.from('\0\0')]));
    assert.equal(big.length, 10000);
    framer.push(big.subarray(0, 4));
    assert.equal(framer.next(), null);
    framer.push(big.subarray(4, 9999));
    assert.equal(framer.next(), null);
    framer.push(big.subarray(9999));
    assert.deepEqual(framer.next(), big);
    assert.equal(decodeStartupPacket(big).kind, 'startup');
  });

  void it('returns bytes after the packet as the remainder', () => {
    const framer = new StartupFramer();
    framer.push(Buffer.concat([fe.sslRequest, Buffer.from([0x16, 3, 1])]));
    assert.deepEqual(framer.next(), fe.sslRequest);
    assert.equal(framer.next(), null);
    assert.deepEqual(framer.remainder(), Buffer.from([0x16, 3, 1]));
    assert.equal(framer.bufferedBytes, 0);
  });
});

void describe('decodeStartupPacket errors', () => {
  const layout = 'invalid startup packet layout: expected terminator as last byte';
  const bodies: [string, string][] = [
    ['no terminator at all', ''],
    ['an unterminated name', 'user'],
    ['a name without a value', 'user\0'],
    ['an unterminated value', 'user\0alice'],
    ['a value but no final terminator', 'user\0alice\0'],
    ['bytes after the terminator', 'user\0alice\0\0x'],
    ['an early terminator', 'user\0alice\0\0\0'],
  ];
  for (const [what, body] of bodies) {
    void it(`refuses ${what}`, () => {
      throwsProtocol(() => decodeStartupPacket(packet(196608, body)), '08P01', layout);
    });
  }

  void it('refuses major versions other than 3 with wire.unsupportedProtocol (0A000)', () => {
    const wording = (major: number, minor: number): string => wire.unsupportedProtocol(major, minor).message;
    throwsProtocol(() => decodeStartupPacket(packet(0x20000, 'user\0a\0\0')), '0A000', wording(2, 0));
    throwsProtocol(() => decodeStartupPacket(packet(0x40001, 'user\0a\0\0')), '0A000', wording(4, 1));
    throwsProtocol(() => decodeStartupPacket(packet(80877105)), '0A000', wording(1234, 5681));
    assert.match(wording(2, 0), /^unsupported frontend protocol 2\.0: server supports 3\.0 to 3\.\d$/);
  });

  void it('passes a newer minor version through for NegotiateProtocolVersion', () => {
    const p = decodeStartupPacket(packet(0x30007, 'user\0a\0\0'));
    assert.ok(p.kind === 'startup' && p.minor === 7);
  });

  void it('requires a non-empty user (28000)', () => {
    const message = 'no PostgreSQL user name specified in startup packet';
    throwsProtocol(() => decodeStartupPacket(packet(196608, 'database\0d\0\0')), '28000', message);
    throwsProtocol(() => decodeStartupPacket(packet(196608, 'user\0\0\0')), '28000', message);
  });

  void it('refuses SSLRequest and GSSENCRequest with a body', () => {
    throwsProtocol(() => decodeStartupPacket(packet(80877103, 'x')), '08P01', 'invalid length of startup packet');
    throwsProtocol(() => decodeStartupPacket(packet(80877104, 'x')), '08P01', 'invalid length of startup packet');
  });

  void it('refuses cancel requests without a pid, or with a key under 4 or over 256 bytes', () => {
    throwsProtocol(() => decodeStartupPacket(packet(80877102, Buffer.alloc(3))), '08P01', 'invalid length of cancel request packet');
    for (const keyLength of [0, 3, 257]) {
      throwsProtocol(() => decodeStartupPacket(packet(80877102, Buffer.alloc(4 + keyLength))), '08P01',
        'invalid length of cancel key in cancel request packet');
    }
  });

  void it('copies the cancel key out of the packet', () => {
    const bytes = fe.cancelRequest(1, Buffer.from([1, 2, 3, 4]));
    const p = decodeStartupPacket(bytes);
    bytes.fill(0);
    assert.ok(p.kind === 'cancel' && p.key.equals(Buffer.from([1, 2, 3, 4])));
  });

  void it('refuses a buffer whose length word disagrees with its size', () => {
    throwsProtocol(() => decodeStartupPacket(fe.sslRequest.subarray(0, 7)), '08P01', 'invalid length of startup packet');
    throwsProtocol(() => decodeStartupPacket(Buffer.concat([fe.sslRequest, Buffer.from([0])])), '08P01', 'invalid length of startup packet');
  });
});

void describe('looksLikeTlsClientHello', () => {
  void it('is true only for a TLS handshake record', () => {
    assert.equal(looksLikeTlsClientHello(0x16), true);
    assert.equal(looksLikeTlsClientHello(0x00), false);
    assert.equal(looksLikeTlsClientHello(fe.sslRequest[0] as number), false);
  });
});
