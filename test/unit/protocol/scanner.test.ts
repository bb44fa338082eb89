/** StreamScanner: the relay's boundary walker agrees with MessageFramer and skips without holding bytes. */
import { describe, it } from 'node:test';
import { strict as assert } from 'node:assert';
import { StreamScanner } from '../../../src/protocol/scanner.js';
import { BackendCode as B, FrontendCode as F, backendMessageCap, frontendMessageCap, type LengthCap } from '../../../src/protocol/codes.js';
import * as be from '../../../src/protocol/backend/encode.js';
import * as fe from '../../../src/protocol/frontend/encode.js';
import { frameAll, scanAll, splits, throwsProtocol } from './helpers.js';

const serverStream = Buffer.concat([
  be.rowDescription(['a', 'b']),
  ...Array.from({ length: 5 }, (_, i) => be.dataRow([`row ${i}`, null])),
  be.commandComplete('SELECT 5'),
  be.readyForQuery('T'),
  be.errorResponse({ severity: 'ERROR', code: '42P01', message: 'relation "x" does not exist' }),
  be.readyForQuery('E'),
]);

void describe('StreamScanner', () => {
  void it('passes exactly the interesting messages the framer sees, at every split', () => {
    const interesting: number[] = [B.ReadyForQuery, B.ErrorResponse];
    const want = frameAll(backendMessageCap, [serverStream]).filter((f) => interesting.includes(f.type));
    assert.equal(want.length, 3);
    for (const { label, chunks } of splits(serverStream)) {
      const got = scanAll(backendMessageCap, interesting, chunks);
      assert.deepEqual(got.seen, want, label);
      assert.equal(got.messages, 10, label);
      assert.equal(got.bytes, serverStream.length, label);
    }
  });

  void it('passes a view of the chunk when the message is inside it', () => {
    const chunk = Buffer.concat([be.commandComplete('SELECT 1'), be.readyForQueryIdle]);
    const scanner = new StreamScanner([B.ReadyForQuery], backendMessageCap);
    let body: Buffer | null = null;
    scanner.scan(chunk, (_t, b) => (body = b));
    assert.ok(body);
    assert.equal((body as Buffer).buffer, chunk.buffer);
    assert.equal((body as Buffer).toString(), 'I');
  });

  void it('skips a message spanning many chunks without holding any of it', () => {
    const big = fe.query('x'.repeat(1_000_000));
    const stream = Buffer.concat([big, fe.sync]);
    const scanner = new StreamScanner([F.Sync], frontendMessageCap);
    const seen: number[] = [];
    for (let at = 0; at < stream.length; at += 4096) {
      scanner.scan(stream.subarray(at, at + 4096), (t) => seen.push(t));
      assert.ok(scanner.bufferedBytes <= 4, 'at most a split header is held');
    }
    assert.deepEqual(seen, [F.Sync]);
    assert.equal(scanner.messages, 2);
  });

  void it('assembles an interesting message that spans many chunks', () => {
    const text = 'SELECT '.padEnd(200_000, 'y');
    const stream = Buffer.concat([fe.query(text), fe.sync]);
    const scanner = new StreamScanner([F.Query], frontendMessageCap);
    const seen: string[] = [];
    for (let at = 0; at < stream.length; at += 1000) {
      scanner.scan(stream.subarray(at, at + 1000), (_t, body) => seen.push(body.toString('utf8', 0, body.length - 1)));
    }
    assert.deepEqual(seen, [text]);
  });

  void it('applies the caps, with the cap function wording for refused types', () => {
    const cap: LengthCap = () => 100;
    const small = new StreamScanner([], cap);
    throwsProtocol(() => small.scan(Buffer.from([0x51, 0, 0, 0, 101]), () => {}), '08P01', 'invalid message length');
    const tiny = new StreamScanner([], cap);
    throwsProtocol(() => tiny.scan(Buffer.from([0x51, 0, 0, 0, 3]), () => {}), '08P01', 'invalid message length');
    const front = new StreamScanner([], frontendMessageCap);
    throwsProtocol(() => front.scan(Buffer.from([0x70, 0, 0, 0, 4]), () => {}), '08P01', 'invalid frontend message type 112');
    const back = new StreamScanner([], backendMessageCap);
    throwsProtocol(() => back.scan(Buffer.from([0x21, 0, 0, 0, 4]), () => {}), '08P01',
      'unexpected response from server; first received character was "!"');
  });

  void it('checks a header split across chunks (1 to 4 length bytes) against the cap', () => {
    const bad = Buffer.from([0x53, 0, 0, 0x27, 0x12]); // Sync claiming 10002 bytes
    for (let at = 1; at < 5; at++) {
      const scanner = new StreamScanner([], frontendMessageCap);
      scanner.scan(bad.subarray(0, at), () => {});
      assert.equal(scanner.bufferedBytes, at);
      throwsProtocol(() => scanner.scan(bad.subarray(at), () => {}), '08P01', 'invalid message length');
    }
  });

  void it('counts messages and bytes', () => {
    const scanner = new StreamScanner([], backendMessageCap);
    scanner.scan(serverStream, () => assert.fail('nothing is interesting'));
    scanner.scan(be.readyForQueryIdle, () => assert.fail('nothing is interesting'));
    assert.equal(scanner.messages, 11);
    assert.equal(scanner.bytes, serverStream.length + 6);
  });
});
