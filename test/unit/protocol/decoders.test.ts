/** Decoder rules beyond the round trip: PostgreSQL's specific checks and wording. */
import { describe, it } from 'node:test';
import { strict as assert } from 'node:assert';
import * as fd from '../../../src/protocol/frontend/decode.js';
import * as bd from '../../../src/protocol/backend/decode.js';
import { bodyOf, frame, throwsProtocol } from './helpers.js';

const int16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
const int32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

void describe('frontend decoders', () => {
  void it('PasswordMessage must be exactly one string', () => {
    const message = 'invalid password packet size';
    throwsProtocol(() => fd.decodePasswordMessage(Buffer.alloc(0)), '08P01', message);
    throwsProtocol(() => fd.decodePasswordMessage(Buffer.from('a\0b\0')), '08P01', message);
    throwsProtocol(() => fd.decodePasswordMessage(Buffer.from('abc')), '08P01', message);
  });

  void it('SASLInitialResponse refuses a length below -1 or past the end', () => {
    throwsProtocol(() => fd.decodeSASLInitialResponse(Buffer.from([...Buffer.from('M\0'), ...int32(-2)])), '08P01', 'insufficient data left in message');
    throwsProtocol(() => fd.decodeSASLInitialResponse(Buffer.from([...Buffer.from('M\0'), ...int32(5), 1, 2])), '08P01', 'insufficient data left in message');
  });

  void it('Bind refuses a format count that is neither 0, 1 nor the parameter count', () => {
    const body = bodyOf(frame('B', 'p\0s\0', int16(2), int16(0), int16(0), int16(3), int32(-1), int32(-1), int32(-1), int16(0)));
    throwsProtocol(() => fd.decodeBind(body), '08P01', 'bind message has 2 parameter formats but 3 parameters');
  });

  void it('Bind refuses a value length below -1', () => {
    throwsProtocol(() => fd.decodeBind(bodyOf(frame('B', 'p\0s\0', int16(0), int16(1), int32(-5), int16(0)))), '08P01', 'insufficient data left in message');
  });

  void it('Bind returns values as views into the body', () => {
    const body = bodyOf(frame('B', 'p\0s\0', int16(0), int16(1), int32(2), 'hi', int16(0)));
    const value = fd.decodeBind(body).params[0];
    assert.ok(value);
    assert.equal(value.buffer, body.buffer);
  });

  void it('Parse checks a huge parameter count against the body before looping', () => {
    throwsProtocol(() => fd.decodeParse(bodyOf(frame('P', 's\0q\0', int16(65535)))), '08P01', 'insufficient data left in message');
  });

  void it('Describe and Close refuse a subtype other than S or P', () => {
    throwsProtocol(() => fd.decodeDescribe(Buffer.from('Xname\0')), '08P01', 'invalid DESCRIBE message subtype 88');
    throwsProtocol(() => fd.decodeClose(Buffer.from('sname\0')), '08P01', 'invalid CLOSE message subtype 115');
  });

  void it('decodes a view of a larger buffer without reading past it', () => {
    const whole = Buffer.from('SELECT 1\0trailing garbage\0');
    assert.equal(fd.decodeQuery(whole.subarray(0, 9)), 'SELECT 1');
    throwsProtocol(() => fd.decodeQuery(whole.subarray(0, 8)), '08P01', 'invalid string in message');
  });
});

void describe('backend decoders', () => {
  void it('Authentication refuses methods gatehouse does not speak', () => {
    for (const m of [2, 6, 7, 8, 9, 13, -1]) {
      throwsProtocol(() => bd.decodeAuthentication(Buffer.from(int32(m))), '08P01', `authentication method ${m} not supported`);
    }
  });

  void it('Authentication copies the salt and SASL data', () => {
    const body = Buffer.from([...int32(5), 1, 2, 3, 4]);
    const a = bd.decodeAuthentication(body);
    body.fill(0);
    assert.deepEqual(a, { code: 5, salt: Buffer.from([1, 2, 3, 4]) });
  });

  void it('AuthenticationSASL needs its empty-string terminator', () => {
    throwsProtocol(() => bd.decodeAuthentication(Buffer.from([...int32(10), ...Buffer.from('SCRAM-SHA-256\0')])), '08P01', 'invalid string in message');
  });

  void it('ErrorResponse ignores unknown fields and requires S, C and M', () => {
    const withUnknown = Buffer.from('SERROR\0C42000\0Mboom\0Zzzz\0\0');
    assert.deepEqual(bd.decodeErrorResponse(withUnknown), { severity: 'ERROR', code: '42000', message: 'boom' });
    throwsProtocol(() => bd.decodeErrorResponse(Buffer.from('SERROR\0Mboom\0\0')), '08P01', 'ErrorResponse or NoticeResponse without severity, code or message');
  });

  void it('ErrorResponse reads every documented field', () => {
    const all = 'SVCMDHPpqWstcdnFLR';
    const body = Buffer.from([...all].map((c) => `${c}${c}-value\0`).join('') + '\0');
    const fields = bd.decodeErrorResponse(body);
    assert.equal(Object.keys(fields).length, all.length);
    for (const [name, c] of Object.entries(bd.ErrorField)) assert.equal(fields[name as keyof typeof fields], `${c}-value`);
  });

  void it('BackendKeyData refuses keys under 4 or over 256 bytes, in libpq words', () => {
    throwsProtocol(() => bd.decodeBackendKeyData(Buffer.from([...int32(1), 1, 2, 3])), '08P01', /length 3 is too short/);
    throwsProtocol(() => bd.decodeBackendKeyData(Buffer.concat([Buffer.from(int32(1)), Buffer.alloc(257)])), '08P01', /length 257 is too long/);
    throwsProtocol(() => bd.decodeBackendKeyData(Buffer.from([0, 0])), '08P01', 'insufficient data left in message');
  });

  void it('ReadyForQuery refuses any status but I, T and E', () => {
    throwsProtocol(() => bd.decodeReadyForQuery(Buffer.from('X')), '08P01', 'invalid ReadyForQuery message');
    throwsProtocol(() => bd.decodeReadyForQuery(Buffer.alloc(0)), '08P01', 'invalid ReadyForQuery message');
  });

  void it('NegotiateProtocolVersion checks the count before looping, and the major version', () => {
    throwsProtocol(() => bd.decodeNegotiateProtocolVersion(Buffer.from([...int32(0x30002), ...int32(0x7fffffff)])), '08P01', 'insufficient data left in message');
    throwsProtocol(() => bd.decodeNegotiateProtocolVersion(Buffer.from([...int32(0x30002), ...int32(-1)])), '08P01', 'insufficient data left in message');
    throwsProtocol(() => bd.decodeNegotiateProtocolVersion(Buffer.from([...int32(0x40000), ...int32(0)])), '08P01', 'received invalid protocol negotiation message');
  });

  void it('DataRow and RowDescription check huge counts before allocating', () => {
    throwsProtocol(() => bd.decodeDataRow(Buffer.from(int16(65535))), '08P01', 'insufficient data left in message');
    throwsProtocol(() => bd.decodeRowDescription(Buffer.from(int16(65535))), '08P01', 'insufficient data left in message');
  });
});
