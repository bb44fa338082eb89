/**
 * Every typed message gatehouse encodes or decodes: round trip encode → decode, the same result
 * through MessageFramer and StreamScanner for every way of cutting the bytes into chunks, and
 * 08P01 for leftover bytes and for every truncation of the body.
 */
import { describe, it } from 'node:test';
import { strict as assert } from 'node:assert';
import * as fe from '../../../src/protocol/frontend/encode.js';
import * as be from '../../../src/protocol/backend/encode.js';
import * as fd from '../../../src/protocol/frontend/decode.js';
import * as bd from '../../../src/protocol/backend/decode.js';
import { decodeEmpty } from '../../../src/protocol/reader.js';
import { authMessageCap, backendMessageCap, frontendMessageCap, type LengthCap } from '../../../src/protocol/codes.js';
import { bodyOf, frameAll, scanAll, splits, throwsProtocol } from './helpers.js';

interface Case {
  name: string;
  bytes: Buffer;
  decode: (body: Buffer) => unknown;
  expected: unknown;
  cap: LengthCap;
  /** A message that follows it on the wire in the split tests. */
  next: Buffer;
  /** The body ends with "the rest of the message": leftovers and prefixes can be valid. */
  openEnded?: boolean;
}

const fcap = frontendMessageCap;
const pcap = authMessageCap('SASL');
const bcap = backendMessageCap;
const key32 = Buffer.alloc(32, 7);
const salt = Buffer.from([1, 2, 3, 4]);

const frontend: Case[] = [
  { name: 'PasswordMessage', bytes: fe.passwordMessage('s3cr3t é'), decode: fd.decodePasswordMessage, expected: 's3cr3t é', cap: pcap, next: fe.saslResponse(Buffer.from('x')) },
  {
    name: 'SASLInitialResponse', bytes: fe.saslInitialResponse('SCRAM-SHA-256', Buffer.from('n,,n=,r=abc')),
    decode: fd.decodeSASLInitialResponse, expected: { mechanism: 'SCRAM-SHA-256', data: Buffer.from('n,,n=,r=abc') }, cap: pcap, next: fe.passwordMessage('x'),
  },
  {
    name: 'SASLInitialResponse without data', bytes: fe.saslInitialResponse('SCRAM-SHA-256', null),
    decode: fd.decodeSASLInitialResponse, expected: { mechanism: 'SCRAM-SHA-256', data: null }, cap: pcap, next: fe.passwordMessage('x'),
  },
  { name: 'SASLResponse', bytes: fe.saslResponse(Buffer.from('c=biws,r=abc,p=xyz')), decode: fd.decodeSASLResponse, expected: Buffer.from('c=biws,r=abc,p=xyz'), cap: pcap, next: fe.passwordMessage('x'), openEnded: true },
  { name: 'Query', bytes: fe.query('SELECT 1; -- ☃'), decode: fd.decodeQuery, expected: 'SELECT 1; -- ☃', cap: fcap, next: fe.sync },
  { name: 'Parse', bytes: fe.parse('s1', 'SELECT $1, $2', [23, 0xffffffff]), decode: fd.decodeParse, expected: { name: 's1', query: 'SELECT $1, $2', paramTypes: [23, 0xffffffff] }, cap: fcap, next: fe.sync },
  {
    name: 'Bind', bytes: fe.bind('p1', 's1', [Buffer.from('42'), null, Buffer.alloc(0)], [0], [1, 0]), decode: fd.decodeBind,
    expected: { portal: 'p1', statement: 's1', paramFormats: [0], params: [Buffer.from('42'), null, Buffer.alloc(0)], resultFormats: [1, 0] }, cap: fcap, next: fe.execute(),
  },
  { name: 'Describe statement', bytes: fe.describe('S', 's1'), decode: fd.decodeDescribe, expected: { kind: 'S', name: 's1' }, cap: fcap, next: fe.sync },
  { name: 'Describe portal', bytes: fe.describe('P', ''), decode: fd.decodeDescribe, expected: { kind: 'P', name: '' }, cap: fcap, next: fe.sync },
  { name: 'Close', bytes: fe.close('P', 'p1'), decode: fd.decodeClose, expected: { kind: 'P', name: 'p1' }, cap: fcap, next: fe.sync },
  { name: 'Execute', bytes: fe.execute('p1', 10), decode: fd.decodeExecute, expected: { portal: 'p1', maxRows: 10 }, cap: fcap, next: fe.sync },
  { name: 'CopyFail', bytes: fe.copyFail('client gave up'), decode: fd.decodeCopyFail, expected: 'client gave up', cap: fcap, next: fe.sync },
  {
    name: 'FunctionCall', bytes: fe.functionCall(1234, [Buffer.from([1, 2]), null], [1], 1), decode: fd.decodeFunctionCall,
    expected: { oid: 1234, argFormats: [1], args: [Buffer.from([1, 2]), null], resultFormat: 1 }, cap: fcap, next: fe.sync,
  },
  { name: 'Sync', bytes: fe.sync, decode: decodeEmpty, expected: undefined, cap: fcap, next: fe.terminate },
  { name: 'Flush', bytes: fe.flush, decode: decodeEmpty, expected: undefined, cap: fcap, next: fe.sync },
  { name: 'Terminate', bytes: fe.terminate, decode: decodeEmpty, expected: undefined, cap: fcap, next: fe.sync },
];

const wireError = { severity: 'FATAL', code: '28P01', message: 'password authentication failed for user "bob"', detail: 'd', hint: 'h' };
const backend: Case[] = [
  { name: 'AuthenticationOk', bytes: be.authenticationOk, decode: bd.decodeAuthentication, expected: { code: 0 }, cap: bcap, next: be.readyForQueryIdle },
  { name: 'AuthenticationCleartextPassword', bytes: be.authenticationCleartextPassword, decode: bd.decodeAuthentication, expected: { code: 3 }, cap: bcap, next: be.readyForQueryIdle },
  { name: 'AuthenticationMD5Password', bytes: be.authenticationMD5Password(salt), decode: bd.decodeAuthentication, expected: { code: 5, salt }, cap: bcap, next: be.readyForQueryIdle },
  {
    name: 'AuthenticationSASL', bytes: be.authenticationSASL(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']), decode: bd.decodeAuthentication,
    expected: { code: 10, mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'] }, cap: bcap, next: be.readyForQueryIdle,
  },
  { name: 'AuthenticationSASLContinue', bytes: be.authenticationSASLContinue(Buffer.from('r=abc,s=c2FsdA==,i=4096')), decode: bd.decodeAuthentication, expected: { code: 11, data: Buffer.from('r=abc,s=c2FsdA==,i=4096') }, cap: bcap, next: be.readyForQueryIdle, openEnded: true },
  { name: 'AuthenticationSASLFinal', bytes: be.authenticationSASLFinal(Buffer.from('v=xyz')), decode: bd.decodeAuthentication, expected: { code: 12, data: Buffer.from('v=xyz') }, cap: bcap, next: be.readyForQueryIdle, openEnded: true },
  {
    name: 'ErrorResponse', bytes: be.errorResponse(wireError), decode: bd.decodeErrorResponse,
    expected: { severity: 'FATAL', severityNonLocalized: 'FATAL', code: '28P01', message: wireError.message, detail: 'd', hint: 'h' }, cap: bcap, next: be.readyForQueryIdle,
  },
  {
    name: 'NoticeResponse', bytes: be.noticeResponse({ severity: 'NOTICE', code: '00000', message: 'hello' }), decode: bd.decodeNoticeResponse,
    expected: { severity: 'NOTICE', severityNonLocalized: 'NOTICE', code: '00000', message: 'hello' }, cap: bcap, next: be.readyForQueryIdle,
  },
  { name: 'ParameterStatus', bytes: be.parameterStatus('server_version', '18.1'), decode: bd.decodeParameterStatus, expected: { name: 'server_version', value: '18.1' }, cap: bcap, next: be.readyForQueryIdle },
  { name: 'BackendKeyData 3.0', bytes: be.backendKeyData(4242, salt), decode: bd.decodeBackendKeyData, expected: { pid: 4242, key: salt }, cap: bcap, next: be.readyForQueryIdle, openEnded: true },
  { name: 'BackendKeyData 3.0, key as an Int32', bytes: be.backendKeyData(4242, -2), decode: bd.decodeBackendKeyData, expected: { pid: 4242, key: Buffer.from([0xff, 0xff, 0xff, 0xfe]) }, cap: bcap, next: be.readyForQueryIdle, openEnded: true },
  { name: 'BackendKeyData 3.2', bytes: be.backendKeyData(-7, key32), decode: bd.decodeBackendKeyData, expected: { pid: -7, key: key32 }, cap: bcap, next: be.readyForQueryIdle, openEnded: true },
  { name: 'ReadyForQuery I', bytes: be.readyForQuery('I'), decode: bd.decodeReadyForQuery, expected: 'I', cap: bcap, next: be.authenticationOk },
  { name: 'ReadyForQuery T', bytes: be.readyForQuery('T'), decode: bd.decodeReadyForQuery, expected: 'T', cap: bcap, next: be.readyForQueryIdle },
  { name: 'ReadyForQuery E', bytes: be.readyForQuery('E'), decode: bd.decodeReadyForQuery, expected: 'E', cap: bcap, next: be.readyForQueryIdle },
  {
    name: 'NegotiateProtocolVersion', bytes: be.negotiateProtocolVersion(2, ['_pq_.a', '_pq_.b']), decode: bd.decodeNegotiateProtocolVersion,
    expected: { newestMinor: 2, unsupported: ['_pq_.a', '_pq_.b'] }, cap: bcap, next: be.authenticationOk,
  },
  { name: 'CommandComplete', bytes: be.commandComplete('SELECT 3'), decode: bd.decodeCommandComplete, expected: 'SELECT 3', cap: bcap, next: be.readyForQueryIdle },
  { name: 'RowDescription', bytes: be.rowDescription(['name', 'value']), decode: bd.decodeRowDescription, expected: ['name', 'value'], cap: bcap, next: be.dataRow(['a', 'b']) },
  { name: 'DataRow', bytes: be.dataRow(['x', null, '', 'é']), decode: bd.decodeDataRow, expected: [Buffer.from('x'), null, Buffer.alloc(0), Buffer.from('é')], cap: bcap, next: be.commandComplete('SHOW') },
  { name: 'EmptyQueryResponse', bytes: be.emptyQueryResponse, decode: decodeEmpty, expected: undefined, cap: bcap, next: be.readyForQueryIdle },
];

for (const [side, cases] of [['frontend', frontend], ['backend', backend]] as const) {
  void describe(`${side} messages`, () => {
    for (const c of cases) {
      void describe(c.name, () => {
        void it('round-trips encode → decode', () => {
          assert.deepEqual(c.decode(bodyOf(c.bytes)), c.expected);
          assert.equal(c.bytes.readInt32BE(1), c.bytes.length - 1, 'length word counts itself, not the type');
        });

        void it('decodes the same through the framer and the scanner at every split', () => {
          const stream = Buffer.concat([c.bytes, c.next]);
          const type = c.bytes[0] as number;
          const want = [{ type, body: bodyOf(c.bytes) }, { type: c.next[0] as number, body: bodyOf(c.next) }];
          for (const { label, chunks } of splits(stream)) {
            const frames = frameAll(c.cap, chunks);
            assert.deepEqual(frames, want, `framer, ${label}`);
            assert.deepEqual(c.decode((frames[0] as { body: Buffer }).body), c.expected, `decode, ${label}`);
            const scanned = scanAll(c.cap, [type], chunks);
            assert.deepEqual(scanned.seen, want.filter((f) => f.type === type), `scanner, ${label}`);
            assert.equal(scanned.messages, 2);
            assert.equal(scanned.bytes, stream.length);
            const skipped = scanAll(c.cap, [], chunks);
            assert.deepEqual(skipped.seen, [], `scanner skipping, ${label}`);
            assert.equal(skipped.messages, 2);
          }
        });

        if (!c.openEnded) {
          void it('refuses a leftover byte with 08P01', () => {
            throwsProtocol(() => c.decode(Buffer.concat([bodyOf(c.bytes), Buffer.from('x')])));
          });

          void it('refuses every truncation of the body with 08P01', () => {
            const body = bodyOf(c.bytes);
            for (let n = 0; n < body.length; n++) throwsProtocol(() => c.decode(Buffer.from(body.subarray(0, n))));
          });
        }
      });
    }
  });
}

void describe('constant frames', () => {
  void it('are built once and shared', () => {
    assert.equal(fe.sync, fe.sync);
    assert.equal(be.readyForQuery('I'), be.readyForQueryIdle);
    assert.deepEqual([...fe.sync], [0x53, 0, 0, 0, 4]);
    assert.deepEqual([...fe.terminate], [0x58, 0, 0, 0, 4]);
    assert.deepEqual([...be.authenticationOk], [0x52, 0, 0, 0, 8, 0, 0, 0, 0]);
    assert.deepEqual([...be.readyForQueryIdle], [0x5a, 0, 0, 0, 5, 0x49]);
  });

  void it('answers SSLRequest with one unframed byte', () => {
    assert.deepEqual([...be.sslYes], [0x53]);
    assert.deepEqual([...be.sslNo], [0x4e]);
  });

  void it('survives later encodes (the writer does not hand out its scratch buffer)', () => {
    const q = fe.query('first');
    fe.query('second, longer, overwriting the scratch buffer');
    assert.equal(fd.decodeQuery(bodyOf(q)), 'first');
  });
});

void describe('encoders', () => {
  void it('grow the writer past its first buffer', () => {
    const text = 'x'.repeat(100_000);
    assert.equal(fd.decodeQuery(bodyOf(fe.query(text))), text);
  });

  void it('refuse a NUL inside a string instead of truncating it', () => {
    assert.throws(() => fe.query('a\0b'), RangeError);
  });

  void it('refuse counts that do not fit an Int16', () => {
    assert.throws(() => be.dataRow(new Array<string | null>(65536).fill(null)), RangeError);
  });

  void it('refuse malformed salts and cancel keys', () => {
    assert.throws(() => be.authenticationMD5Password(Buffer.alloc(3)), RangeError);
    assert.throws(() => be.backendKeyData(1, Buffer.alloc(3)), RangeError);
    assert.throws(() => be.backendKeyData(1, Buffer.alloc(257)), RangeError);
  });

  void it('write ErrorResponse fields S V C M D H in order, without routine fields', () => {
    const body = bodyOf(be.errorResponse(wireError));
    const codes = [];
    for (let i = 0; body[i] !== 0; i = body.indexOf(0, i) + 1) codes.push(String.fromCharCode(body[i] as number));
    assert.deepEqual(codes, ['S', 'V', 'C', 'M', 'D', 'H']);
  });

  void it('write NegotiateProtocolVersion as PG_PROTOCOL(3, minor)', () => {
    assert.equal(bodyOf(be.negotiateProtocolVersion(2, [])).readInt32BE(0), 196610);
  });
});
