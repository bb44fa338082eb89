/**
 * Table-driven postgresql.conf spec (guc-file.l). Each case writes its files into a fresh directory,
 * parses `postgresql.conf`, and compares effective settings (value and FILE:LINE, relative to the
 * directory), errors and notes exactly. The syntax-error, escape, include_dir order, depth and
 * missing-file messages were checked by hand against PostgreSQL 18.4 (`postgres --config-file=… -C`).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, describe, test } from 'node:test';
import { deescapeQuotedString, parseConfFile, parseMemoryUnits, parseTimeUnits } from '../../../src/inspector/collect/conf.js';

interface ConfCase {
  name: string;
  files: Record<string, string>;
  /** name → `value @ FILE:LINE` */
  settings?: Record<string, string>;
  errors?: string[];
  notes?: string[];
}

const CASES: ConfCase[] = [
  {
    name: 'name = value, name value, comments, case-insensitive names',
    files: { 'postgresql.conf': '# comment\nPort = 5433   # trailing\nshared_buffers 128MB\n\n  work_mem=4MB\n' },
    settings: { port: '5433 @ postgresql.conf:2', shared_buffers: '128MB @ postgresql.conf:3', work_mem: '4MB @ postgresql.conf:5' },
  },
  {
    name: 'quoting: doubled quotes, backslash escapes, octal, # inside quotes',
    files: { 'postgresql.conf': "a = 'it''s'\nb = 'x\\'y'\nc = 'tab\\there'\nd = '\\101\\102'\ne = '# not a comment'\nf = ''\n" },
    settings: { a: "it's @ postgresql.conf:1", b: "x'y @ postgresql.conf:2", c: 'tab\there @ postgresql.conf:3', d: 'AB @ postgresql.conf:4', e: '# not a comment @ postgresql.conf:5', f: ' @ postgresql.conf:6' },
  },
  {
    name: 'unquoted values: identifiers, paths, numbers, reals, qualified names',
    files: { 'postgresql.conf': 'ssl = on\nlog_directory = pg_log/sub:dir\nrandom_page_cost = 1.1\nmax_connections = 0x64\npgaudit.log = ddl\nseq = -5\n' },
    settings: { ssl: 'on @ postgresql.conf:1', log_directory: 'pg_log/sub:dir @ postgresql.conf:2', random_page_cost: '1.1 @ postgresql.conf:3', max_connections: '0x64 @ postgresql.conf:4', 'pgaudit.log': 'ddl @ postgresql.conf:5', seq: '-5 @ postgresql.conf:6' },
  },
  {
    name: 'last value wins, across includes',
    files: { 'postgresql.conf': "port = 1\ninclude 'extra.conf'\nssl = off\n", 'extra.conf': 'port = 2\nssl = on\n' },
    settings: { port: '2 @ extra.conf:1', ssl: 'off @ postgresql.conf:3' },
  },
  {
    name: 'include is relative to the including file',
    files: { 'postgresql.conf': "include = 'conf.d/a.conf'\n", 'conf.d/a.conf': "include 'b.conf'\n", 'conf.d/b.conf': 'x = 1\n' },
    settings: { x: '1 @ conf.d/b.conf:1' },
  },
  {
    name: 'include_dir: *.conf only, no dot files, C (byte) order',
    files: {
      'postgresql.conf': "include_dir 'conf.d'\n",
      'conf.d/2-a.conf': 'v = a\n', 'conf.d/10-b.conf': 'v = b\n', 'conf.d/Z.conf': 'v = Z\nz = 1\n',
      'conf.d/.hidden.conf': 'v = hidden\n', 'conf.d/notes.txt': 'v = txt\n', 'conf.d/a.conf': 'last = yes\n',
    },
    settings: { v: 'Z @ conf.d/Z.conf:1', z: '1 @ conf.d/Z.conf:2', last: 'yes @ conf.d/a.conf:1' },
  },
  {
    name: 'include_if_exists skips a missing file with a note; include of a missing file is an error',
    files: { 'postgresql.conf': "include_if_exists 'nope.conf'\ninclude 'gone.conf'\nport = 5\n" },
    settings: { port: '5 @ postgresql.conf:3' },
    notes: ['postgresql.conf:1: skipping missing configuration file "$DIR/nope.conf"'],
    errors: ['postgresql.conf:2: could not open configuration file "$DIR/gone.conf": No such file or directory'],
  },
  {
    name: 'syntax errors name file and line, and parsing resumes on the next line',
    files: { 'postgresql.conf': "port = 5432 junk\nssl =\n= on\nwork_mem = 0.0.0.0\nok = 1\n'quoted' = 2\n" },
    settings: { ok: '1 @ postgresql.conf:5' },
    errors: [
      'postgresql.conf:1: syntax error in file "$DIR/postgresql.conf" line 1, near token "junk"',
      'postgresql.conf:2: syntax error in file "$DIR/postgresql.conf" line 2, near end of line',
      'postgresql.conf:3: syntax error in file "$DIR/postgresql.conf" line 3, near token "="',
      'postgresql.conf:4: syntax error in file "$DIR/postgresql.conf" line 4, near token ".0"',
      'postgresql.conf:6: syntax error in file "$DIR/postgresql.conf" line 6, near token "\'quoted\'"',
    ],
  },
  {
    name: 'an unterminated quote is a syntax error',
    files: { 'postgresql.conf': "a = 'open\nb = 2\n" },
    settings: { b: '2 @ postgresql.conf:2' },
    errors: ['postgresql.conf:1: syntax error in file "$DIR/postgresql.conf" line 1, near token "\'"'],
  },
  {
    // Checked against PostgreSQL 18 (postgres -C): the message quotes the path as written.
    name: 'include depth is limited (CONF_FILE_MAX_DEPTH 10)',
    files: { 'postgresql.conf': "include 'a.conf'\n", 'a.conf': "include 'b.conf'\n", 'b.conf': "include 'a.conf'\n" },
    errors: ['b.conf:1: could not open configuration file "a.conf": maximum nesting depth exceeded'],
  },
  {
    name: 'a file that includes itself is direct recursion',
    files: { 'postgresql.conf': "include 'postgresql.conf'\n" },
    errors: ['postgresql.conf:1: configuration file recursion in "$DIR/postgresql.conf"'],
  },
  {
    name: 'a missing include_dir is an error',
    files: { 'postgresql.conf': "include_dir 'missing.d'\n" },
    errors: ['postgresql.conf:1: could not open configuration directory "$DIR/missing.d": No such file or directory'],
  },
];

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function writeCase(c: ConfCase): string {
  const dir = mkdtempSync(join(tmpdir(), 'gh-conf-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(c.files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe('postgresql.conf parser (guc-file.l)', () => {
  for (const c of CASES) {
    test(c.name, () => {
      const dir = writeCase(c);
      const r = parseConfFile(join(dir, 'postgresql.conf'));
      const show = (i: { file: string; line: number; message: string }): string =>
        `${relative(dir, i.file)}:${i.line}: ${i.message.replaceAll(dir, '$DIR')}`;
      assert.deepEqual(r.errors.map(show), c.errors ?? []);
      assert.deepEqual(r.notes.map(show), c.notes ?? []);
      const got = Object.fromEntries([...r.settings].map(([k, s]) => [k, `${s.value} @ ${relative(dir, s.file)}:${s.line}`]));
      assert.deepEqual(got, c.settings ?? {});
    });
  }
});

describe('quoted strings and units', () => {
  test('deescapeQuotedString handles \\b \\f \\n \\r \\t and unknown escapes', () => {
    assert.equal(deescapeQuotedString("'a\\nb\\qc'"), 'a\nbqc');
  });
  test('memory units are case-sensitive and relative to the base unit', () => {
    assert.deepEqual(parseMemoryUnits('128MB', '8kB'), { bytes: 128 * 1024 * 1024 });
    assert.deepEqual(parseMemoryUnits('16384', '8kB'), { bytes: 16384 * 8192 });
    assert.deepEqual(parseMemoryUnits('1GB', 'kB'), { bytes: 1024 ** 3 });
    assert.ok('error' in parseMemoryUnits('1gb', 'kB'));
  });
  test('time units', () => {
    assert.deepEqual(parseTimeUnits('1min', 's'), { ms: 60_000 });
    assert.deepEqual(parseTimeUnits('250ms', 'ms'), { ms: 250 });
    assert.deepEqual(parseTimeUnits('60', 's'), { ms: 60_000 });
    assert.ok('error' in parseTimeUnits('5 sec', 's'));
  });
});

test('include_dir reads files in strcmp order: "10-" before "2-", "Z" before "a"', () => {
  const c: ConfCase = { name: 'order', files: { 'postgresql.conf': "include_dir 'd'\n", 'd/a.conf': 'x = 1\n', 'd/2.conf': 'x = 1\n', 'd/10.conf': 'x = 1\n', 'd/Z.conf': 'x = 1\n' } };
  const dir = writeCase(c);
  const r = parseConfFile(join(dir, 'postgresql.conf'));
  assert.deepEqual(r.all.map((s) => relative(dir, s.file)), ['d/10.conf', 'd/2.conf', 'd/Z.conf', 'd/a.conf']);
});
