/**
 * Regression: postgresql.conf integers were read with Number(), so `max_connections = 010` was 10.
 * guc.c parse_int uses strtol(…, 0): a leading 0 means octal (8), 0x hex; only when a `.` or an
 * exponent follows is the number read again with strtod. Found by the conf differential test.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMemoryUnits, parseTimeUnits } from '../../src/inspector/collect/conf.js';

test('strtol base 0: octal, hex, decimal; strtod when a fraction or exponent follows', () => {
  assert.deepEqual(parseMemoryUnits('010', 'B'), { bytes: 8 });
  assert.deepEqual(parseMemoryUnits('-010', 'B'), { bytes: -8 });
  assert.deepEqual(parseMemoryUnits('0x1538', 'B'), { bytes: 5432 });
  assert.deepEqual(parseMemoryUnits('010MB', 'kB'), { bytes: 8 * 1024 ** 2 });
  assert.deepEqual(parseMemoryUnits('010.5', 'B'), { bytes: 10 });
  assert.deepEqual(parseTimeUnits('1e3', 'ms'), { ms: 1000 });
  assert.deepEqual(parseTimeUnits('0.5s', 'ms'), { ms: 500 });
});

test('what strtol stops at is a bad unit, as in PostgreSQL', () => {
  assert.ok('error' in parseMemoryUnits('08', 'B'));
  assert.ok('error' in parseMemoryUnits('0x', 'B'));
  assert.ok('error' in parseMemoryUnits('1.2.3', 'B'));
});
