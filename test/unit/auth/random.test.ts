import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freshRandom } from '../../../src/auth/random.js';

test('freshRandom: every value is new, across the pool\'s refills (no byte handed out twice)', () => {
  const seen = new Set<string>();
  // 700 × 16 bytes: the 4 KiB pool is refilled twice on the way.
  for (let i = 0; i < 700; i++) {
    const b = freshRandom(16);
    assert.equal(b.length, 16);
    seen.add(b.toString('hex'));
  }
  assert.equal(seen.size, 700);
});

test('freshRandom: what a caller gets is its own copy (a refill of the pool does not change it)', () => {
  const a = freshRandom(16);
  const before = Buffer.from(a);
  for (let drawn = 0; drawn < 8192; drawn += 16) freshRandom(16);
  assert.deepEqual(a, before);
});

test('freshRandom: sizes past the pool\'s share come straight from the CSPRNG', () => {
  const big = freshRandom(5000);
  assert.equal(big.length, 5000);
  assert.ok(new Set(big).size > 200, 'looks random');
});
