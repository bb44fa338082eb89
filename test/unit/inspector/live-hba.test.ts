/** pg_hba.conf in live mode: the file when readable, else pg_hba_file_rules rows turned back into lines; the view's errors win. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { liveHba, viewRowLine, type HbaViewRow } from '../../../src/inspector/collect/live-hba.js';

const row = (o: Partial<HbaViewRow>): HbaViewRow => ({
  line_number: 1, type: 'host', database: ['all'], user_name: ['all'], address: null, netmask: null, auth_method: 'scram-sha-256', options: null, error: null, ...o,
});

describe('view rows as lines', () => {
  test('address and netmask, quoting where a name needs it, options', () => {
    assert.equal(viewRowLine(row({ database: ['app', 'my db'], user_name: ['+staff', 'a"b'], address: '10.0.0.0', netmask: '255.0.0.0' })),
      'host app,"my db" +staff,"a""b" 10.0.0.0 255.0.0.0 scram-sha-256');
    assert.equal(viewRowLine(row({ type: 'local', auth_method: 'peer', options: ['map=omicron'] })), 'local all all peer map=omicron');
    assert.equal(viewRowLine(row({ type: 'hostssl', address: 'all', auth_method: 'cert', options: ['clientname=DN'] })), 'hostssl all all all cert clientname=DN');
  });
});

describe('liveHba', () => {
  const rows: HbaViewRow[] = [
    row({ line_number: 1, type: 'local', database: ['all'], user_name: ['postgres'], auth_method: 'peer' }),
    row({ line_number: 3, address: '0.0.0.0', netmask: '0.0.0.0', auth_method: 'trust' }),
    row({ line_number: 4, type: null, database: null, user_name: null, auth_method: null, error: 'invalid authentication method "foo"' }),
    // Loads, with a warning in the error column: not a refused line.
    row({ line_number: 6, type: 'hostssl', address: '192.0.2.0', netmask: '255.255.255.0', error: 'hostssl record cannot match because SSL is disabled' }),
  ];
  test('from the view: rules keep their file and line; only refused rows are errors', () => {
    const r = liveHba({ hbaFile: '/etc/pg/pg_hba.conf', viewRows: rows, pgVersion: 15, sslEnabled: false });
    assert.equal(r?.source, 'view');
    assert.deepEqual(r?.result.ruleSet.rules.map((x) => [x.file, x.line, x.ruleNumber, x.method]), [
      ['/etc/pg/pg_hba.conf', 1, 1, 'peer'], ['/etc/pg/pg_hba.conf', 3, 2, 'trust'], ['/etc/pg/pg_hba.conf', 6, 3, 'scram-sha-256'],
    ]);
    assert.deepEqual(r?.result.errors, [{ file: '/etc/pg/pg_hba.conf', line: 4, message: 'invalid authentication method "foo"' }]);
  });
  test('PostgreSQL 16+ rows name the included file', () => {
    const r = liveHba({ hbaFile: '/d/pg_hba.conf', viewRows: [row({ file_name: '/d/conf.d/extra.conf', line_number: 2, rule_number: 1, address: 'samenet' })], pgVersion: 16, sslEnabled: true });
    assert.deepEqual(r?.result.ruleSet.rules.map((x) => [x.file, x.line]), [['/d/conf.d/extra.conf', 2]]);
  });
  test('the file when readable (exact text), with the view\'s errors', () => {
    const text = 'local all postgres peer\n\nhost all all 0.0.0.0/0 trust\nhost all all 0.0.0.0/0 foo\n';
    const r = liveHba({ hbaFile: '/etc/pg/pg_hba.conf', fileText: text, viewRows: rows, pgVersion: 18, sslEnabled: false });
    assert.equal(r?.source, 'file');
    assert.equal(r?.result.ruleSet.rules[1]?.text, 'host all all 0.0.0.0/0 trust');
    assert.deepEqual(r?.result.errors.map((e) => e.message), ['invalid authentication method "foo"']);
    const alone = liveHba({ hbaFile: '/etc/pg/pg_hba.conf', fileText: text, pgVersion: 18, sslEnabled: false });
    assert.match(alone?.result.errors[0]?.message ?? '', /invalid authentication method "foo"/);
  });
  test('nothing readable: null', () => {
    assert.equal(liveHba({ hbaFile: 'x', pgVersion: 18, sslEnabled: true }), null);
  });
});
