import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Req, RequestQueue } from '../../../src/pool/requests.js';

test('request queue: FIFO across growth, rfqPending counts Sync/Query/Internal', () => {
  const q = new RequestQueue();
  for (let i = 0; i < 40; i++) q.push(i % 2 ? Req.Sync : Req.Parse, i);
  assert.equal(q.length, 40);
  assert.equal(q.rfqPending, 20);
  for (let i = 0; i < 40; i++) {
    assert.equal(q.headKind, i % 2 ? Req.Sync : Req.Parse);
    assert.equal(q.headStmt, i);
    q.shift();
  }
  assert.equal(q.headKind, 0);
  assert.equal(q.rfqPending, 0);
});

test('request queue: copy-in drops the Syncs the server ignores, up to the client\'s CopyDone', () => {
  const q = new RequestQueue();
  // Parse/Bind/Execute(COPY FROM STDIN)/Sync, then CopyData…CopyDone, Sync (libpq's extended COPY).
  q.push(Req.Parse, 1);
  q.push(Req.Sync);
  q.push(Req.CopyEnd);
  q.push(Req.Sync);
  q.shift(); // ParseComplete
  assert.equal(q.dropSyncsUntilCopyEnd(), true);
  assert.equal(q.length, 1);
  assert.equal(q.headKind, Req.Sync);
  assert.equal(q.rfqPending, 1);
  // Simple-protocol COPY: the Query stays; no CopyDone yet, so later Syncs must be dropped as they come.
  const s = new RequestQueue();
  s.push(Req.Query);
  assert.equal(s.dropSyncsUntilCopyEnd(), false);
  assert.equal(s.headKind, Req.Query);
});
