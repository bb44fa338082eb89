/**
 * Recorded transaction-mode clients on the native plane (issue 6, native/txplane.h with
 * native/mirror.h, src/pool/native-plane.ts): a client whose statements are recorded and that no
 * policy rule governs is lent to the plane like any other, which mirrors what it carries to the
 * client's statement tap. Its records are the tap's own, in order across hand-backs to JavaScript;
 * a slow tap holds the client on the plane instead of losing records; a client under a policy rule
 * stays in JavaScript. mirror.test.ts covers the same mirror for session-mode relays.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { availableVersions } from '../../harness/pg.js';
import { createLogger } from '../../../src/log.js';
import { nativeRelayStatus } from '../../../src/session/native-relay.js';
import { TxReason, nativePlaneTotals } from '../../../src/pool/native-plane.js';
import * as fe from '../../../src/protocol/frontend/encode.js';
import { auditRecords, client, newestSession as newestSessionOf, psqlScript, sessionStatementRecords, startDoor, type DoorSetup } from './door-support.js';
import type { Socket } from 'node:net';

const AUDIT = `audit:
  log: [all]
  on_sink_failure: drop_and_count
  sinks:
    - {type: file, path: audit.jsonl, format: json, fsync: never}
policy:
  readers: {users: [pol_t], read_only: true}
transaction_engine: native
`;

type Rec = Record<string, unknown>;

const [version] = await availableVersions();
const skip = nativeRelayStatus().available ? false : nativeRelayStatus().detail;

describe(`recorded transaction-mode clients on the native plane (PostgreSQL ${version})`, { skip }, () => {
  let t: DoorSetup;
  const file = (): string => join(t.gh.dir, 'audit.jsonl');
  const records = (session: number, n: number): Promise<Rec[]> => sessionStatementRecords(file(), session, n);
  const newestSession = (user: string): number => newestSessionOf(t.gh, user);
  const planeXacts = (): number => {
    let n = 0;
    for (const p of t.gh.gateway.pools.pools.values()) if (p.plane) n += p.plane.info(p).counters[0]!;
    return n;
  };

  before(async () => {
    t = await startDoor(version!, ['mir_t', 'pol_t'], AUDIT);
    await t.gh.gateway.openAudit(createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() })));
    await t.cluster.query('CREATE TABLE pm_t (n int, s text)');
  });
  after(async () => {
    await t?.stop();
  });

  test('simple and extended statements run on the plane and are recorded in order, with names, rows and SQLSTATEs', async () => {
    const lent = nativePlaneTotals.clients;
    const messages = nativePlaneTotals.byReason[TxReason.Message]!;
    const xacts = planeXacts();
    const c = client(t.gh, 'mir_t');
    await c.connect();
    const id = newestSession('mir_t');
    await c.query('SELECT 1');
    await c.query('BEGIN');
    await c.query("INSERT INTO pm_t VALUES (1, 'a')");
    await c.query("UPDATE pm_t SET s = 'b' WHERE n = 1");
    await c.query('COMMIT');
    // pg prepares "sel" once (its Parse goes back to JavaScript), then sends only Bind/Describe/Execute/Sync.
    // On the plane: SELECT 1, BEGIN … COMMIT, two of the three "sel" and the failing SELECT.
    for (let i = 0; i < 3; i++) assert.equal((await c.query({ name: 'sel', text: 'SELECT n FROM pm_t WHERE n > $1', values: [0] })).rowCount, 1);
    await c.query('SELECT * FROM pm_nowhere').catch(() => undefined);
    await c.end();
    assert.ok(nativePlaneTotals.clients > lent, 'the recorded client was lent to the plane');
    assert.ok(nativePlaneTotals.byReason[TxReason.Message]! - messages <= 2, 'only the Parse went back');
    assert.ok(planeXacts() - xacts >= 5, `the plane carried ${planeXacts() - xacts} transactions`);
    const recs = await records(id, 9);
    const pick = (x: Rec): unknown[] => [x.statement_id, x.class, x.command, x.rows, x.sqlstate, x.statement_name];
    assert.deepEqual(recs.map(pick), [
      [1, 'READ', 'SELECT', 1, undefined, undefined],
      [2, 'MISC', 'BEGIN', undefined, undefined, undefined],
      [3, 'WRITE', 'INSERT', 1, undefined, undefined],
      [4, 'WRITE', 'UPDATE', 1, undefined, undefined],
      [5, 'MISC', 'COMMIT', undefined, undefined, undefined],
      [6, 'READ', 'SELECT', 1, undefined, 'sel'],
      [7, 'READ', 'SELECT', 1, undefined, 'sel'],
      [8, 'READ', 'SELECT', 1, undefined, 'sel'],
      [9, 'READ', 'SELECT', undefined, '42P01', undefined],
    ]);
    for (const x of recs) assert.ok(typeof x.duration_ms === 'number' && x.duration_ms >= 0 && x.duration_ms < 60_000, `duration ${String(x.duration_ms)}`);
    // The session's end comes after its statements.
    let all = await auditRecords(file());
    for (let i = 0; i < 100 && !all.some((r) => r.kind === 'disconnection' && r.session === id); i++) {
      await new Promise((r) => setTimeout(r, 50));
      all = await auditRecords(file());
    }
    const end = all.findIndex((r) => r.kind === 'disconnection' && r.session === id);
    assert.ok(end >= 0, 'a disconnection record');
    const last = all.findLastIndex((r) => r.kind === 'statement' && r.session === id);
    assert.ok(end > last, 'the disconnection record follows the last statement record');
  });

  test('a statement still on the worker thread when the plane hands the client back is recorded before what follows', async () => {
    const c = client(t.gh, 'mir_t');
    await c.connect();
    await c.query('SELECT 1');
    const id = newestSession('mir_t');
    const socket = (c as unknown as { connection: { stream: Socket } }).connection.stream;
    socket.removeAllListeners('data');
    let got = Buffer.alloc(0);
    const readies = (): number => got.toString('latin1').split('Z\0\0\0\x05').length - 1;
    socket.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
    // A 49 KB SELECT (classified on the worker thread) that the plane carries and that keeps its server 300 ms;
    // meanwhile a SET, which the plane hands back with the server once the SELECT is answered.
    const list = Array.from({ length: 10_000 }, (_, i) => i + 1).join(',');
    const deferred = (): number => nativePlaneTotals.waitedForRecords;
    const before = deferred();
    const busy = (ms: number): void => {
      const until = Date.now() + ms;
      while (Date.now() < until) { /* this thread (the one that records) busy: the plane's entries and hand-back wait */ }
    };
    socket.write(fe.query(`SELECT pg_sleep(0.3), count(*) FROM pm_t WHERE n IN (${list})`));
    busy(100);
    socket.write(Buffer.concat([fe.query("SET application_name = 'pm'"), fe.query('SELECT 2')]));
    busy(600);
    for (let i = 0; i < 200 && readies() < 3; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(readies(), 3, 'three answers');
    socket.end(fe.terminate);
    const recs = await records(id, 4);
    assert.deepEqual(recs.map((x) => [x.statement_id, x.command]), [[1, 'SELECT'], [2, 'SELECT'], [3, 'SET'], [4, 'SELECT']]);
    assert.equal(deferred() - before, 1, 'the hand-back waited for the SELECT to be recorded');
  });

  test('JavaScript 4 MiB behind: the plane stops reading the client, then catches up; every statement recorded', async () => {
    const lent = nativePlaneTotals.clients;
    const { exited, stderr } = await psqlScript(t.gh, 'mir_t', 'many.sql', Array.from({ length: 600 }, (_, i) => `SELECT ${i} AS n, '${'y'.repeat(12_000)}' AS pad;`));
    while (nativePlaneTotals.clients === lent) await new Promise((r) => setTimeout(r, 1));
    const id = newestSession('mir_t');
    // Block this thread (the one that records) while psql keeps sending through the plane.
    const until = Date.now() + 1500;
    while (Date.now() < until) { /* busy: the plane must stop at the mirror's limit, not buffer without bound */ }
    assert.equal(await exited, 0, stderr());
    const recs = await records(id, 600);
    assert.equal(recs.length, 600);
    assert.deepEqual(recs.map((x) => x.statement_id), Array.from({ length: 600 }, (_, i) => i + 1));
    assert.ok(recs.every((x) => x.rows === 1 && x.command === 'SELECT'));
  });

  test('a client under a policy rule is never lent: its refusal comes before the server sees the statement', async () => {
    const lent = nativePlaneTotals.clients;
    const c = client(t.gh, 'pol_t');
    await c.connect();
    await c.query('SELECT 1');
    const e = await c.query('DELETE FROM pm_t').then(() => null, (err: { code?: string }) => err.code);
    assert.equal(e, '42501');
    await c.query('SELECT 2');
    await c.end();
    assert.equal(nativePlaneTotals.clients, lent, 'not lent');
    assert.equal(Number((await t.cluster.query<{ n: string }>('SELECT count(*) AS n FROM pm_t'))[0]!.n), 1, 'nothing deleted');
  });
});
