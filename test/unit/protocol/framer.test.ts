/** MessageFramer: views, copies across chunks, per-type caps checked before buffering, remainder. */
import { describe, it } from 'node:test';
import { strict as assert } from 'node:assert';
import { MessageFramer } from '../../../src/protocol/framer.js';
import { FrontendCode, authMessageCap, frontendMessageCap, type LengthCap } from '../../../src/protocol/codes.js';
import * as fe from '../../../src/protocol/frontend/encode.js';
import { frame, throwsProtocol } from './helpers.js';

const header = (type: string, len: number): Buffer => {
  const h = Buffer.alloc(5);
  h[0] = type.charCodeAt(0);
  h.writeInt32BE(len, 1);
  return h;
};

void describe('MessageFramer', () => {
  void it('returns a view into the chunk when the frame is inside it', () => {
    const chunk = Buffer.concat([fe.query('SELECT 1'), fe.sync]);
    const framer = new MessageFramer(frontendMessageCap);
    framer.push(chunk);
    const f = framer.next();
    assert.ok(f);
    assert.equal(f.body.buffer, chunk.buffer, 'same memory');
    assert.equal(f.body.byteOffset, chunk.byteOffset + 5);
    assert.deepEqual(framer.next(), { type: FrontendCode.Sync, body: Buffer.alloc(0) });
    assert.equal(framer.next(), null);
  });

  void it('copies a frame that straddles chunks into its own memory', () => {
    const bytes = fe.query('SELECT 2');
    const a = Buffer.from(bytes.subarray(0, 9));
    const b = Buffer.from(bytes.subarray(9));
    const framer = new MessageFramer(frontendMessageCap);
    framer.push(a);
    assert.equal(framer.next(), null);
    assert.equal(framer.bufferedBytes, 4, 'the 4 body bytes so far');
    framer.push(b);
    const f = framer.next();
    assert.ok(f);
    a.fill(0);
    b.fill(0);
    assert.equal(f.body.toString(), 'SELECT 2\0');
  });

  void it('frames many messages pushed before next() is called', () => {
    const framer = new MessageFramer(frontendMessageCap);
    const all = Buffer.concat([fe.query('a'), fe.sync, fe.query('b'), fe.terminate]);
    for (const b of all) framer.push(Buffer.from([b]));
    const types = [];
    for (let f = framer.next(); f; f = framer.next()) types.push(String.fromCharCode(f.type));
    assert.deepEqual(types, ['Q', 'S', 'Q', 'X']);
  });

  for (const len of [0, 3, -1, -2147483648]) {
    void it(`refuses length ${len} from the header alone`, () => {
      const framer = new MessageFramer(frontendMessageCap);
      framer.push(header('Q', len));
      throwsProtocol(() => framer.next(), '08P01', 'invalid message length');
    });
  }

  void it('refuses a length over the type cap before buffering the body (header split too)', () => {
    const cap: LengthCap = () => 100;
    for (const pieces of [[header('Q', 101)], [header('Q', 101).subarray(0, 2), header('Q', 101).subarray(2)]]) {
      const framer = new MessageFramer(cap);
      for (const p of pieces.slice(0, -1)) {
        framer.push(p);
        assert.equal(framer.next(), null);
      }
      framer.push(pieces.at(-1) as Buffer);
      throwsProtocol(() => framer.next(), '08P01', 'invalid message length');
      assert.ok(framer.bufferedBytes <= 5);
    }
    const ok = new MessageFramer(cap);
    ok.push(frame('Q', Buffer.alloc(96)));
    assert.equal(ok.next()?.body.length, 96, 'exactly the cap passes');
  });

  void it('applies small caps to small types and large ones to Query', () => {
    const framer = new MessageFramer(frontendMessageCap);
    framer.push(header('S', 10001));
    throwsProtocol(() => framer.next(), '08P01', 'invalid message length');
    const q = new MessageFramer(frontendMessageCap);
    q.push(header('Q', 50_000_000));
    assert.equal(q.next(), null, 'a 50 MB Query is allowed; nothing is allocated for it yet');
    assert.equal(q.bufferedBytes, 0);
    q.push(Buffer.alloc(10));
    assert.equal(q.next(), null);
    assert.equal(q.bufferedBytes, 10, 'memory follows the bytes that arrived');
  });

  void it('refuses an unknown type with the cap function wording', () => {
    const framer = new MessageFramer(frontendMessageCap);
    framer.push(header('p', 8));
    throwsProtocol(() => framer.next(), '08P01', 'invalid frontend message type 112');
    const auth = new MessageFramer(authMessageCap('password'));
    auth.push(fe.query('x'));
    throwsProtocol(() => auth.next(), '08P01', 'expected password response, got message type 81');
  });

  void it('hands back unread bytes as they arrived, a partial frame included', () => {
    const bytes = Buffer.concat([fe.sync, fe.query('SELECT 3'), fe.terminate]);
    for (let at = 5; at <= bytes.length; at++) {
      const framer = new MessageFramer(frontendMessageCap);
      framer.push(bytes.subarray(0, at));
      framer.next();
      while (framer.next());
      const rest = Buffer.concat([framer.remainder(), bytes.subarray(at)]);
      assert.equal(framer.bufferedBytes, 0);
      const consumed = at >= 5 + 14 + 5 ? 24 : at >= 19 ? 19 : 5;
      assert.deepEqual(rest, bytes.subarray(consumed), `split at ${at}`);
    }
  });
});
