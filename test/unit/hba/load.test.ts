import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { GatehouseError } from '../../../src/errors.js';
import {
  compileHbaText, evaluateHba, HbaLoadError, hbaFileRules, loadHbaFile, parseHbaText, resolveClientHostname, type HbaAttempt,
} from '../../../src/hba/index.js';

const FILE = '/nonexistent/pg_hba.conf';

describe('loading', () => {
  it('refuses the whole file and lists every error with file:line (HbaLoadError, GH_HBA_INVALID)', () => {
    assert.throws(() => parseHbaText('local all all trust\nhost all all 10.0.0.0/33 trust\nlocal all all md4\n', FILE), (e: unknown) => {
      assert.ok(e instanceof HbaLoadError && e instanceof GatehouseError);
      assert.equal(e.code, 'GH_HBA_INVALID');
      assert.equal(e.message, `${FILE}:2: ${FILE} was not loaded: invalid CIDR mask in address "10.0.0.0/33" (and 1 more)`);
      assert.deepEqual(e.errors, [
        { file: FILE, line: 2, message: 'invalid CIDR mask in address "10.0.0.0/33"' },
        { file: FILE, line: 3, message: 'invalid authentication method "md4"' },
      ]);
      return true;
    });
  });
  it('refuses a file with no rules', () => {
    assert.throws(() => parseHbaText('# empty\n', FILE), { message: `${FILE}: ${FILE} was not loaded: configuration file "${FILE}" contains no entries` });
  });
  it('refuses an unreadable file', () => {
    assert.throws(() => loadHbaFile('/nonexistent/dir/pg_hba.conf'), (e: unknown) => e instanceof HbaLoadError
      && e.errors[0]?.message === 'could not open file "/nonexistent/dir/pg_hba.conf": No such file or directory');
  });
  it('keeps file, line, rule number and the raw text on immutable rules', () => {
    const set = parseHbaText('# c\nlocal all all peer map=os\nhostssl app,"b" +g,u 10.0.0.0/8 cert map=certs \\\n  clientname=DN\n', FILE);
    const [a, b] = set.rules;
    assert.deepEqual([a?.file, a?.line, a?.ruleNumber, a?.text, a?.method, a?.map, a?.clientcert], [FILE, 2, 1, 'local all all peer map=os', 'peer', 'os', undefined]);
    assert.deepEqual([b?.line, b?.ruleNumber, b?.text, b?.clientcert, b?.clientname], [3, 2, 'hostssl app,"b" +g,u 10.0.0.0/8 cert map=certs   clientname=DN', 'verify-full', 'DN']);
    assert.deepEqual(b?.options, { map: 'certs', clientname: 'DN' });
    assert.deepEqual(b?.databases.map((d) => [d.kind, d.token.text, d.token.quoted]), [['name', 'app', false], ['name', 'b', true]]);
    assert.deepEqual(b?.users.map((u) => u.kind), ['member', 'name']);
    assert.ok(Object.isFrozen(b) && Object.isFrozen(b?.options) && Object.isFrozen(set.rules));
    assert.equal(set.needsMembership, true);
    assert.equal(set.needsHostname, false);
  });
  it('turns ident on a local line into peer', () => {
    assert.equal(parseHbaText('local all all ident\n', FILE).rules[0]?.method, 'peer');
  });
  it('carries clientcert=verify-ca and the last of repeated options', () => {
    const r = parseHbaText('hostssl all all all scram-sha-256 clientcert=verify-ca clientcert=verify-full clientcert=verify-ca\n', FILE).rules[0];
    assert.equal(r?.clientcert, 'verify-ca');
  });
  it('flags rule sets that need host names', () => {
    assert.equal(parseHbaText('host all all .example.com trust\n', FILE).needsHostname, true);
  });
  it('keeps PostgreSQL\'s warnings as notes', () => {
    const set = parseHbaText('hostssl all all all trust\n', FILE, { sslEnabled: false });
    assert.deepEqual(set.notes, [`${FILE}:1: hostssl record cannot match because SSL is disabled`]);
  });
  it('follows include and @file relative to the including file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-hba-'));
    writeFileSync(join(dir, 'pg_hba.conf'), 'include sub/extra.conf\nhost all all all reject\n');
    writeFileSync(join(dir, 'users'), 'alice');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'extra.conf'), 'host app @../users 10.0.0.0/8 trust\n');
    const set = loadHbaFile(join(dir, 'pg_hba.conf'));
    assert.deepEqual(set.rules.map((r) => [r.file.slice(dir.length), r.line, r.ruleNumber]), [['/sub/extra.conf', 1, 1], ['/pg_hba.conf', 2, 2]]);
    assert.equal(set.rules[0]?.users[0]?.token.viaFile, join(dir, 'users'));
  });
});

describe('evaluateHba defaults', () => {
  const set = parseHbaText('host app +admins 10.0.0.0/8 trust\nhost samerole all 10.0.0.0/8 md5\nhost all all 10.0.0.0/8 reject\n', FILE);
  const attempt = (user: string, database = 'app'): HbaAttempt => ({ socket: 'host', ssl: false, address: '10.1.1.1', database, user, replication: 'none' });
  it('treats a user as a member of itself only when isMember is absent', () => {
    assert.equal(evaluateHba(set, attempt('admins'))?.line, 1);
    assert.equal(evaluateHba(set, attempt('alice'))?.line, 3);
    assert.equal(evaluateHba(set, attempt('alice', 'alice'))?.line, 2);
    assert.equal(evaluateHba(set, { ...attempt('alice'), isMember: (r) => r === 'admins' })?.line, 1);
  });
  it('matches no address rule for a TCP attempt without an address, but does match "all"', () => {
    const s = parseHbaText('host all all 10.0.0.0/8 trust\nhost all all all reject\n', FILE);
    assert.equal(evaluateHba(s, { socket: 'host', ssl: false, database: 'd', user: 'u', replication: 'none' })?.line, 2);
  });
});

describe('pg_hba_file_rules rows', () => {
  it('numbers only error-free lines and keeps PostgreSQL\'s quirks', () => {
    const r = compileHbaText([
      'local all all trust',
      'hostssl all all all md5',                          // loads, but the view shows the warning and no number
      'hostssl all all all md5 clientcert=bogus',         // refused; the view still shows the earlier warning
      'host all all all md5 clientname=CN',               // refused with a message
      'host all all all radius radiusservers=127.0.0.1 radiussecrets=s radiusports=0', // refused silently: numbered
      'host "db" u1,u2 10.1.2.3/8 ldap ldapserver=h ldapbasedn="dc=x" ldaptls=1',
    ].join('\n'), FILE, { sslEnabled: false });
    const rows = hbaFileRules(r).map((x) => [x.ruleNumber, x.lineNumber, x.type, x.database, x.userName, x.address, x.netmask, x.authMethod, x.options, x.error]);
    assert.deepEqual(rows, [
      [1, 1, 'local', ['all'], ['all'], null, null, 'trust', null, null],
      [null, 2, 'hostssl', ['all'], ['all'], 'all', null, 'md5', null, 'hostssl record cannot match because SSL is disabled'],
      [null, 3, null, null, null, null, null, null, null, 'hostssl record cannot match because SSL is disabled'],
      [null, 4, null, null, null, null, null, null, null, 'clientname can only be configured for "hostssl" rows'],
      [2, 5, null, null, null, null, null, null, null, null],
      [3, 6, 'host', ['db'], ['u1', 'u2'], '10.1.2.3', '255.0.0.0', 'ldap', ['ldapserver=h', 'ldaptls=true', 'ldapbasedn=dc=x', 'ldapscope=2'], null],
    ]);
    assert.deepEqual(r.errors.map((e) => [e.line, e.message]), [
      [3, 'invalid value for clientcert: "bogus"'],
      [4, 'clientname can only be configured for "hostssl" rows'],
      [5, 'invalid RADIUS port number: "0"'],
    ]);
  });
});

describe('resolveClientHostname', () => {
  const resolver = (names: Record<string, string>, addrs: Record<string, string[]>) => ({
    reverse: async (ip: string) => names[ip] ?? ip,
    forward: async (name: string) => {
      const a = addrs[name];
      if (!a) throw new Error('ENOTFOUND');
      return a;
    },
  });
  it('returns a forward-confirmed name', async () => {
    assert.equal(await resolveClientHostname('203.0.113.5', resolver({ '203.0.113.5': 'db.example.com' }, { 'db.example.com': ['2001:db8::1', '203.0.113.5'] })), 'db.example.com');
  });
  it('rejects a name whose forward lookup does not return the client', async () => {
    assert.equal(await resolveClientHostname('203.0.113.5', resolver({ '203.0.113.5': 'evil.example.com' }, { 'evil.example.com': ['198.51.100.1'] })), null);
  });
  it('returns null without a PTR name or when the forward lookup fails', async () => {
    assert.equal(await resolveClientHostname('203.0.113.5', resolver({}, {})), null);
    assert.equal(await resolveClientHostname('203.0.113.5', resolver({ '203.0.113.5': 'gone.example.com' }, {})), null);
  });
  it('confirms a dual-stack client written as ::ffff:a.b.c.d', async () => {
    assert.equal(await resolveClientHostname('::ffff:203.0.113.5', resolver({ '::ffff:203.0.113.5': 'db.example.com' }, { 'db.example.com': ['203.0.113.5'] })), 'db.example.com');
  });
});
