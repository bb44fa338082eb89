import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePgRegex, PgRegexError } from '../../../src/hba/regex.js';

/** regerror() texts observed from PostgreSQL 18.4 for these patterns (pg_hba_file_rules.error). */
const ERRORS: [string, string][] = [
  ['a{2x}', 'invalid repetition count(s)'], ['a{300}', 'invalid repetition count(s)'], ['a{3,2}', 'invalid repetition count(s)'],
  ['a{1,2,3}', 'invalid repetition count(s)'], ['a{256}', 'invalid repetition count(s)'],
  ['*a', 'quantifier operand invalid'], ['a**', 'quantifier operand invalid'], ['x(?i)', 'quantifier operand invalid'],
  ['a|*', 'quantifier operand invalid'], ['(*a)', 'quantifier operand invalid'], ['^*', 'quantifier operand invalid'],
  ['a{1}{2}', 'quantifier operand invalid'], ['\\m*', 'quantifier operand invalid'], ['(?=a)*', 'quantifier operand invalid'],
  ['***a', 'quantifier operand invalid'], ['$*', 'quantifier operand invalid'],
  ['[a', 'brackets [] not balanced'], ['[[:foo:]]', 'invalid character class'], ['\\q', 'invalid escape \\ sequence'],
  ['\\', 'invalid escape \\ sequence'], ['\\k', 'invalid escape \\ sequence'], ['a\\9', 'invalid backreference number'],
  ['(a\\1)', 'invalid backreference number'], ['[z-a]', 'invalid character range'], ['[\\w-z]', 'invalid character range'],
  ['[a-\\d]', 'invalid character range'], ['(?z)a', 'invalid embedded option'], ['a)', 'parentheses () not balanced'],
  ['^(.*)@EX(', 'parentheses () not balanced'], ['a{1', 'braces {} not balanced'], ['a{1,2', 'braces {} not balanced'],
  ['^db\\d{2', 'braces {} not balanced'],
];

/** Patterns PostgreSQL 18.4 accepts. */
const VALID = [
  '(?i)a', '***=a(', 'a{,2}', '{', 'a{', 'a{}', 'a]', 'a}', '(?<=a)b', '[[.a.]]', '[[=a=]]', '\\d\\w\\s[\\d]', '\\x41\\u0041\\101',
  'a{2}?', 'a??', '***:a', 'a{255}', '\\y\\Y\\m\\M\\A\\Z', '()', '(|a)', 'a|', '\\0', '\\cA', '[]a]', '[^]a]', '[a-]', '\\B', '(a)\\1',
];

describe('PostgreSQL ARE syntax errors', () => {
  for (const [pattern, reason] of ERRORS) {
    it(pattern, () => assert.throws(() => compilePgRegex(pattern), (e: unknown) => e instanceof PgRegexError && e.reason === reason));
  }
  for (const pattern of VALID) it(`accepts ${pattern}`, () => assert.doesNotThrow(() => compilePgRegex(pattern)));
});

describe('PostgreSQL ARE matching', () => {
  const m = (pattern: string, s: string): boolean => compilePgRegex(pattern).test(s);
  it('is unanchored unless anchored', () => {
    assert.equal(m('prod', 'myproduction'), true);
    assert.equal(m('^prod$', 'myproduction'), false);
  });
  it('treats { not followed by a digit as a literal', () => assert.equal(m('a{,2}', 'a{,2}'), true));
  it('supports bracket classes in ASCII only (C collation)', () => {
    assert.equal(m('^[[:alpha:]]+$', 'abcXYZ'), true);
    assert.equal(m('^[[:alpha:]]+$', 'abcé'), false);
    assert.equal(m('^\\w+$', 'é'), false);
  });
  it('applies (?i) to ASCII letters only, brackets included', () => {
    assert.equal(m('(?i)^ab[c-d]$', 'ABD'), true);
    assert.equal(m('(?i)^[[:lower:]]$', 'Q'), true);
  });
  it('treats ***= as a literal string', () => assert.equal(m('***=a.b(', 'xa.b(y'), true));
  it('has word-boundary constraints', () => {
    assert.equal(m('\\mfoo\\M', 'a foo b'), true);
    assert.equal(m('\\mfoo\\M', 'afoob'), false);
    assert.equal(m('[[:<:]]bar', 'x bar'), true);
  });
  it('lets . match a newline, as ARE does by default', () => assert.equal(m('^a.b$', 'a\nb'), true));
  it('captures the first group for pg_ident \\1', () => assert.equal(compilePgRegex('^(.*)@EXAMPLE\\.COM$').exec('bob@EXAMPLE.COM')?.[1], 'bob'));
  it('supports octal, hex and unicode escapes', () => assert.equal(m('^\\101\\x42\\u0043$', 'ABC'), true));
  it('supports expanded syntax', () => assert.equal(m('(?x) ^ a  b # comment\n $', 'ab'), true));
});
