/** libpq connection strings: key=value quoting and escapes, URIs, the PG* environment, the password file, and what reports show. */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { describeTarget, parseConninfo, passwordFromFile, resolveConnParams } from '../../../src/inspector/collect/conninfo.js';

const parsed = (s: string): Record<string, string> => Object.fromEntries(parseConninfo(s));

describe('key=value (fe-connect.c conninfo_parse)', () => {
  test('spaces around =, single quotes, backslash escapes inside and outside quotes', () => {
    assert.deepEqual(parsed("host = db.example.com  port=6432 user=a\\ b dbname='my \\'db\\' \\\\x'"), {
      host: 'db.example.com', port: '6432', user: 'a b', dbname: "my 'db' \\x",
    });
  });
  test("'' ends one quoted value and starts an unquoted one (libpq has no doubled-quote escape)", () => {
    assert.throws(() => parseConninfo("password='it''s'x"), /missing "=" after "'s'x"/);
  });
  test('errors in libpq\'s words', () => {
    assert.throws(() => parseConninfo('host'), /^ConninfoError: missing "=" after "host" in connection info string$/);
    assert.throws(() => parseConninfo("host='db"), /unterminated quoted string in connection info string/);
    assert.throws(() => parseConninfo('hots=db'), /invalid connection option "hots"/);
  });
  test('an empty value', () => {
    assert.deepEqual(parsed("password='' host=x"), { password: '', host: 'x' });
  });
});

describe('URI (conninfo_uri_parse)', () => {
  test('user, password, host, port, dbname and parameters, percent-decoded', () => {
    assert.deepEqual(parsed('postgresql://al%40ice:p%3Ass@db.example.com:6432/app%20db?sslmode=verify-full&application_name=x'), {
      user: 'al@ice', password: 'p:ss', host: 'db.example.com', port: '6432', dbname: 'app db', sslmode: 'verify-full', application_name: 'x',
    });
  });
  test('IPv6 in brackets, a socket directory percent-encoded, postgres:// too, ssl=true', () => {
    assert.deepEqual(parsed('postgres://[::1]:5433/db'), { host: '::1', port: '5433', dbname: 'db' });
    assert.deepEqual(parsed('postgresql://%2Fvar%2Frun%2Fpostgresql/db?ssl=true'), { host: '/var/run/postgresql', dbname: 'db', sslmode: 'require' });
  });
  test('errors', () => {
    assert.throws(() => parseConninfo('postgresql://h/db?bogus=1'), /invalid URI query parameter: "bogus"/);
    assert.throws(() => parseConninfo('postgresql://h/db?sslmode'), /missing key\/value separator "=" in URI query parameter: "sslmode"/);
    assert.throws(() => parseConninfo('postgresql://a,b/db'), /a single host/);
  });
});

describe('resolveConnParams', () => {
  test('the string wins over PG* variables, which win over the defaults', () => {
    const p = resolveConnParams('port=6000', { PGHOST: 'envhost', PGPORT: '7000', PGUSER: 'envuser', PGPASSWORD: 'envpw', PGSSLMODE: 'require' });
    assert.deepEqual({ ...p, password: p.password }, {
      host: 'envhost', port: 6000, user: 'envuser', dbname: 'envuser', password: 'envpw', sslmode: 'require', connectTimeout: 10, applicationName: 'gatehouse audit',
    });
  });
  test('bad values', () => {
    assert.throws(() => resolveConnParams('port=99999', {}), /invalid port number: "99999"/);
    assert.throws(() => resolveConnParams('sslmode=maybe', {}), /invalid sslmode value: "maybe"/);
  });
  test('the password file: wildcards, escapes, socket host as localhost; ignored when others can read it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-pgpass-'));
    try {
      const f = join(dir, 'pgpass');
      writeFileSync(f, '# comment\nother:5432:*:*:nope\nlocalhost:5432:app:*:sock\\:pw\ndb.example.com:*:*:alice:a:b\n', { mode: 0o600 });
      chmodSync(f, 0o600);
      assert.equal(passwordFromFile(f, { host: '/tmp', port: 5432, dbname: 'app', user: 'x' }), 'sock:pw');
      assert.equal(passwordFromFile(f, { host: 'db.example.com', port: 6432, dbname: 'z', user: 'alice' }), 'a:b');
      assert.equal(passwordFromFile(f, { host: 'db.example.com', port: 6432, dbname: 'z', user: 'bob' }), undefined);
      assert.equal(resolveConnParams('host=db.example.com user=alice', { PGPASSFILE: f }).password, 'a:b');
      chmodSync(f, 0o644);
      let warned = '';
      assert.equal(passwordFromFile(f, { host: 'db.example.com', port: 1, dbname: 'z', user: 'alice' }, (m) => (warned = m)), undefined);
      assert.match(warned, /has group or world access/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test('describeTarget never shows the password', () => {
    const p = resolveConnParams("host=db port=5433 user=u dbname=d password='s3cret' sslmode=verify-full", {});
    assert.equal(describeTarget(p), 'host=db port=5433 user=u dbname=d sslmode=verify-full');
  });
});
