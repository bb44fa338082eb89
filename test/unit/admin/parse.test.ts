import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommand } from '../../../src/admin/parse.js';

test('PgBouncer\'s grammar: WORD [WORD] [;], case-insensitive, quoted names', () => {
  assert.deepEqual(parseCommand('SHOW POOLS'), { kind: 'command', name: 'SHOW', arg: 'POOLS' });
  assert.deepEqual(parseCommand(' \t show\n pools ; \r\n'), { kind: 'command', name: 'show', arg: 'pools' });
  assert.deepEqual(parseCommand('RELOAD;'), { kind: 'command', name: 'RELOAD', arg: '' });
  assert.deepEqual(parseCommand('PAUSE "my ""db"""'), { kind: 'command', name: 'PAUSE', arg: 'my "db"' });
  assert.deepEqual(parseCommand('KILL_CLIENT 12'), { kind: 'command', name: 'KILL_CLIENT', arg: '12' });
});

test('anything else is invalid; one command per query', () => {
  for (const q of ['', ';', 'SHOW STATS; SHOW POOLS', 'SHOW POOLS extra', 'select * from x', 'PAUSE my-db', 'SHOW ""']) {
    assert.deepEqual(parseCommand(q), { kind: 'invalid' }, q);
  }
});

test('a name of 16 bytes or an argument of 64 is "bad arguments" (PgBouncer\'s buffers)', () => {
  assert.equal(parseCommand('abcdefghijklmno').kind, 'command');
  assert.deepEqual(parseCommand('abcdefghijklmnop'), { kind: 'bad-arguments' });
  assert.equal(parseCommand(`PAUSE ${'d'.repeat(63)}`).kind, 'command');
  assert.deepEqual(parseCommand(`PAUSE ${'d'.repeat(64)}`), { kind: 'bad-arguments' });
});

test('SET key = word | \'string\' | TO', () => {
  assert.deepEqual(parseCommand('SET extra_float_digits = 3'), { kind: 'set', key: 'extra_float_digits', value: '3' });
  assert.deepEqual(parseCommand("set client_encoding to 'UTF''8';"), { kind: 'set', key: 'client_encoding', value: "UTF'8" });
});
