/** The pgAudit line and the JSON fields, byte for byte (docs/audit-log.md "Formats"). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csvField, jsonFields, parameterField, pgauditLines, sessionTime, type ConnectionRecord } from '../../../src/audit/format.js';
import type { StatementRecord } from '../../../src/audit/types.js';

const T = new Date('2026-12-04T02:30:00.123Z');
const OFF = { logParameter: false, logRelation: false };
const ON = { logParameter: true, logRelation: false };
const stmt = (over: Partial<StatementRecord>): StatementRecord => ({
  kind: 'statement', session: 42, user: 'app', database: 'shop', client: { address: '127.0.0.1', port: 50000 },
  statement_id: 1, substatement_id: 1, class: 'READ', command: 'SELECT', objects: [], statement: 'select 1', ...over,
});

test('append_valid_csv: quoted only with a quote, a comma, CR or LF; quotes doubled', () => {
  assert.equal(csvField('select 1'), 'select 1');
  assert.equal(csvField('select 1, 2'), '"select 1, 2"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('a\nb'), '"a\nb"');
  assert.equal(csvField('a\rb'), '"a\rb"');
  assert.equal(csvField("it's; fine"), "it's; fine");
  assert.equal(csvField(undefined), '');
});

test('a READ statement: the exact line pgAudit pipelines match', () => {
  assert.deepEqual(pgauditLines(stmt({}), T, OFF),
    ['2026-12-04 02:30:00.123 UTC [42] app@shop LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,select 1,<not logged>']);
});

test('commas, quotes and newlines in the statement are quoted as pgAudit does', () => {
  const r = stmt({ statement_id: 3, substatement_id: 2, statement: 'select \'a,b\', "x"\nfrom t' });
  assert.deepEqual(pgauditLines(r, T, OFF),
    ['2026-12-04 02:30:00.123 UTC [42] app@shop LOG:  AUDIT: SESSION,3,2,READ,SELECT,,,"select \'a,b\', ""x""\nfrom t",<not logged>']);
});

test('MISC_SET prints as MISC in the line and stays MISC_SET in JSON', () => {
  const r = stmt({ class: 'MISC_SET', command: 'SET', statement: 'set search_path = x' });
  assert.equal(pgauditLines(r, T, OFF)[0], '2026-12-04 02:30:00.123 UTC [42] app@shop LOG:  AUDIT: SESSION,1,1,MISC,SET,,,set search_path = x,<not logged>');
  assert.equal(jsonFields(r, T, OFF).class, 'MISC_SET');
});

test('parameters: <not logged> when off, <none> without any, CSV inside CSV otherwise (NULL is empty)', () => {
  assert.equal(parameterField(['1'], OFF), '<not logged>');
  assert.equal(parameterField(undefined, ON), '<none>');
  assert.equal(parameterField([], ON), '<none>');
  assert.equal(parameterField(['42'], ON), '42');
  assert.equal(parameterField(['1', null, 'a,b', 'say "x"'], ON), '"1,,""a,b"",""say """"x"""""""');
  const r = stmt({ statement: 'select $1', parameters: ['7', 'x y'] });
  assert.equal(pgauditLines(r, T, ON)[0], '2026-12-04 02:30:00.123 UTC [42] app@shop LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,select $1,"7,x y"');
  assert.equal(jsonFields(r, T, OFF).parameters, undefined, 'parameters are left out of JSON when log_parameter is off');
  assert.deepEqual(jsonFields(r, T, ON).parameters, ['7', 'x y']);
});

test('objects: DDL prints its object; READ/WRITE only with log_relation, one line per relation', () => {
  const ddl = stmt({ class: 'DDL', command: 'CREATE TABLE', objects: [{ type: 'TABLE', name: 'public.t' }], statement: 'create table public.t (a int)' });
  assert.equal(pgauditLines(ddl, T, OFF)[0], '2026-12-04 02:30:00.123 UTC [42] app@shop LOG:  AUDIT: SESSION,1,1,DDL,CREATE TABLE,TABLE,public.t,create table public.t (a int),<not logged>');
  const read = stmt({ objects: [{ type: 'TABLE', name: 'a' }, { type: 'VIEW', name: 's.v' }], statement: 'select * from a, s.v' });
  assert.deepEqual(pgauditLines(read, T, OFF).map((l) => l.slice(l.indexOf("AUDIT: "))), ['AUDIT: SESSION,1,1,READ,SELECT,,,"select * from a, s.v",<not logged>']);
  assert.deepEqual(pgauditLines(read, T, { logParameter: false, logRelation: true }).map((l) => l.slice(l.indexOf("AUDIT: "))), [
    'AUDIT: SESSION,1,1,READ,SELECT,TABLE,a,"select * from a, s.v",<not logged>',
    'AUDIT: SESSION,1,1,READ,SELECT,VIEW,s.v,"select * from a, s.v",<not logged>',
  ]);
});

test('a policy refusal: type POLICY, the rule last', () => {
  const line = pgauditLines({ kind: 'policy', session: 7, user: 'ro', database: 'shop', client: { address: '10.0.0.5' }, statement_id: 4,
    class: 'WRITE', command: 'DELETE', rule: 'read_only', statement: 'delete from t' }, T, OFF)[0];
  assert.equal(line, '2026-12-04 02:30:00.123 UTC [7] ro@shop LOG:  AUDIT: POLICY,4,1,WRITE,DELETE,,,delete from t,read_only');
});

test('connection and disconnection lines: PostgreSQL\'s log_connections wording, key=value pairs', () => {
  const ok: ConnectionRecord = { kind: 'connection', session: 9, client: { socket: 'tcp', address: '127.0.0.1', port: 5555 },
    tls: { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', direct: false }, user: 'app', database: 'shop', application_name: 'my app',
    hba: { file: '/etc/gh/pg_hba.conf', line: 2 }, method: 'scram-sha-256', authenticated: true, outcome: 'success', duration_ms: 12 };
  assert.equal(pgauditLines(ok, T, OFF)[0], '2026-12-04 02:30:00.123 UTC [9] app@shop LOG:  connection authorized: user=app database=shop ' +
    'application_name="my app" host=127.0.0.1 port=5555 hba=/etc/gh/pg_hba.conf:2 method=scram-sha-256 SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384) duration_ms=12');
  const bad: ConnectionRecord = { kind: 'connection', session: 10, client: { socket: 'tcp', address: '::1', port: 1 }, outcome: 'failure',
    sqlstate: '08P01', reason: 'invalid length of startup packet', duration_ms: 0 };
  assert.equal(pgauditLines(bad, T, OFF)[0], '2026-12-04 02:30:00.123 UTC [10] [unknown]@[unknown] LOG:  connection failed: sqlstate=08P01 host=::1 port=1 reason="invalid length of startup packet" duration_ms=0');
  const end = pgauditLines({ kind: 'disconnection', session: 9, client: { socket: 'tcp', address: '127.0.0.1', port: 5555 }, user: 'app', database: 'shop',
    duration_ms: 3_723_004, bytes_in: 10, bytes_out: 20, reason: 'client closed' }, T, OFF)[0];
  assert.equal(end, '2026-12-04 02:30:00.123 UTC [9] app@shop LOG:  disconnection: session time: 1:02:03.004 user=app database=shop host=127.0.0.1 port=5555 bytes_in=10 bytes_out=20 reason="client closed"');
  assert.equal(sessionTime(999), '0:00:00.999');
});

test('a user name with a newline cannot start a new line in the prefix', () => {
  const line = pgauditLines(stmt({ user: 'evil\n2026-01-01 LOG:  AUDIT: fake' }), T, OFF)[0]!;
  assert.equal(line.split('\n').length, 1);
});

test('JSON never carries a field named password or secret, at any depth', () => {
  const r = { ...stmt({}), password: 'hunter2', client: { address: 'x', secret: 's' } } as unknown as StatementRecord;
  const f = JSON.stringify(jsonFields(r, T, OFF));
  assert.doesNotMatch(f, /hunter2|"secret"|"password"/);
  assert.match(f, /^\{"time":"2026-12-04T02:30:00.123Z","kind":"statement","session":42/);
});

test('jsonText is JSON.stringify(jsonFields()) byte for byte, on the fast path and off it', async () => {
  const { jsonText } = await import('../../../src/audit/format.js');
  const { Chain } = await import('../../../src/audit/chain.js');
  const cases: [string, StatementRecord, typeof OFF][] = [
    ['plain', stmt({ rows: 1, duration_ms: 0.08, application_name: 'pgbench' }), OFF],
    ['parameters, log_parameter off (dropped)', stmt({ parameters: ['7', null] }), OFF],
    ['parameters, log_parameter on', stmt({ parameters: ['7', null] }), ON],
    ['a "password": key in a value only', stmt({ statement: 'select \'{"password": 1}\'::jsonb' }), OFF],
    ['a forbidden key in the record (scrubbed)', { ...stmt({}), client: { address: '127.0.0.1', Password: 'hunter2' } } as unknown as StatementRecord, OFF],
  ];
  for (const [what, r, o] of cases) {
    const text = jsonText(r, T, o);
    assert.equal(text, JSON.stringify(jsonFields(r, T, o)), what);
    assert.ok(!text.includes('hunter2'), what);
    const [a, b] = [new Chain(), new Chain()];
    assert.equal(a.appendJson(text), b.append(JSON.parse(text) as Record<string, unknown>), `${what}: appendJson = append`);
  }
});

test('a tap\'s statement record is written from cached parts, byte for byte what JSON.stringify(jsonFields()) gives', async () => {
  const { jsonText, tapStatementRecord } = await import('../../../src/audit/format.js');
  const info = { session: 7, user: 'app "quoted"', database: 'shöp', client: { address: '::1', port: 5 }, application_name: 'pgbench' };
  const objects = [{ type: 'TABLE', name: 'public.t' }];
  const st = { class: 'WRITE' as const, command: 'INSERT', objects, text: 'insert into t values (\'a\nb "c"\', 1)' };
  type Extra = Partial<Pick<StatementRecord, 'parameters' | 'statement_name' | 'rows' | 'sqlstate' | 'unparsed'>>;
  const cases: [string, typeof info | Omit<typeof info, 'application_name' | 'client'> & { client: { address: string } }, Extra, typeof OFF][] = [
    ['plain', info, { rows: 1 }, OFF],
    ['no application_name, no port', { session: 8, user: 'u', database: 'd', client: { address: '127.0.0.1' } }, {}, OFF],
    ['every optional field, log_parameter off', info, { parameters: ['1', null], statement_name: '', rows: 0, sqlstate: '23505', unparsed: true }, OFF],
    ['every optional field, log_parameter on', info, { parameters: ['1', null], statement_name: 'p1', rows: 0, sqlstate: '23505', unparsed: true }, ON],
  ];
  for (const [what, i, extra, o] of cases) {
    for (let round = 0; round < 2; round++) { // the second round is answered from the caches
      const r = tapStatementRecord(i, 3, 2, st, 0.125);
      Object.assign(r, extra);
      assert.equal(jsonText(r, T, o), JSON.stringify(jsonFields(r, T, o)), `${what}, round ${round + 1}`);
    }
  }
  // The same client object with a changed field (a reused object must not keep a stale cache).
  const changed = tapStatementRecord({ ...info, user: 'other' }, 1, 1, st, 1);
  assert.equal(jsonText(changed, T, OFF), JSON.stringify(jsonFields(changed, T, OFF)));
});

test('a prebuilt record (native/fastrec.h) is the text the tap\'s record of the same statement gives', async () => {
  const { jsonText, prebuiltStatementJson, sessionPart, tapStatementRecord } = await import('../../../src/audit/format.js');
  const info = { session: 9, user: 'app', database: 'db', client: { address: '127.0.0.1', port: 6 }, application_name: 'psql' };
  const st = { class: 'READ' as const, command: 'SELECT', objects: [{ type: 'TABLE', name: 'public.t' }], functions: [], text: 'first text' };
  const part = `"class":"READ","command":"SELECT","objects":${JSON.stringify(st.objects)}`;
  for (const [text, duration, rows] of [['select 1', 0.125, 1], ['select \'a\tb "c"\'', 3, -1], ['show x', 0, 0]] as const) {
    const r = tapStatementRecord(info, 4, 1, { ...st, text }, duration);
    if (rows >= 0) r.rows = rows;
    for (const o of [OFF, ON]) assert.equal(prebuiltStatementJson(sessionPart(info), 4, part, JSON.stringify(text), duration, rows, T), jsonText(r, T, o), text);
  }
});
