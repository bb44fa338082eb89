/**
 * Table-driven pg_hba.conf spec (PgBouncer hba_test.rules / hba_test.eval style).
 *
 * test/spec/hba/NAME.rules is a pg_hba.conf. Next to it:
 *  - NAME.eval: one attempt per line, `EXPECT TYPE DATABASE USER ADDRESS [key=value…]`
 *      EXPECT   `line N` (line N of NAME.rules), `line FILE:N` (a file relative to the spec dir), or `none`
 *      TYPE     local | host (TCP, no TLS) | hostssl (TCP with TLS)
 *      DATABASE, USER  URL-decoded (`ab%20cd`); `""` is the empty name
 *      ADDRESS  client IP, or `-` for local
 *      keys     groups=a,b (roles the user is a member of)  repl=physical|logical  hostname=NAME (verified host name)
 *  - NAME.errors: the exact error list, `FILE:LINE: message` (FILE relative to the spec dir), in order
 *  - NAME.notes: the exact non-fatal messages (skipped includes, hostssl without SSL…)
 * Options for loading come from a first-line comment `# options: ssl=off version=15` in NAME.rules.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compileHbaFile, evaluateHba, type HbaAttempt, type HbaParseOptions, type PgMajor } from '../../src/hba/index.js';

const SPEC_DIR = join(dirname(fileURLToPath(import.meta.url)), 'hba');

/** A fixed machine for samehost/samenet: loopback, a LAN interface and an IPv6 one. */
const INTERFACES = () => ({
  lo: [
    { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4' as const, mac: '', internal: true, cidr: '127.0.0.1/8' },
    { address: '::1', netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', family: 'IPv6' as const, mac: '', internal: true, cidr: '::1/128', scopeid: 0 },
  ],
  eth0: [
    { address: '192.168.1.10', netmask: '255.255.255.0', family: 'IPv4' as const, mac: '', internal: false, cidr: '192.168.1.10/24' },
    { address: '2001:db8::10', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6' as const, mac: '', internal: false, cidr: '2001:db8::10/64', scopeid: 0 },
  ],
});

function dataLines(path: string): { text: string; lineNo: number }[] {
  return readFileSync(path, 'utf8').split('\n')
    .map((text, i) => ({ text: text.replace(/\s+#\s.*$/, '').trim(), lineNo: i + 1 }))
    .filter((l) => l.text !== '' && !l.text.startsWith('#'));
}

function optionsOf(rulesPath: string): HbaParseOptions {
  const first = readFileSync(rulesPath, 'utf8').split('\n')[0] ?? '';
  const m = /^# options: (.*)$/.exec(first);
  if (!m) return {};
  const kv = Object.fromEntries((m[1] ?? '').split(/\s+/).map((p) => p.split('=') as [string, string]));
  return {
    ...(kv.ssl ? { sslEnabled: kv.ssl === 'on' } : {}),
    ...(kv.version ? { pgVersion: Number(kv.version) as PgMajor } : {}),
    ...(kv.oauth ? { oauthValidatorLibraries: kv.oauth.split(',') } : {}),
  };
}

function parseAttempt(fields: string[]): { attempt: HbaAttempt; expect: string } {
  const [e1 = '', ...rest] = fields;
  const expect = e1 === 'line' ? `line ${rest.shift() ?? ''}` : e1;
  const [type = '', database = '', user = '', address = '-', ...kvs] = rest;
  const kv = Object.fromEntries(kvs.map((p) => p.split('=') as [string, string]));
  const groups = new Set((kv.groups ?? '').split(',').filter((g) => g !== ''));
  const attempt: HbaAttempt = {
    socket: type === 'local' ? 'local' : 'host',
    ssl: type === 'hostssl',
    database: database === '""' ? '' : decodeURIComponent(database),
    user: decodeURIComponent(user),
    replication: (kv.repl as HbaAttempt['replication'] | undefined) ?? 'none',
    isMember: (role) => role === decodeURIComponent(user) || groups.has(role),
    ...(address !== '-' ? { address } : {}),
    ...(kv.hostname !== undefined ? { hostname: kv.hostname } : {}),
  };
  return { attempt, expect };
}

const rulesFiles = readdirSync(SPEC_DIR).filter((f) => f.endsWith('.rules')).sort();

describe('hba spec tables', () => {
  it('has table files', () => assert.ok(rulesFiles.length >= 10, `only ${rulesFiles.length} .rules files`));
  for (const rules of rulesFiles) {
    const base = join(SPEC_DIR, rules.replace(/\.rules$/, ''));
    const rulesPath = `${base}.rules`;
    describe(rules, () => {
      const compiled = compileHbaFile(rulesPath, optionsOf(rulesPath));
      const show = (file: string, line: number): string => `${relative(SPEC_DIR, file)}:${line}`;
      if (existsSync(`${base}.errors`)) {
        it('reports exactly the expected errors', () => {
          const expected = dataLines(`${base}.errors`).map((l) => l.text);
          assert.deepEqual(compiled.errors.map((e) => `${show(e.file, e.line)}: ${e.message.replaceAll(`${SPEC_DIR}/`, '')}`), expected);
        });
      } else {
        it('loads without errors', () => assert.deepEqual(compiled.errors, []));
      }
      if (existsSync(`${base}.notes`)) {
        it('reports exactly the expected notes', () => {
          const expected = dataLines(`${base}.notes`).map((l) => l.text);
          assert.deepEqual(compiled.notes.map((n) => `${show(n.file, n.line)}: ${n.message.replaceAll(`${SPEC_DIR}/`, '')}`), expected);
        });
      }
      if (!existsSync(`${base}.eval`)) return;
      for (const { text, lineNo } of dataLines(`${base}.eval`)) {
        it(`${rules.replace(/\.rules$/, '.eval')}:${lineNo} ${text}`, () => {
          const { attempt, expect } = parseAttempt(text.split(/\s+/));
          const rule = evaluateHba(compiled.ruleSet, attempt, { networkInterfaces: INTERFACES });
          const got = rule === null ? 'none' : rule.file === rulesPath ? `line ${rule.line}` : `line ${show(rule.file, rule.line)}`;
          assert.equal(got, expect);
        });
      }
    });
  }
});
