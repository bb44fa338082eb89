import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { GatehouseError } from '../../../src/errors.js';
import { checkIdentMap, compileIdentText, IdentLoadError, loadIdentFile, parseIdentText } from '../../../src/hba/index.js';

const FILE = '/nonexistent/pg_ident.conf';
const set = parseIdentText([
  '# MAP     SYSTEM-USER          PG-USER',
  'exact     alice                alice_db',
  'exact     bob                  "+ops"',
  'krb       /^(.*)@EXAMPLE\\.COM$  \\1',
  'krb       /^admin              postgres',
  'all       /.*                  all',
  'groups    carol                +ops',
  'regexpg   dave                 /^app_',
  'noCapture /^svc-              \\1',
  'prefix    /^(.*)-dev$          dev_\\1',
  'quoted    /^(x)$               "\\1"',
  'member    /^(.*)$              +\\1',
].join('\n'), FILE);

describe('checkIdentMap (hba.c check_usermap, PostgreSQL 16+)', () => {
  const cases: [string, string, string, boolean, string[]?][] = [
    ['exact', 'alice', 'alice_db', true],
    ['exact', 'alice', 'alice', false],
    ['exact', 'bob', '+ops', true],                   // quoted "+ops" is a role literally named +ops
    ['exact', 'bob', 'ops_member', false, ['ops']],
    ['krb', 'bob@EXAMPLE.COM', 'bob', true],          // \1 substitution
    ['krb', 'bob@EXAMPLE.COM', 'alice', false],
    ['krb', 'bob@OTHER.COM', 'bob', false],
    ['krb', 'admin@EXAMPLE.COM', 'postgres', true],   // the first krb line fits the system user but not postgres: keep looking
    ['krb', 'adminx', 'postgres', true],
    ['krb', 'root', 'postgres', false],
    ['all', 'anyone', 'anything', true],              // PG-USER "all"
    ['groups', 'carol', 'eve', true, ['ops']],        // +role: eve is a member of ops
    ['groups', 'carol', 'eve', false],
    ['groups', 'carol', 'ops', true],                 // a role is a member of itself
    ['regexpg', 'dave', 'app_reader', true],          // PG-USER regex
    ['regexpg', 'dave', 'reader', false],
    ['noCapture', 'svc-a', 'svc-a', false],           // \1 without a capture group is an error: no
    ['prefix', 'joe-dev', 'dev_joe', true],           // \1 in the middle
    ['quoted', 'x', 'x', true],                       // quoting does not stop \1
    ['member', 'ops', 'frank', false, ['ops']],       // the substituted name is literal, so "+ops" is no group check
    ['member', 'frank', 'frank', false],
    ['missing', 'alice', 'alice', false],
  ];
  for (const [map, sys, pg, expected, groups = []] of cases) {
    it(`${map}: ${sys} as ${pg}${groups.length ? ` (member of ${groups.join(',')})` : ''} → ${expected}`, () => {
      assert.equal(checkIdentMap(set, map, sys, pg, (r) => r === pg || groups.includes(r)), expected);
    });
  }
  it('compares names directly when there is no map', () => {
    assert.equal(checkIdentMap(set, '', 'alice', 'alice'), true);
    assert.equal(checkIdentMap(set, '', 'alice', 'bob'), false);
  });
  it('compares PG-USER literally before PostgreSQL 16', () => {
    const v15 = parseIdentText('m /^(.*)$ all\nm x +g', FILE, { pgVersion: 15 });
    assert.equal(checkIdentMap(v15, 'm', 'y', 'bob'), false);
    assert.equal(checkIdentMap(v15, 'm', 'y', 'all'), true);
    assert.equal(checkIdentMap(v15, 'm', 'x', '+g'), true);
  });
});

describe('pg_ident.conf errors (parse_ident_line wording)', () => {
  it('reports every bad line and ignores extra fields', () => {
    const r = compileIdentText('m1 a b extra\nm1 a,b c\nm1 a\nm2 /^(x( y\nm3 /(a) "/^\\1x"\n', FILE);
    assert.deepEqual(r.errors.map((e) => `${e.line}: ${e.message}`), [
      '2: multiple values in ident field',
      '3: missing entry at end of line',
      '4: invalid regular expression "^(x(": parentheses () not balanced',
      '5: invalid regular expression "^\\1x": invalid backreference number',
    ]);
    assert.equal(r.set.mappings.length, 1);
    assert.equal(r.set.mappings[0]?.pgUser.text, 'b');
  });
  it('throws IdentLoadError (GH_IDENT_INVALID) with file:line', () => {
    assert.throws(() => parseIdentText('m1 a\n', FILE), (e: unknown) => {
      assert.ok(e instanceof IdentLoadError && e instanceof GatehouseError);
      assert.equal(e.code, 'GH_IDENT_INVALID');
      assert.equal(e.message, `${FILE}:1: ${FILE} was not loaded: missing entry at end of line`);
      assert.deepEqual(e.errors, [{ file: FILE, line: 1, message: 'missing entry at end of line' }]);
      return true;
    });
  });
  it('loads a file with includes and @file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-ident-'));
    writeFileSync(join(dir, 'pg_ident.conf'), 'include more.conf\nm1 @users.txt pgu\n');
    writeFileSync(join(dir, 'more.conf'), 'm0 a b\n');
    writeFileSync(join(dir, 'users.txt'), 'u1\n');
    const loaded = loadIdentFile(join(dir, 'pg_ident.conf'));
    assert.deepEqual(loaded.mappings.map((m) => [m.file.slice(dir.length + 1), m.line, m.mapNumber, m.mapName, m.systemUser.text]), [
      ['more.conf', 1, 1, 'm0', 'a'], ['pg_ident.conf', 2, 2, 'm1', 'u1'],
    ]);
  });
  it('refuses an unreadable file', () => {
    assert.throws(() => loadIdentFile('/nonexistent/dir/pg_ident.conf'), /could not open file "\/nonexistent\/dir\/pg_ident.conf": No such file or directory/);
  });
});
