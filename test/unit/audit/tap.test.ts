import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Classifier, loadClassifier } from '../../../src/audit/classify.js';
import { StatementTap, Verdict, type TapOptions } from '../../../src/audit/tap.js';
import { compilePolicy, rulesFor } from '../../../src/audit/policy.js';
import { parseConfig } from '../../../src/config/load.js';
import type { AuditClassName, PolicyRecord, StatementRecord } from '../../../src/audit/types.js';
import * as fe from '../../../src/protocol/frontend/encode.js';
import * as be from '../../../src/protocol/backend/encode.js';
import { decodeErrorResponse } from '../../../src/protocol/backend/decode.js';
import { decodeBind, decodeParse } from '../../../src/protocol/frontend/decode.js';

const ALL: ReadonlySet<AuditClassName> = new Set(['read', 'write', 'function', 'role', 'ddl', 'misc', 'misc_set']);
const C = 0x43;
const E = 0x45;
const Z = 0x5a;
const I = 0x49;
const SUSPENDED = 0x73;
const err = (code: string): Buffer => be.errorResponse({ severity: 'ERROR', code, message: `error ${code}` });
const ready = be.readyForQuery('I');

let classifier: Classifier;
before(async () => {
  await loadClassifier();
  classifier = new Classifier();
});
after(async () => classifier.close());

function tapWith(o: Partial<TapOptions> & { policy?: string } = {}): { tap: StatementTap; recs: (StatementRecord | PolicyRecord)[]; refused: string[] } {
  const recs: (StatementRecord | PolicyRecord)[] = [];
  const refused: string[] = [];
  const rules = o.policy ? rulesFor(compilePolicy(parseConfig(`hba: h\npolicy:\n${o.policy}`, '/x.yaml').policy), 'u', 'd') : null;
  const tap = new StatementTap({
    info: { session: 9, user: 'u', database: 'd', client: { address: '127.0.0.1', port: 1 } },
    classifier, classes: ALL, logParameter: false, rules,
    writer: { write: (r) => void recs.push(r), accepting: true, whenAccepting: () => Promise.resolve() },
    onRefused: (e) => void refused.push(e.rule),
    ...o,
  });
  return { tap, recs, refused };
}
const brief = (r: StatementRecord | PolicyRecord): unknown[] =>
  r.kind === 'statement' ? [r.statement_id, r.substatement_id, r.command, r.rows, r.sqlstate, r.statement_name] : ['policy', r.statement_id, r.command, r.rule];

test('simple query: one statement id per Query, substatement ids per part; an error ends the Query', () => {
  const { tap, recs } = tapWith();
  assert.equal(tap.query(fe.query('SELECT 1; INSERT INTO t VALUES (1); SELECT 3')), Verdict.Forward);
  tap.server(C, be.commandComplete('SELECT 1'));
  tap.server(E, err('23505'));
  tap.server(Z, ready);
  tap.query(fe.query(''));
  tap.server(I, be.emptyQueryResponse);
  tap.server(Z, ready);
  tap.query(fe.query('UPDATE t SET n = 2'));
  tap.server(C, be.commandComplete('UPDATE 4'));
  tap.server(Z, ready);
  assert.deepEqual(recs.map(brief), [
    [1, 1, 'SELECT', 1, undefined, undefined],
    [1, 2, 'INSERT', undefined, '23505', undefined],
    [3, 1, 'UPDATE', 4, undefined, undefined],
  ]);
  assert.ok(recs.every((r) => r.kind === 'statement' && typeof r.duration_ms === 'number' && r.session === 9));
});

test('extended protocol: a record per Execute with the statement name; after an error the server skips to Sync', () => {
  const { tap, recs } = tapWith();
  tap.parse(fe.parse('s1', 'SELECT n FROM t WHERE n > $1'));
  tap.bind(fe.bind('', 's1', [Buffer.from('1')]));
  tap.execute(fe.execute());
  tap.bind(fe.bind('p2', 's1', [Buffer.from('2')]));
  tap.execute(fe.execute('p2', 10));
  tap.sync();
  tap.server(C, be.commandComplete('SELECT 5'));
  tap.server(SUSPENDED, Buffer.from([SUSPENDED, 0, 0, 0, 4]));
  tap.server(Z, ready);
  tap.parse(fe.parse('', 'DELETE FROM t'));
  tap.bind(fe.bind('', '', []));
  tap.execute(fe.execute());
  tap.parse(fe.parse('', 'SELECT 2'));
  tap.bind(fe.bind('', '', []));
  tap.execute(fe.execute());
  tap.sync();
  tap.server(E, err('42P01'));
  tap.server(Z, be.readyForQuery('I'));
  assert.deepEqual(recs.map(brief), [
    [1, 1, 'SELECT', 5, undefined, 's1'],
    [2, 1, 'SELECT', undefined, undefined, 's1'],
    [3, 1, 'DELETE', undefined, '42P01', ''],
  ]);
  assert.equal((recs[0] as StatementRecord).parameters, undefined, 'no parameters without log_parameter');
});

test('a refused Query is replaced; its 42501 from the server becomes the rule\'s; a 25P02 goes through', () => {
  const { tap, recs, refused } = tapWith({ policy: '  ro: {read_only: true}\n' });
  assert.equal(tap.query(fe.query("SELECT 1; DELETE FROM t WHERE n = 5")), Verdict.Replace);
  assert.match(tap.replacement.toString('utf8', 5), /^DO \$gatehouse\$BEGIN RAISE EXCEPTION USING ERRCODE = '42501'/);
  assert.ok(!tap.replacement.includes('DELETE'), 'nothing of the refused text goes to the server');
  const swapped = tap.server(E, err('42501'));
  assert.ok(swapped);
  assert.deepEqual(decodeErrorResponse(swapped.subarray(5)), { severity: 'ERROR', severityNonLocalized: 'ERROR', code: '42501', message: 'permission denied by gatehouse policy: ro: read_only refuses DELETE' });
  tap.server(Z, be.readyForQuery('E'));
  assert.equal(tap.query(fe.query('DELETE FROM t')), Verdict.Replace);
  assert.equal(tap.server(E, err('25P02')), null, 'in a failed transaction the server\'s 25P02 is what PostgreSQL would send');
  tap.server(Z, be.readyForQuery('E'));
  assert.deepEqual(recs.map(brief), [['policy', 1, 'DELETE', 'ro: read_only refuses DELETE'], ['policy', 2, 'DELETE', 'ro: read_only refuses DELETE']]);
  assert.equal((recs[0] as PolicyRecord).statement, "SELECT 1; DELETE FROM t WHERE n = 5");
  assert.deepEqual(refused, ['ro: read_only refuses DELETE', 'ro: read_only refuses DELETE']);
});

test('a refused Parse keeps its name with the refusal; its Binds lose their parameters; each Execute is refused and recorded', () => {
  const { tap, recs } = tapWith({ policy: '  fn: {deny_functions: [dangerous]}\n' });
  assert.equal(tap.parse(fe.parse('s9', 'SELECT pg_read_file($1)', [25])), Verdict.Replace);
  const p = decodeParse(tap.replacement.subarray(5));
  assert.equal(p.name, 's9');
  assert.deepEqual(p.paramTypes, []);
  assert.match(p.query, /^DO /);
  assert.equal(tap.bind(fe.bind('', 's9', [Buffer.from('/etc/passwd')], [0], [1])), Verdict.Replace);
  const b = decodeBind(tap.replacement.subarray(5));
  assert.deepEqual([b.portal, b.statement, b.params, b.resultFormats], ['', 's9', [], []]);
  tap.execute(fe.execute());
  tap.sync();
  assert.ok(tap.server(E, err('42501')));
  tap.server(Z, ready);
  assert.deepEqual(recs.map(brief), [['policy', 1, 'SELECT', 'fn: deny_functions refuses pg_read_file']]);
  assert.equal(tap.parse(fe.parse('ok', 'SELECT upper($1)')), Verdict.Forward);
});

test('a fastpath FunctionCall is refused where rules look at what runs, and passes otherwise', () => {
  assert.equal(tapWith({ policy: '  ro: {read_only: true}\n' }).tap.functionCall(), Verdict.Replace);
  assert.equal(tapWith({ policy: '  cp: {deny_copy_program: true}\n' }).tap.functionCall(), Verdict.Forward);
  assert.equal(tapWith().tap.functionCall(), Verdict.Forward);
});

test('log_parameter: Bind values as text, binary ones as <binary>; a secret-taking call\'s values are redacted', () => {
  const { tap, recs } = tapWith({ logParameter: true });
  tap.parse(fe.parse('', 'SELECT $1::int, $2::text, $3::bytea'));
  tap.bind(fe.bind('', '', [Buffer.from('7'), null, Buffer.from([1, 2])], [0, 0, 1]));
  tap.execute(fe.execute());
  tap.parse(fe.parse('', 'SELECT dblink_connect($1)'));
  tap.bind(fe.bind('', '', [Buffer.from('host=x password=hunter2')]));
  tap.execute(fe.execute());
  tap.sync();
  tap.server(C, be.commandComplete('SELECT 1'));
  tap.server(C, be.commandComplete('SELECT 1'));
  tap.server(Z, ready);
  assert.deepEqual(recs.map((r) => (r as StatementRecord).parameters), [['7', null, '<binary>'], ['<REDACTED>']]);
});

test('a statement classified on the worker thread is held, then offered again and decided', async () => {
  const small = new Classifier({ workerThreshold: 64 });
  try {
    const { tap, recs } = tapWith({ classifier: small, policy: '  ro: {read_only: true}\n' });
    const big = fe.query(`DELETE FROM t WHERE n IN (${Array.from({ length: 40 }, (_, i) => i).join(', ')})`);
    assert.equal(tap.query(big), Verdict.Hold);
    await tap.held;
    assert.equal(tap.query(big), Verdict.Replace);
    assert.deepEqual(recs.map(brief), [['policy', 1, 'DELETE', 'ro: read_only refuses DELETE']]);
  } finally {
    await small.close();
  }
});

test('on_sink_failure: block — a recorded session holds new statements until the writer accepts again', async () => {
  let accepting = false;
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  const { tap } = tapWith({ writer: { write: () => undefined, get accepting() { return accepting; }, whenAccepting: () => opened } });
  assert.equal(tap.query(fe.query('SELECT 1')), Verdict.Hold);
  accepting = true;
  open();
  await tap.held;
  assert.equal(tap.query(fe.query('SELECT 1')), Verdict.Forward);
});

test('a prebuilt entry (native/fastrec.h) records what the Query, CommandComplete and ReadyForQuery would have, in turn with them', async () => {
  const { onShape, templateOf } = await import('../../../src/audit/prebuilt.js');
  let id = 0;
  onShape((_key, n) => ((id = n), true));
  const { tap, recs } = tapWith();
  // The first text of a shape is classified (and its template announced); the next of that shape comes prebuilt.
  tap.query(fe.query('SELECT abalance FROM tap_fast WHERE aid = 1'), 10);
  tap.server(C, be.commandComplete('SELECT 1'), 10.5);
  tap.server(Z, ready);
  onShape(null);
  assert.ok(id > 0 && templateOf(id)?.st.command === 'SELECT', 'the shape was announced');
  const done = be.commandComplete('SELECT 1');
  const text = JSON.stringify('SELECT abalance FROM tap_fast WHERE aid = 2');
  const m = Buffer.alloc(21 + done.length + text.length);
  m[0] = 0x52;
  m.writeUInt32BE(m.length - 1, 1);
  m.writeUInt32LE(id, 5);
  m.writeUInt32LE(done.length, 17);
  done.copy(m, 21);
  m.write(text, 21 + done.length, 'latin1');
  assert.equal(tap.prebuilt(m, 20, 20.25), true);
  tap.query(fe.query('SHOW tap_fast'), 30);
  tap.server(C, be.commandComplete('SHOW'), 31);
  tap.server(Z, ready);
  assert.deepEqual(recs.map(brief), [[1, 1, 'SELECT', 1, undefined, undefined], [2, 1, 'SELECT', 1, undefined, undefined], [3, 1, 'SHOW', undefined, undefined, undefined]]);
  const r = recs[1] as StatementRecord;
  assert.deepEqual([r.statement, r.duration_ms, r.class, r.objects], ['SELECT abalance FROM tap_fast WHERE aid = 2', 0.25, 'READ', (recs[0] as StatementRecord).objects]);
});
