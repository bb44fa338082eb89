/** BAN and UNBAN in the console's grammar: bare addresses and durations, quoted role names. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommand } from '../../../src/admin/parse.js';

test('BAN/UNBAN take an IPv4 or IPv6 address, BAN an optional duration', () => {
  assert.deepEqual(parseCommand('BAN 192.0.2.7'), { kind: 'command', name: 'BAN', arg: '192.0.2.7' });
  assert.deepEqual(parseCommand('ban 192.0.2.7 10min;'), { kind: 'command', name: 'ban', arg: '192.0.2.7 10min' });
  assert.deepEqual(parseCommand(' UNBAN 2001:db8::7 '), { kind: 'command', name: 'UNBAN', arg: '2001:db8::7' });
  assert.deepEqual(parseCommand('UNBAN "role:alice"'), { kind: 'command', name: 'UNBAN', arg: 'role:alice' });
  assert.deepEqual(parseCommand('BAN 600'), { kind: 'command', name: 'BAN', arg: '600' }, 'the command decides what is an address');
  assert.deepEqual(parseCommand('BAN 192.0.2.7 10 min'), { kind: 'invalid' });
  assert.deepEqual(parseCommand('SHOW BANS'), { kind: 'command', name: 'SHOW', arg: 'BANS' });
});
