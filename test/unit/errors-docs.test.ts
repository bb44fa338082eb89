import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { GH } from '../../src/errors.js';

test('docs/errors.md lists every internal error code with its meaning, and no other', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const documented = new Map([...doc.matchAll(/^\| `(GH_\w+)` \| (.+) \|$/gm)].map((m) => [m[1], m[2]]));
  assert.deepEqual(new Map(Object.entries(GH)), documented);
});
