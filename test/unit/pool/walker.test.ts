import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageWalker, Walk, type WalkHandler } from '../../../src/pool/walker.js';
import { backendMessageCap, frontendMessageCap } from '../../../src/protocol/codes.js';
import * as fe from '../../../src/protocol/frontend/encode.js';
import * as be from '../../../src/protocol/backend/encode.js';
import { ProtocolError } from '../../../src/protocol/errors.js';

/** Drops CloseComplete ('3'), replaces each Bind with 'X…' marker bytes, passes the rest; records what it read. */
class Recorder implements WalkHandler {
  out: Buffer[] = [];
  read: string[] = [];
  staged: Buffer[] = [];
  onHeader(type: number): number {
    if (type === 0x33) return Walk.Drop;
    return type === 0x42 || type === 0x51 ? Walk.Read : Walk.Pass;
  }
  onMessage(type: number, m: Buffer): boolean {
    this.read.push(`${String.fromCharCode(type)}:${m.length}`);
    if (type === 0x42) {
      this.staged.push(Buffer.from('<bind>'));
      return false;
    }
    return true;
  }
  emit(b: Buffer): void {
    this.out.push(Buffer.from(b));
  }
  emitStaged(): void {
    this.out.push(...this.staged);
    this.staged = [];
  }
}

const stream = Buffer.concat([
  fe.query('select 1'), fe.parse('s', 'select $1', [23]), fe.bind('', 's', [Buffer.from('7')]), fe.execute(), fe.sync,
  fe.query('x'.repeat(300)), fe.bind('p', 's', [null]),
]);
const expected = Buffer.concat([
  fe.query('select 1'), fe.parse('s', 'select $1', [23]), Buffer.from('<bind>'), fe.execute(), fe.sync,
  fe.query('x'.repeat(300)), Buffer.from('<bind>'),
]);

test('walker: the same output and reads whatever the chunking (every split point, and byte by byte)', () => {
  const whole = new Recorder();
  new MessageWalker(frontendMessageCap).walk(stream, whole);
  assert.deepEqual(Buffer.concat(whole.out), expected);
  for (let cut = 1; cut < stream.length; cut++) {
    const r = new Recorder();
    const w = new MessageWalker(frontendMessageCap);
    w.walk(stream.subarray(0, cut), r);
    w.walk(stream.subarray(cut), r);
    assert.deepEqual(Buffer.concat(r.out), expected, `split at ${cut}`);
    assert.deepEqual(r.read, whole.read, `split at ${cut}`);
    assert.equal(w.atBoundary, true);
  }
  const r = new Recorder();
  const w = new MessageWalker(frontendMessageCap);
  for (let i = 0; i < stream.length; i++) w.walk(stream.subarray(i, i + 1), r);
  assert.deepEqual(Buffer.concat(r.out), expected);
});

test('walker: dropped messages vanish at any split, passed ones go out as they came', () => {
  const s = Buffer.concat([be.commandComplete('SELECT 1'), Buffer.from([0x33, 0, 0, 0, 4]), be.readyForQueryIdle]);
  const want = Buffer.concat([be.commandComplete('SELECT 1'), be.readyForQueryIdle]);
  for (let cut = 0; cut <= s.length; cut++) {
    const r = new Recorder();
    const w = new MessageWalker(backendMessageCap);
    w.walk(s.subarray(0, cut), r);
    w.walk(s.subarray(cut), r);
    assert.deepEqual(Buffer.concat(r.out), want, `split at ${cut}`);
  }
});

test('walker: an untouched chunk is one write of the chunk itself', () => {
  const r = new Recorder();
  const chunk = Buffer.concat([fe.execute(), fe.sync]);
  new MessageWalker(frontendMessageCap).walk(chunk, r);
  assert.equal(r.out.length, 1);
});

test('walker: lengths break the caps with PostgreSQL\'s errors', () => {
  const r = new Recorder();
  assert.throws(() => new MessageWalker(frontendMessageCap).walk(Buffer.from([0x53, 0, 0, 0, 3]), r),
    (e: unknown) => e instanceof ProtocolError && e.wire.message === 'invalid message length');
  assert.throws(() => new MessageWalker(frontendMessageCap).walk(Buffer.from([0x70, 0, 0, 0, 4]), r),
    (e: unknown) => e instanceof ProtocolError && e.wire.message === 'invalid frontend message type 112');
});

/** Holds every Query the first time it sees it (as a tap waiting for a worker-thread classification would). */
class Holder extends Recorder {
  seen = new Set<string>();
  constructor(readonly walker: MessageWalker) {
    super();
  }
  override onMessage(type: number, m: Buffer): boolean {
    if (type === 0x51) {
      const key = m.toString('latin1');
      if (!this.seen.has(key)) {
        this.seen.add(key);
        this.walker.hold();
        return true;
      }
    }
    return super.onMessage(type, m);
  }
}

test('walker hold: a held message stops the stream until resume; the output is the same whatever the chunking', () => {
  for (let cut = 1; cut < stream.length; cut++) {
    const w = new MessageWalker(frontendMessageCap);
    const r = new Holder(w);
    w.walk(stream.subarray(0, cut), r);
    w.walk(stream.subarray(cut), r);
    let resumes = 0;
    while (w.holding) {
      // Nothing at or after the held Query has gone out.
      const out = Buffer.concat(r.out);
      assert.ok(expected.subarray(0, out.length).equals(out), `split at ${cut}`);
      assert.ok(out.length === 0 || out.length === expected.indexOf(fe.query('x'.repeat(300))), `split at ${cut}: ${out.length}`);
      w.resume(r);
      resumes++;
    }
    assert.equal(resumes, 2, `split at ${cut}`);
    assert.deepEqual(Buffer.concat(r.out), expected, `split at ${cut}`);
    assert.equal(w.atBoundary, true);
  }
});

test('walker hold: chunks that arrive while holding wait behind the held message', () => {
  const w = new MessageWalker(frontendMessageCap);
  const r = new Holder(w);
  for (let i = 0; i < stream.length; i += 7) w.walk(stream.subarray(i, i + 7), r);
  assert.equal(w.holding, true);
  assert.equal(w.atBoundary, false);
  assert.equal(r.out.length, 0);
  w.resume(r);
  w.resume(r);
  assert.equal(w.holding, false);
  assert.deepEqual(Buffer.concat(r.out), expected);
});
