import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../../src/config/load.js';
import { configReference } from '../../../src/config/docs.js';
import { GatehouseError } from '../../../src/errors.js';

const FILE = '/etc/gatehouse/gatehouse.yaml';
const errorOf = (text: string): string => {
  try {
    parseConfig(text, FILE);
  } catch (e) {
    assert.ok(e instanceof GatehouseError);
    assert.equal(e.code, 'GH_CONFIG_INVALID');
    return e.message;
  }
  assert.fail('expected the config to be refused');
};

test('defaults are secure: localhost only, port 6432, 60s authentication_timeout', () => {
  const c = parseConfig('hba: pg_hba.conf\n', FILE);
  assert.deepEqual(c.listen.addresses, ['127.0.0.1']);
  assert.equal(c.listen.port, 6432);
  assert.equal(c.authentication_timeout, 60_000);
  assert.equal(c.shutdown_timeout, 30_000);
  assert.equal(c.auth.password_encryption, 'scram-sha-256');
  assert.equal(c.tls, undefined);
});

test('relative paths resolve from the config file folder; absolute ones stay', () => {
  const c = parseConfig('hba: pg_hba.conf\nident: /abs/ident.conf\ntls: {cert: certs/s.crt, key: s.key}\nauth: {users: users.txt}\n' +
    'databases:\n  "*": {host: 127.0.0.1, sslmode: verify-full, sslrootcert: ca.pem}\n', FILE);
  assert.equal(c.hba, '/etc/gatehouse/pg_hba.conf');
  assert.equal(c.ident, '/abs/ident.conf');
  assert.equal(c.tls?.cert, '/etc/gatehouse/certs/s.crt');
  assert.equal(c.tls?.min_version, 'TLSv1.2');
  assert.equal(c.auth.users, '/etc/gatehouse/users.txt');
  assert.equal(c.databases['*']?.sslrootcert, '/etc/gatehouse/ca.pem');
  assert.equal(c.databases['*']?.port, 5432);
});

test('durations take PostgreSQL units', () => {
  assert.equal(parseConfig('hba: h\nauthentication_timeout: 5min\n', FILE).authentication_timeout, 300_000);
  assert.equal(parseConfig('hba: h\nauthentication_timeout: 500ms\n', FILE).authentication_timeout, 500);
  assert.equal(parseConfig('hba: h\nauthentication_timeout: 2\n', FILE).authentication_timeout, 2000);
  assert.match(errorOf('hba: h\nauthentication_timeout: soon\n'), /authentication_timeout: invalid duration "soon"/);
});

test('unknown keys name the key, suggest the fix and list the known keys', () => {
  const m = errorOf('hba: h\nlisten:\n  adresses: [x]\n');
  assert.match(m, /listen\.adresses: unknown key \(did you mean "addresses"\?\)/);
  assert.match(m, /known keys here: addresses, port/);
  assert.match(errorOf('hba: h\ndatabases:\n  app: {host: x, prt: 1}\n'), /databases\.app\.prt: unknown key \(did you mean "port"\?\)/);
  assert.match(errorOf('hbaa: h\n'), /hbaa: unknown key \(did you mean "hba"\?\)/);
});

test('bad values and missing required keys are named', () => {
  assert.match(errorOf('listen: {}\n'), /^.*\n\s+hba: required key is missing/m);
  assert.match(errorOf('hba: h\nlisten: {port: 70000}\n'), /listen\.port: Too big/);
  assert.match(errorOf('hba: h\ndatabases:\n  "*": {host: x, sslmode: verify}\n'), /databases\.\*\.sslmode: Invalid option: expected one of "disable"/);
  assert.match(errorOf('hba: h\ntls: {cert: a, key: b, min_version: TLSv1.1}\n'), /tls\.min_version/);
  assert.match(errorOf('hba: h\nauth: {query: {function: get_auth, user: u}}\n'), /auth\.query\.function: must be schema-qualified/);
  assert.match(errorOf('hba: h\nhba: again\n'), /gatehouse\.yaml:2: Map keys must be unique/);
});

test('the config is frozen so a reload swaps it whole', () => {
  const c = parseConfig('hba: h\n', FILE);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.listen) && Object.isFrozen(c.listen.addresses));
});

test('docs/configuration.md is generated from the schema (run `gatehouse config docs > docs/configuration.md`)', () => {
  assert.equal(readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8'), configReference());
});
