/**
 * Regression: postgresql.conf values with units rounded halves up (Math.round), but guc.c rounds
 * with rint(), halves to even, after first rounding to whole units of the next smaller unit. Found
 * by the conf differential test: `checkpoint_timeout = '90500ms'` is 90 s to PostgreSQL (we said
 * 91), `statement_timeout = '2500us'` is 2 ms (we said 3).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMemoryUnits, parseTimeUnits, rint } from '../../src/inspector/collect/conf.js';

test('rint: halves go to the even neighbour', () => {
  assert.deepEqual([0.5, 1.5, 2.5, 90.5, -2.5, 2.4, 2.6].map(rint), [0, 2, 2, 90, -2, 2, 3]);
});

test('units round like guc.c convert_to_base_unit + parse_int', () => {
  assert.deepEqual(parseTimeUnits('90500ms', 's'), { ms: 90_000 });
  assert.deepEqual(parseTimeUnits('91500ms', 's'), { ms: 92_000 });
  assert.deepEqual(parseTimeUnits('2500us', 'ms'), { ms: 2 });
  assert.deepEqual(parseTimeUnits('1.5', 'ms'), { ms: 2 });
  assert.deepEqual(parseTimeUnits('90s', 'min'), { ms: 120_000 });
  assert.deepEqual(parseMemoryUnits('65600B', 'kB'), { bytes: 64 * 1024 });
  assert.deepEqual(parseMemoryUnits('1.75MB', 'kB'), { bytes: 1792 * 1024 });
});
