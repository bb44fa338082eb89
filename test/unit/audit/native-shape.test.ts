/**
 * native/shape.h against the TypeScript it ports: shape_of() == shapeOf() (sql-lexer.ts),
 * may_carry_secret() == mayCarrySecret() (redact.ts) and json_trimmed_string() ==
 * JSON.stringify(statementText(t, [], 0, t.length)) (classify-core.ts), on hand-picked texts and a
 * seeded fuzz. The C handles ASCII text only (tab..CR and printable): elsewhere shape_of() must
 * answer "not handled" (null here). The addon is required, not optional: CI builds it, and a
 * missing build must fail this file rather than skip it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { shapeOf } from '../../../src/audit/sql-lexer.js';
import { mayCarrySecret } from '../../../src/audit/redact.js';
import { statementText } from '../../../src/audit/classify-core.js';
import { prng } from '../../support/prng.js';

interface ShapeAddon {
  shapeTest(text: Buffer): [key: string, cut: number] | null;
  secretTest(text: Buffer): boolean;
  jsonTest(text: Buffer): string;
}

const addon = ((): ShapeAddon => {
  try {
    return createRequire(import.meta.url)('../../../build/Release/gatehouse_relay.node') as ShapeAddon;
  } catch (e) {
    throw new Error(`the native addon is not built (node scripts/build-native.mjs): ${(e as Error).message}`, { cause: e });
  }
})();

/** Only tab..CR and printable ASCII: the text shape_of() handles. */
const HANDLED = /^[\t-\r -~]*$/;

/** Where C and TypeScript disagree on `text`, or null. */
function mismatch(text: string): string | null {
  const buf = Buffer.from(text, 'utf8');
  const c = addon.shapeTest(buf);
  if (!HANDLED.test(text)) {
    if (c !== null) return `shape: C handled text outside ASCII: ${JSON.stringify(c)}`;
  } else {
    const ts = shapeOf(text);
    if (ts === null ? c !== null : c === null || c[0] !== ts.key || c[1] !== ts.cut) {
      return `shape: C ${JSON.stringify(c)}, TS ${JSON.stringify(ts && [ts.key, ts.cut])}`;
    }
  }
  // A byte search for ASCII words holds for any UTF-8 text, so this is checked everywhere.
  const secret = addon.secretTest(buf);
  if (secret !== mayCarrySecret(text)) return `secret: C ${secret}, TS ${!secret}`;
  if (/^[\0-\x7f]*$/.test(text)) {
    const json = addon.jsonTest(buf);
    const ts = JSON.stringify(statementText(text, [], 0, text.length));
    if (json !== ts) return `json: C ${json}, TS ${ts}`;
  }
  return null;
}

function assertSame(text: string): void {
  const m = mismatch(text);
  if (m !== null) assert.fail(`${m} for ${JSON.stringify(text)}`);
}

const PGBENCH = [
  'BEGIN;',
  'UPDATE pgbench_accounts SET abalance = abalance + -1234 WHERE aid = 56789;',
  'SELECT abalance FROM pgbench_accounts WHERE aid = 12345;',
  'UPDATE pgbench_tellers SET tbalance = tbalance + -1234 WHERE tid = 7;',
  'UPDATE pgbench_branches SET bbalance = bbalance + -1234 WHERE bid = 1;',
  'INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (7, 1, 56789, -1234, CURRENT_TIMESTAMP);',
  'END;',
  'UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2;',
  'SELECT abalance FROM pgbench_accounts WHERE aid = $1',
];

const LITERALS = [
  "select 'it''s'", "select E'a\\'b'", "select e'a\\\\'", "select E'a\\'", "select N'x'", "select B'101'", "select X'1F'",
  "select U&'d\\0061t'", 'select U&"x"', "select u&'x' UESCAPE '!'", 'select $$body$$', 'select $tag$ x $tag$',
  'select $tag$ x $TAG$', 'select $a$b$a$', 'select $a$ $b$ $a$', 'select $1', 'select $12 + $3', 'select $',
  'select $$', 'select $$$', 'select $a', 'select $_$x$_$', 'select 0x1F', 'select 0X1f', 'select 0o17', 'select 0b101',
  'select 0b', 'select 0xg', 'select 1_000', 'select 1.5e-3', 'select 1.5E+3', 'select 1e', 'select 1e+', 'select .5',
  'select 1..2', 'select 1.', 'select 1.e5', 'select a.b', 'select 5x', "select x'", "select xx'a'", "select e'",
  "select 'abc", 'select "abc', 'select U&"abc', "select U&'abc", "select U&", "select U&x", 'select tab.col',
];

const COMMENTS = [
  'select 1 -- x', '-- x', '-- x\nselect 1', 'select /* a /* b */ c */ 1', 'select /* a /* b */ 1', 'select /* x',
  'select /*/ 1', 'select 1 */', '/**/', '/* */ select 1', 'select 1; -- done', 'select 1; /* done */', 'select 1; /* x',
  'select 1;\n-- a\n/* b */\n', 'select 1 -', 'select 1 /', 'select 1 --',
];

const STATEMENTS = [
  'select 1; select 2', 'select 1;;', ';', ';;', 'select 1 ; ', ' ; select 1', "select ';'", 'select ";"',
  'select $$;$$', 'EXPLAIN select 1', 'explain select 1', 'ExPlAiN ANALYZE select 1', 'select explain',
  '(explain select 1)', '1 explain', "E'x' explain", 'explained', 'explain1', 'explai', 'EXPLAIN',
  'select "Weird ""Name""" from "t"', 'select "a"."b"',
  '', ' ', '\t\n\v\f\r ', ' \tselect 1\n\v\f\r', '\rselect\t1\f', 'select "x\\y", \'a\\b\'\t\n',
  'select \'"\' || \'\\\\\'', 'select\x08 1', 'select 1\x1f', 'insert into t values (\'a\nb\')',
  'alter role x password \'s\'', 'select set_config(\'a\', \'b\', false)', 'select dblink(\'host=x\')',
  'select \'postgres://u:p@h\'', 'select API_KEY, apikey, api__key, PRIVATE_KEY, privatekey', 'select hMaC(1)',
  'select tokens, CREDENTIALS, Pwd, crypt, SECRETS', 'select pas s', 'select :/ /', 'set_conf ig',
];

/** Each word of redact.ts's HINT alone, in several cases, and near misses. */
const HINTS = [
  'pass', 'secret', 'crypt', 'hmac', 'token', 'credential', 'apikey', 'api_key', 'privatekey', 'private_key', 'pwd',
  'dblink', 'set_config', '://',
].flatMap((w) => [w, w.toUpperCase(), `x${w[0]?.toUpperCase()}${w.slice(1)}y`, w.slice(0, -1), w.slice(1)])
  .concat(['api__key', 'private__key', 'set-config', 'set config', ':/', '//', 'api_', 'p4ss', 'Api_Key', 'PrivateKey']);

/** Texts shape_of() must not handle. */
const NOT_HANDLED = ['select 1\0', '\0', "select 'é'", 'select 1 — 2', 'select \x7f', 'select \x01', '\x1b[0m', 'ü', 'select 1 -- ☃\n', "select 'password ☃'"];

test('pgbench statements: C and TypeScript give the same shape, hint and JSON', () => {
  PGBENCH.forEach(assertSame);
  assert.deepEqual(addon.shapeTest(Buffer.from(PGBENCH[2] ?? '')), ['SELECT abalance FROM pgbench_accounts WHERE aid = ?;', 55]);
  // -1234 is an operator and a number: the minus stays in the key.
  assert.deepEqual(addon.shapeTest(Buffer.from(PGBENCH[1] ?? '')), ['UPDATE pgbench_accounts SET abalance = abalance + -? WHERE aid = ?;', 73]);
  assert.deepEqual(addon.shapeTest(Buffer.from('END;')), ['END;', 3]);
});

test('every literal form, unterminated ones included', () => {
  LITERALS.forEach(assertSame);
  // shapeOf's quirk: the $ of a parameter is stepped over, then its digits are a number literal.
  assert.deepEqual(addon.shapeTest(Buffer.from('select $1')), ['select $?', 9]);
  assert.deepEqual(addon.shapeTest(Buffer.from('select $tag$ x $tag$, U&"x"')), ['select ?, U&"x"', 27]);
  assert.equal(addon.shapeTest(Buffer.from("select 'abc")), null);
});

test('comments, statements, EXPLAIN, whitespace, quotes and backslashes', () => {
  COMMENTS.forEach(assertSame);
  STATEMENTS.forEach(assertSame);
  HINTS.forEach(assertSame);
  assert.equal(addon.secretTest(Buffer.from('select PrivateKey')), true);
  assert.equal(addon.secretTest(Buffer.from('select private__key')), false);
  assert.deepEqual(addon.shapeTest(Buffer.from('select 1; -- done')), ['select ?; -- done', 8]);
  assert.equal(addon.shapeTest(Buffer.from('select 1; select 2')), null);
  assert.equal(addon.shapeTest(Buffer.from('Explain select 1')), null);
  assert.deepEqual(addon.shapeTest(Buffer.from('')), ['', 0]);
  assert.equal(addon.jsonTest(Buffer.from(' \t"a\\b"\x0b\n')), '"\\"a\\\\b\\""');
  assert.equal(addon.jsonTest(Buffer.from('a\x0bb\x00\x7f')), '"a\\u000bb\\u0000\x7f"');
});

test('non-ASCII, NUL and other control chars are not handled by shape_of()', () => {
  for (const text of NOT_HANDLED) {
    assert.equal(addon.shapeTest(Buffer.from(text, 'utf8')), null, JSON.stringify(text));
    assertSame(text);
  }
});

const FRAGMENTS = [
  'select', 'SELECT', ' from ', 'where', 'EXPLAIN', 'explain ', 'Explain', 'x', 'e', 'E', 'u', 'U', 'n', 'b', 'X', '_',
  'abc', 'aid', 't1', 'a$b', '0', '1', '7', '42', '0x', '0o', '0b', '1_0', '1.5', '.', '..', 'e5', 'e-', '+', '-',
  "'", "''", '"', '""', '$', '$$', '$t$', '$T$', '$1', '$a', "E'", "e'", "N'", "B'", "X'", "U&'", 'U&"', 'u&', '&',
  '--', '/*', '*/', '/', '*', ';', ',', '(', ')', '=', '\\', '\\\'', ' ', '  ', '\t', '\n', '\r', '\v', '\f',
  'pass', 'PwD', 'api_key', 'apiKey', 'private', 'key', 'api', 'set_config', '://', 'token', 'HMAC', 'dblink', 'cred',
];

/** A random text of up to `most` SQL-ish fragments and printable chars; `controls`: any char below 0x80 too. */
function randomText(rnd: () => number, controls: boolean, most = 14): string {
  const parts = 1 + Math.floor(rnd() * most);
  let s = '';
  for (let p = 0; p < parts; p++) {
    const r = rnd();
    if (r < 0.7) s += FRAGMENTS[Math.floor(rnd() * FRAGMENTS.length)];
    else if (controls && r < 0.8) s += String.fromCharCode(Math.floor(rnd() * 128));
    else s += String.fromCharCode(32 + Math.floor(rnd() * 95));
  }
  return s;
}

test('fuzz: 441,000 seeded random ASCII texts, C == TypeScript', () => {
  let cases = 0;
  for (const seed of [1, 2, 3, 0x5eed]) {
    const rnd = prng(seed);
    for (let k = 0; k < 100_000; k++, cases++) {
      const text = randomText(rnd, false);
      const m = mismatch(text);
      if (m !== null) assert.fail(`seed ${seed} case ${k}: ${m} for ${JSON.stringify(text)}`);
    }
  }
  // NUL, DEL and other control chars: shape_of() must refuse; the hint and the JSON still agree.
  const rnd = prng(0xc0de);
  for (let k = 0; k < 40_000; k++, cases++) {
    const text = randomText(rnd, true);
    const m = mismatch(text);
    if (m !== null) assert.fail(`controls case ${k}: ${m} for ${JSON.stringify(text)}`);
  }
  // Long texts (up to 600 fragments): many quotes, comments and dollar tags in one.
  const long = prng(0x1096);
  for (let k = 0; k < 1_000; k++, cases++) {
    const text = randomText(long, false, 600);
    const m = mismatch(text);
    if (m !== null) assert.fail(`long case ${k}: ${m} for ${JSON.stringify(text)}`);
  }
  assert.equal(cases, 441_000);
});
