import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionCounters, DURATION_BUCKETS, Histogram } from '../../../src/session/counters.js';
import * as be from '../../../src/protocol/backend/encode.js';

/** What a server sends for: select 1 (autocommit), begin, select 2, an error, rollback. */
const stream = Buffer.concat([
  be.rowDescription(['?column?']), be.dataRow(['1']), be.commandComplete('SELECT 1'), be.readyForQuery('I'),
  be.commandComplete('BEGIN'), be.readyForQuery('T'),
  be.rowDescription(['x']), be.dataRow(['2']), be.commandComplete('SELECT 1'), be.readyForQuery('T'),
  be.errorResponse({ severity: 'ERROR', code: '42P01', message: 'relation "nope" does not exist' }), be.readyForQuery('E'),
  be.commandComplete('ROLLBACK'), be.readyForQuery('I'),
]);

test('queries are ReadyForQuery messages, transactions end with status I; split at every byte', () => {
  for (let cut = 0; cut <= stream.length; cut++) {
    const errors: string[] = [];
    const c = new SessionCounters((s) => errors.push(s));
    c.fromClient(Buffer.from('Q'));
    c.fromServer(stream.subarray(0, cut));
    c.fromServer(stream.subarray(cut));
    assert.equal(c.queries, 5, `cut ${cut}`);
    assert.equal(c.xacts, 2, `cut ${cut}`);
    assert.deepEqual(errors, ['42P01'], `cut ${cut}`);
    assert.equal(c.bytesOut, stream.length);
    assert.equal(c.queryDurations.count, 5);
    assert.equal(c.xactDurations.count, 2);
  }
});

test('a stream the scanner cannot follow is still counted in bytes, and stops the message counts', () => {
  const c = new SessionCounters();
  c.fromServer(Buffer.from([0x01, 0, 0, 0, 4]));
  c.fromServer(be.readyForQuery('I'));
  assert.equal(c.queries, 0);
  assert.equal(c.bytesOut, 5 + 6);
});

test('histogram buckets: le is inclusive, the last slot is +Inf', () => {
  const h = new Histogram();
  h.observe(DURATION_BUCKETS[0]!);
  h.observe(1000);
  assert.equal(h.counts[0], 1);
  assert.equal(h.counts[DURATION_BUCKETS.length], 1);
  assert.equal(h.count, 2);
});

test('load() into a histogram that never observed anything fills its own buckets, not the shared zeros of the others', () => {
  const loaded = new Histogram();
  const untouched = new Histogram();
  const counts = DURATION_BUCKETS.map((_, i) => i + 1).concat([99]);
  loaded.load(counts, 1.5, counts.reduce((a, b) => a + b, 0));
  assert.deepEqual([...loaded.counts], counts);
  assert.ok(untouched.counts.every((c) => c === 0), 'a fresh histogram still reads all zeros');
  assert.equal(untouched.count, 0);
});
