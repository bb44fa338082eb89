import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePgBool } from '../../src/pg-bool.js';

test('parsePgBool follows PostgreSQL parse_bool, prefixes and case included', () => {
  const table: [string, boolean | null][] = [
    ['on', true], ['ON', true], [' true ', true], ['t', true], ['tr', true], ['yes', true], ['y', true], ['1', true],
    ['off', false], ['of', false], ['false', false], ['f', false], ['no', false], ['n', false], ['0', false],
    ['o', null], ['', null], ['database', null], ['2', null], ['truee', null], ['onn', null],
  ];
  for (const [input, expected] of table) assert.equal(parsePgBool(input), expected, JSON.stringify(input));
});
