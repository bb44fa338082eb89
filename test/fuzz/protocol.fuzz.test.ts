/**
 * Fuzz the codec with random and mutated inputs: framers, the scanner and every decoder may only
 * ever throw ProtocolError (never RangeError or TypeError), the scanner must agree with the framer,
 * and a drained framer never holds more than its cap. Seeded: set GATEHOUSE_FUZZ_SEED to replay.
 */
import { it } from 'node:test';
import { strict as assert } from 'node:assert';
import { ProtocolError } from '../../src/protocol/errors.js';
import { MessageFramer } from '../../src/protocol/framer.js';
import { StreamScanner } from '../../src/protocol/scanner.js';
import { StartupFramer, decodeStartupPacket } from '../../src/protocol/startup.js';
import { MAX_STARTUP_PACKET, authMessageCap, backendMessageCap, frontendMessageCap, type LengthCap } from '../../src/protocol/codes.js';
import { decodeEmpty } from '../../src/protocol/reader.js';
import * as fd from '../../src/protocol/frontend/decode.js';
import * as bd from '../../src/protocol/backend/decode.js';
import * as fe from '../../src/protocol/frontend/encode.js';
import * as be from '../../src/protocol/backend/encode.js';
import { prng } from '../support/prng.js';

const seed = Number(process.env.GATEHOUSE_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
console.log(`protocol fuzz seed ${seed} (replay with GATEHOUSE_FUZZ_SEED=${seed})`);

const random = prng(seed);
const int = (n: number): number => Math.floor(random() * n);
const pick = <T>(list: readonly T[]): T => list[int(list.length)] as T;
const randomBytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(256)));

const SMALL_CAP = 256;
const smallCap: LengthCap = () => SMALL_CAP;

const frontendCorpus = [
  fe.query('SELECT 1'), fe.parse('s', 'SELECT $1', [23]), fe.bind('p', 's', [Buffer.from('1'), null], [0], [0]),
  fe.describe('S', 's'), fe.close('P', 'p'), fe.execute('p', 5), fe.copyFail('no'), fe.functionCall(9, [null], [1], 0),
  fe.sync, fe.flush, fe.terminate, fe.passwordMessage('pw'), fe.saslInitialResponse('SCRAM-SHA-256', Buffer.from('n,,n=,r=x')),
  fe.saslResponse(Buffer.from('c=biws')),
];
const backendCorpus = [
  be.authenticationOk, be.authenticationCleartextPassword, be.authenticationMD5Password(Buffer.from([1, 2, 3, 4])),
  be.authenticationSASL(['SCRAM-SHA-256']), be.authenticationSASLContinue(Buffer.from('r=x')), be.authenticationSASLFinal(Buffer.from('v=y')),
  be.errorResponse({ severity: 'FATAL', code: '28P01', message: 'm', detail: 'd' }), be.noticeResponse({ severity: 'NOTICE', code: '00000', message: 'n' }),
  be.parameterStatus('a', 'b'), be.backendKeyData(1, Buffer.alloc(32, 1)), be.readyForQueryIdle, be.readyForQuery('E'),
  be.negotiateProtocolVersion(2, ['_pq_.x']), be.commandComplete('SELECT 1'), be.rowDescription(['a']), be.dataRow(['x', null]),
  be.emptyQueryResponse,
];
const startupCorpus = [
  fe.startupMessage({ user: 'u', database: 'd' }), fe.startupMessage({ user: 'u', _pq_x: 'y' }, 2), fe.sslRequest,
  fe.gssencRequest, fe.cancelRequest(5, Buffer.alloc(4, 2)), fe.cancelRequest(5, Buffer.alloc(64, 3)),
];

const LENGTHS = [0, 1, 3, 4, 5, 7, 8, 9, SMALL_CAP, SMALL_CAP + 1, 10000, 10001, 65535, 65536, 0x3fffffff, -1, -2147483648];

/** One random edit of `b`. */
function mutate(b: Buffer): Buffer {
  const out = Buffer.from(b);
  switch (int(8)) {
    case 0: // flip a bit
      if (out.length) {
        const at = int(out.length);
        out[at] = (out[at] as number) ^ (1 << int(8));
      }
      return out;
    case 1: // random byte
      if (out.length) out[int(out.length)] = int(256);
      return out;
    case 2: { // insert bytes
      const at = int(out.length + 1);
      return Buffer.concat([out.subarray(0, at), randomBytes(1 + int(4)), out.subarray(at)]);
    }
    case 3: { // delete a range
      const at = int(out.length + 1);
      return Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + int(4))]);
    }
    case 4: // truncate
      return out.subarray(0, int(out.length + 1));
    case 5: { // an interesting length word at a random offset
      if (out.length >= 4) out.writeInt32BE(pick(LENGTHS), int(out.length - 3));
      return out;
    }
    case 6: // NUL or 0xff somewhere
      if (out.length) out[int(out.length)] = pick([0, 0xff, 0x7f, 0x80]);
      return out;
    default: // append garbage
      return Buffer.concat([out, randomBytes(int(16))]);
  }
}

/** A stream: a few corpus messages, mutated a few times, or plain noise. */
function input(corpus: readonly Buffer[]): Buffer {
  if (int(10) === 0) return randomBytes(int(64));
  let b: Buffer = Buffer.concat(Array.from({ length: 1 + int(4) }, () => pick(corpus)));
  for (let n = int(4); n > 0; n--) b = mutate(b);
  return b;
}

/** Random chunking: sometimes whole, sometimes one byte at a time. */
function chunk(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < b.length;) {
    const n = pick([1, 2, 3, 5, 8, 64, b.length]);
    out.push(b.subarray(at, at + n));
    at += n;
  }
  return out;
}

/** Calls into a framer, the scanner or a decoder, and how many of them were refused. */
let inputs = 0;
let rejected = 0;
function onlyProtocolErrors(what: string, data: Buffer, fn: () => void): boolean {
  inputs++;
  try {
    fn();
    return true;
  } catch (e) {
    if (e instanceof ProtocolError) {
      rejected++;
      return false;
    }
    assert.fail(`${what} threw ${String(e)} (seed ${seed}, input ${data.toString('hex')})\n${(e as Error).stack}`);
  }
}

const frontendDecoders: Record<string, ((b: Buffer) => unknown)[]> = {
  p: [fd.decodePasswordMessage, fd.decodeSASLInitialResponse, fd.decodeSASLResponse], Q: [fd.decodeQuery], P: [fd.decodeParse],
  B: [fd.decodeBind], D: [fd.decodeDescribe], C: [fd.decodeClose], E: [fd.decodeExecute], f: [fd.decodeCopyFail],
  F: [fd.decodeFunctionCall], S: [decodeEmpty], H: [decodeEmpty], X: [decodeEmpty],
};
const backendDecoders: Record<string, ((b: Buffer) => unknown)[]> = {
  R: [bd.decodeAuthentication], E: [bd.decodeErrorResponse], N: [bd.decodeNoticeResponse], S: [bd.decodeParameterStatus],
  K: [bd.decodeBackendKeyData], Z: [bd.decodeReadyForQuery], v: [bd.decodeNegotiateProtocolVersion], C: [bd.decodeCommandComplete],
  T: [bd.decodeRowDescription], D: [bd.decodeDataRow], I: [decodeEmpty],
};
const allDecoders = [...Object.values(frontendDecoders), ...Object.values(backendDecoders)].flat();

/** Frame with MessageFramer and, separately, scan; both must agree on the interesting messages. */
function frameAndScan(data: Buffer, cap: LengthCap, decoders: Record<string, ((b: Buffer) => unknown)[]>, bound: number): void {
  const chunks = chunk(data);
  const interesting = [...'QPZEKSRpT'].map((c) => c.charCodeAt(0)).filter(() => int(2) === 0);
  const framed: string[] = [];
  const framerOk = onlyProtocolErrors('MessageFramer', data, () => {
    const framer = new MessageFramer(cap);
    for (const c of chunks) {
      framer.push(c);
      for (let f = framer.next(); f; f = framer.next()) {
        if (interesting.includes(f.type)) framed.push(`${f.type}:${f.body.toString('hex')}`);
        for (const decode of decoders[String.fromCharCode(f.type)] ?? []) onlyProtocolErrors('decoder', f.body, () => void decode(f.body));
      }
      assert.ok(framer.bufferedBytes <= bound, `framer holds ${framer.bufferedBytes} > ${bound} (seed ${seed})`);
    }
  });
  const scanned: string[] = [];
  const scannerOk = onlyProtocolErrors('StreamScanner', data, () => {
    const scanner = new StreamScanner(interesting, cap);
    for (const c of chunks) {
      scanner.scan(c, (type, body) => scanned.push(`${type}:${body.toString('hex')}`));
      assert.ok(scanner.bufferedBytes <= bound, `scanner holds ${scanner.bufferedBytes} > ${bound} (seed ${seed})`);
    }
  });
  assert.equal(scannerOk, framerOk, `scanner and framer disagree on ${data.toString('hex')} (seed ${seed})`);
  if (framerOk) assert.deepEqual(scanned, framed, `scanner and framer disagree on ${data.toString('hex')} (seed ${seed})`);
}

function startup(data: Buffer): void {
  onlyProtocolErrors('StartupFramer', data, () => {
    const framer = new StartupFramer();
    for (const c of chunk(data)) {
      framer.push(c);
      for (let p = framer.next(); p; p = framer.next()) {
        const packet = p;
        onlyProtocolErrors('decodeStartupPacket', packet, () => void decodeStartupPacket(packet));
      }
      assert.ok(framer.bufferedBytes < MAX_STARTUP_PACKET, `startup framer holds ${framer.bufferedBytes} (seed ${seed})`);
    }
  });
}

void it('codec survives random and mutated input (only ProtocolError, bounded memory)', () => {
  const started = Date.now();
  const rounds = 2500; // each makes 6 generated inputs: 15,000 in all, fed to many more calls
  for (let i = 0; i < rounds; i++) {
    startup(input(startupCorpus));
    frameAndScan(input(frontendCorpus), frontendMessageCap, frontendDecoders, Infinity);
    frameAndScan(input(frontendCorpus), authMessageCap('SASL'), frontendDecoders, 65535);
    frameAndScan(input(backendCorpus), backendMessageCap, backendDecoders, Infinity);
    frameAndScan(input([...frontendCorpus, ...backendCorpus]), smallCap, {}, SMALL_CAP);
    const body = int(2) ? randomBytes(int(40)) : mutate(pick([...frontendCorpus, ...backendCorpus]).subarray(5));
    for (const decode of allDecoders) onlyProtocolErrors('decoder', body, () => void decode(body));
  }
  console.log(`${rounds * 6} generated inputs, ${inputs} calls, ${rejected} refused with ProtocolError, ${Date.now() - started} ms`);
  assert.ok(rounds * 6 >= 10_000);
  assert.ok(rejected > 1000 && rejected < inputs, 'the fuzzer produces both valid and invalid input');
});
