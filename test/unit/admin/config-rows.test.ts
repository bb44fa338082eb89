import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../src/config/load.js';
import { configRows } from '../../../src/config/show.js';
import { listKeys } from '../../../src/config/docs.js';

test('SHOW CONFIG rows come from the schema: values, defaults, changeable, secrets masked', () => {
  const config = parseConfig([
    'hba: hba.conf',
    'authentication_timeout: 500ms',
    'admin: {users: [a, b]}',
    'databases:',
    '  app: {host: db, user: svc, password: "s3cret"}',
    '  other: {host: db2}',
  ].join('\n'), '/etc/gatehouse/gatehouse.yaml');
  const rows = new Map(configRows(config).map((r) => [r.key, r]));
  assert.deepEqual(rows.get('authentication_timeout'), { key: 'authentication_timeout', value: '0.5', default: '60', changeable: 'yes' });
  assert.deepEqual(rows.get('listen.port'), { key: 'listen.port', value: '6432', default: '6432', changeable: 'no' });
  assert.equal(rows.get('admin.users')?.value, 'a,b');
  assert.equal(rows.get('admin.stats_users')?.value, '');
  assert.equal(rows.get('databases.app.password')?.value, '********');
  assert.equal(rows.get('databases.other.password')?.value, '');
  assert.equal(rows.get('databases.app.connect_timeout')?.value, '10');
  assert.equal(rows.get('hba')?.value, '/etc/gatehouse/hba.conf');
  assert.ok(![...rows.values()].some((r) => r.value.includes('s3cret')));
  // Every schema key but the per-entry template, the map itself and a list's per-kind keys (`audit.sinks[file].path`: the list is one row) appears.
  for (const k of listKeys()) {
    if (k.key.includes('<name>') || k.type === 'map' || k.key.includes('[')) continue;
    assert.ok(rows.has(k.key), k.key);
  }
});
