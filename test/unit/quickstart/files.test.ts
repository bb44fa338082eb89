/**
 * Invariant 7 for what the quick start generates: no `trust` anywhere, hostssl + scram-sha-256
 * only, a config that listens on 127.0.0.1 only with TLS, and secrets written 0600.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureGatehouseHba, ensureSecret, writeGatehouseYaml } from '../../../src/quickstart/files.js';
import { loadHbaFile, lintHba } from '../../../src/hba/index.js';
import { parseConfig } from '../../../src/config/load.js';

test('the generated pg_hba.conf admits only hostssl + scram-sha-256 from 127.0.0.1, and lints clean', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-qs-'));
  const hba = join(dir, 'pg_hba.conf');
  ensureGatehouseHba(hba, 'app');
  assert.doesNotMatch(readFileSync(hba, 'utf8').replace(/^#.*$/gm, ''), /trust/);
  const rules = loadHbaFile(hba).rules;
  assert.equal(rules.length, 1);
  assert.deepEqual([rules[0]?.type, rules[0]?.method], ['hostssl', 'scram-sha-256']);
  const lint = lintHba(hba, { sslEnabled: true });
  assert.deepEqual(lint.errors, []);
  assert.deepEqual(lint.warnings, []);
});

test('a second run keeps an edited pg_hba.conf and the same secret', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-qs-'));
  const hba = join(dir, 'pg_hba.conf');
  writeFileSync(hba, 'hostssl all app 127.0.0.1/32 scram-sha-256 # edited\n');
  ensureGatehouseHba(hba, 'app');
  assert.match(readFileSync(hba, 'utf8'), /# edited/);
  const first = ensureSecret(join(dir, 'app.password'));
  const second = ensureSecret(join(dir, 'app.password'));
  assert.equal(first.created, true);
  assert.equal(second.created, false);
  assert.equal(first.value, second.value);
  assert.equal(statSync(join(dir, 'app.password')).mode & 0o777, 0o600);
});

test('the generated gatehouse.yaml listens on 127.0.0.1 only, with TLS 1.2 as the floor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-qs-'));
  const path = join(dir, 'gatehouse.yaml');
  writeGatehouseYaml(path, { gatehousePort: 6432, pgPort: 54329 });
  const c = parseConfig(readFileSync(path, 'utf8'), path);
  assert.deepEqual(c.listen.addresses, ['127.0.0.1']);
  assert.equal(c.tls?.min_version, 'TLSv1.2');
  assert.equal(c.auth.password_encryption, 'scram-sha-256');
});
