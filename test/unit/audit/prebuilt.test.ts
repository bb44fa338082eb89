/**
 * The shape templates behind prebuilt records (src/audit/prebuilt.ts): what is announced to the
 * native relay's table, under which id, and what is not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onShape, shapeCached, templateOf } from '../../../src/audit/prebuilt.js';
import type { ClassifiedStatement } from '../../../src/audit/types.js';

const st = (command: string): ClassifiedStatement => ({ class: 'READ', command, objects: [{ type: 'TABLE', name: 'public.t' }], functions: [], text: 'x' });

test('each new shape is announced once, with the id its template answers to; others are not', () => {
  const seen: [string, number][] = [];
  shapeCached('SELECT ?', st('SELECT')); // nobody listens yet: nothing kept
  onShape((key, id) => (seen.push([key, id]), true));
  shapeCached('SELECT ? FROM t', st('SELECT'));
  shapeCached('SELECT ? FROM t', st('SELECT')); // evicted from the classifier's cache and learned again
  shapeCached("SELECT 'é' FROM t", st('SELECT')); // the relay lexes ASCII only: it could never match
  shapeCached(`SELECT ${'x'.repeat(4100)}`, st('SELECT')); // longer than the relay takes
  shapeCached('SHOW x\u007f', st('SHOW'));
  shapeCached('SHOW\tx', st('SHOW'));
  assert.deepEqual(seen, [['SELECT ? FROM t', 1], ['SHOW\tx', 2]]);
  assert.equal(templateOf(1)?.part, '"class":"READ","command":"SELECT","objects":[{"type":"TABLE","name":"public.t"}]');
  assert.equal(templateOf(2)?.className, 'read');
  assert.equal(templateOf(3), undefined);
});

test('a full table stops the announcements (the relay keeps what it has)', () => {
  let calls = 0;
  onShape(() => (calls++, false));
  shapeCached('SELECT 1 AS a', st('SELECT'));
  shapeCached('SELECT 1 AS b', st('SELECT'));
  assert.equal(calls, 1);
  onShape(null);
});
