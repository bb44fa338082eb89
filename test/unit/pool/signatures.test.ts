/**
 * SignatureTable (src/pool/signatures.ts): equal tracked values get one number, different ones
 * different numbers; the table is bounded, and a number is never handed to a second set of values,
 * even after the table starts again (else the plane could link a client to a server whose
 * parameters differ: invariant 8).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_SIGNATURES, SharedVars, SignatureTable } from '../../../src/pool/signatures.js';

const TRACKED = ['application_name', 'DateStyle', 'TimeZone'];
const vars = (o: Record<string, string | null>): Map<string, string | null> => new Map(Object.entries(o));

test('signatures: equal values share a number; a missing value falls back, else counts as unset', () => {
  const t = new SignatureTable();
  const a = t.of(TRACKED, vars({ application_name: 'app', DateStyle: 'ISO, MDY', TimeZone: 'UTC' }), null);
  assert.equal(t.of(TRACKED, vars({ TimeZone: 'UTC', DateStyle: 'ISO, MDY', application_name: 'app' }), null), a, 'insertion order does not matter');
  assert.equal(t.of(TRACKED, vars({ application_name: 'app' }), vars({ DateStyle: 'ISO, MDY', TimeZone: 'UTC' })), a, 'the fallback fills the gaps');
  assert.notEqual(t.of(TRACKED, vars({ application_name: 'app2', DateStyle: 'ISO, MDY', TimeZone: 'UTC' }), null), a);
  const unset = t.of(TRACKED, vars({ application_name: 'app', DateStyle: 'ISO, MDY' }), null);
  assert.notEqual(unset, a, 'an unset TimeZone is not UTC');
  assert.equal(t.of(TRACKED, vars({ application_name: 'app', DateStyle: 'ISO, MDY', TimeZone: null }), null), unset, 'null is unset');
  assert.notEqual(t.of(TRACKED, vars({ application_name: 'app', DateStyle: 'ISO, MDY', TimeZone: '' }), null), unset, 'empty is a value');
});

test('signatures: bounded; past the bound it starts again and never reuses a number', () => {
  const t = new SignatureTable(3);
  const seen = new Map<number, string>();
  const take = (name: string): number => {
    const n = t.of(TRACKED, vars({ application_name: name }), null);
    const before = seen.get(n);
    assert.ok(before === undefined || before === name, `number ${n} given to ${before} and to ${name}`);
    seen.set(n, name);
    assert.ok(t.size <= 3, `size ${t.size}`);
    return n;
  };
  const first = ['a', 'b', 'c'].map(take);
  assert.equal(take('b'), first[1], 'still held: the same number');
  take('d'); // the fourth key: the table starts again
  assert.equal(t.size, 1);
  const again = take('a');
  assert.notEqual(again, first[0], 'a key seen before the restart gets a new number');
  for (let i = 0; i < 20; i++) take(`x${i % 7}`);
});

test('signatures: a pool of clients that each name themselves stays within MAX_SIGNATURES', () => {
  const t = new SignatureTable();
  for (let i = 0; i < MAX_SIGNATURES * 2 + 5; i++) t.of(TRACKED, vars({ application_name: `worker-${i}` }), null);
  assert.ok(t.size <= MAX_SIGNATURES, `${t.size} keys`);
});

test('shared parameter maps: one map for equal values, a copy of the first, bounded', () => {
  const s = new SharedVars(2);
  const mine = vars({ application_name: 'app', TimeZone: null });
  const shared = s.share(mine);
  assert.notEqual(shared, mine, 'a copy: the caller may go on changing its own');
  assert.equal(s.share(vars({ application_name: 'app', TimeZone: null })), shared, 'equal values: the same map');
  mine.set('application_name', 'changed');
  assert.equal(shared.get('application_name'), 'app');
  assert.notEqual(s.share(vars({ application_name: 'app', TimeZone: '' })), shared, 'empty is not null');
  assert.notEqual(s.share(vars({ application_name: 'other', TimeZone: null })), shared);
  assert.ok(s.size <= 2);
  assert.deepEqual([...s.share(vars({ application_name: 'app', TimeZone: null }))], [['application_name', 'app'], ['TimeZone', null]]);
});
