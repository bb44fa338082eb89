/**
 * The native relay's audit mirror (issue 6, native/mirror.h, src/session/tap-mirror.ts): a
 * recorded session-mode session that no policy rule governs runs on the native relay, and its
 * records are the tap's own:
 * - extended-protocol statements (Parse/Bind/Execute/Sync in one read) with their statement name;
 * - a statement of 200 KB, split across the relay's reads and classified on the worker thread;
 * - statements pipelined in one write (postgres.js), in order;
 * - a session under a policy rule stays on the JavaScript relay (a refusal must come first).
 * records.test.ts and hold.test.ts cover the rest of the session-mode behaviour through the same path.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { availableVersions } from '../../harness/pg.js';
import { createLogger } from '../../../src/log.js';
import { nativeRelayStatus, nativeRelayTotals, prebuiltRecords } from '../../../src/session/native-relay.js';
import postgres from 'postgres';
import * as fe from '../../../src/protocol/frontend/encode.js';
import { PW, client, newestSession as newestSessionOf, psqlScript as psqlFile, sessionStatementRecords, startDoor, type DoorSetup } from './door-support.js';
import { nativeTlsInTests } from '../gateway/fixture.js';

const AUDIT = `audit:
  log: [all]
  log_parameter: true
  on_sink_failure: drop_and_count
  sinks:
    - {type: file, path: audit.jsonl, format: json, fsync: never}
policy:
  readers: {users: [pol_s], read_only: true}
`;

type Rec = Record<string, unknown>;

const [version] = await availableVersions();
const skip = nativeRelayStatus().available ? false : nativeRelayStatus().detail;

describe(`the native relay mirrors recorded sessions (PostgreSQL ${version})`, { skip }, () => {
  let t: DoorSetup;
  const sessionRecords = (session: number, n: number): Promise<Rec[]> => sessionStatementRecords(join(t.gh.dir, 'audit.jsonl'), session, n);
  const newestSession = (user: string): number => newestSessionOf(t.gh, user);
  /** psql runs `lines` as mir_s from a file; resolves once its session is on the native relay (with that session's id). */
  const psqlScript = async (name: string, lines: string[]): Promise<{ id: number; exited: Promise<number>; stderr: () => string }> => {
    const started = nativeRelayTotals.started;
    const run = await psqlFile(t.gh, 'mir_s', name, lines);
    while (nativeRelayTotals.started === started) await new Promise((r) => setTimeout(r, 1));
    return { id: newestSession('mir_s'), ...run };
  };

  before(async () => {
    t = await startDoor(version!, ['mir_s', 'pol_s'], AUDIT);
    await t.gh.gateway.openAudit(createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() })));
    await t.cluster.query('CREATE TABLE mir_t (n int, s text)');
  });
  after(async () => {
    await t?.stop();
  });

  test('extended protocol and a 200 KB statement: recorded natively, in order, with names, rows and durations', async () => {
    const started = nativeRelayTotals.started;
    const c = client(t.gh, 'mir_s');
    await c.connect();
    assert.equal(nativeRelayTotals.started, started + 1, 'the session went to the native relay');
    const id = newestSession('mir_s');
    await c.query({ name: 'ins', text: 'INSERT INTO mir_t VALUES ($1, $2)', values: [1, 'a'] });
    await c.query({ name: 'ins', text: 'INSERT INTO mir_t VALUES ($1, $2)', values: [2, 'b'] });
    const big = 'x'.repeat(200_000);
    const r = await c.query(`SELECT length('${big}') AS n`);
    assert.equal(r.rows[0].n, 200_000);
    await c.query('SELECT n FROM mir_t WHERE n > $1', [0]);
    await c.query('SELECT * FROM mir_nowhere').catch(() => undefined);
    await c.end();
    const recs = await sessionRecords(id, 5);
    const pick = (x: Rec): Rec => ({ id: x.statement_id, class: x.class, command: x.command, rows: x.rows, sqlstate: x.sqlstate, name: x.statement_name });
    assert.deepEqual(recs.map(pick), [
      { id: 1, class: 'WRITE', command: 'INSERT', rows: 1, sqlstate: undefined, name: 'ins' },
      { id: 2, class: 'WRITE', command: 'INSERT', rows: 1, sqlstate: undefined, name: 'ins' },
      { id: 3, class: 'READ', command: 'SELECT', rows: 1, sqlstate: undefined, name: undefined },
      { id: 4, class: 'READ', command: 'SELECT', rows: 2, sqlstate: undefined, name: '' },
      { id: 5, class: 'READ', command: 'SELECT', rows: undefined, sqlstate: '42P01', name: undefined },
    ]);
    assert.equal((recs[2]!.statement as string).length, `SELECT length('${big}') AS n`.length, 'the whole split statement');
    for (const x of recs) assert.ok(typeof x.duration_ms === 'number' && x.duration_ms >= 0 && x.duration_ms < 60_000, `duration ${String(x.duration_ms)}`);
  });

  test('a recorded TLS session: mirrored from the native TLS engine (tls_engine: auto), else tapped in JavaScript (GATEHOUSE_TEST_TLS_ENGINE=node)', async () => {
    const nativeTls = nativeTlsInTests();
    const started = nativeRelayTotals.started;
    const c = client(t.gh, 'mir_s', { ssl: { rejectUnauthorized: false } });
    await c.connect();
    assert.equal(nativeRelayTotals.started, started + (nativeTls ? 1 : 0));
    const id = newestSession('mir_s');
    await c.query({ name: 'tls_ins', text: 'INSERT INTO mir_t VALUES ($1, $2)', values: [7, 'tls'] });
    await c.query(`SELECT length('${'t'.repeat(100_000)}') AS n`);
    await c.end();
    const recs = await sessionRecords(id, 2);
    assert.deepEqual(recs.map((x) => [x.statement_id, x.command, x.rows, x.statement_name]), [[1, 'INSERT', 1, 'tls_ins'], [2, 'SELECT', 1, undefined]]);
  });

  test('statements pipelined in one write (postgres.js) are recorded in order, each with its own rows', async () => {
    const started = nativeRelayTotals.started;
    const sql = postgres({ host: '127.0.0.1', port: t.gh.port, user: 'mir_s', password: PW, database: 'postgres', ssl: false, max: 1, onnotice: () => undefined });
    try {
      await sql`SELECT 1`;
      assert.equal(nativeRelayTotals.started, started + 1);
      const id = newestSession('mir_s');
      // One connection, three statements issued at once: postgres.js pipelines them without waiting.
      await Promise.all([sql`INSERT INTO mir_t VALUES (${10}, 'p')`, sql`UPDATE mir_t SET s = 'q' WHERE n = ${10}`, sql`DELETE FROM mir_t WHERE n = ${10}`]);
      let writes: Rec[] = [];
      for (let i = 0; i < 100 && writes.length < 3; i++) {
        writes = (await sessionRecords(id, 4)).filter((x) => x.class === 'WRITE');
        if (writes.length < 3) await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(writes.map((x) => [x.command, x.rows]), [['INSERT', 1], ['UPDATE', 1], ['DELETE', 1]]);
      const ids = writes.map((x) => x.statement_id as number);
      assert.deepEqual(ids, [ids[0], ids[0]! + 1, ids[0]! + 2], 'consecutive statement ids');
    } finally {
      await sql.end();
    }
  });

  test('JavaScript 4 MiB behind: the relay stops reading the client, then catches up; every statement recorded', async () => {
    // 600 statements of 12 KB (7 MB; each under the worker threshold, so only the mirror's limit holds the client).
    const { id, exited, stderr } = await psqlScript('many.sql', Array.from({ length: 600 }, (_, i) => `SELECT ${i} AS n, '${'y'.repeat(12_000)}' AS pad;`));
    // Block this thread (the one that consumes the mirror) while psql keeps sending.
    const until = Date.now() + 1500;
    while (Date.now() < until) { /* busy: the relay must stop at its limit, not buffer without bound */ }
    assert.equal(await exited, 0, stderr());
    const recs = await sessionRecords(id, 600);
    assert.equal(recs.length, 600);
    assert.deepEqual(recs.map((x) => x.statement_id), Array.from({ length: 600 }, (_, i) => i + 1));
    assert.ok(recs.every((x) => x.rows === 1 && x.command === 'SELECT'));
  });

  test('JavaScript busy for 300 ms: its backlog comes one hand-over per event-loop turn, never in one turn', async () => {
    // Node's threadsafe function runs its queued calls back to back (up to 1,000 in one turn): a
    // relay that handed over every millisecond regardless made the turn after a busy spell run
    // hundreds of hand-overs, and under load kept the event loop there for seconds (the audit
    // file's writes, timers and logins waited). One hand-over is in flight at a time.
    const n = 4000;
    const { id, exited, stderr } = await psqlScript('small.sql', Array.from({ length: n }, (_, i) => `SELECT ${i};`));
    let running = true;
    void exited.then(() => (running = false));
    const before = nativeRelayTotals.handovers;
    const until = Date.now() + 300;
    while (Date.now() < until) { /* busy: psql goes on through the relay, which may hand over once */ }
    // Then count hand-overs per turn (setImmediate runs once per turn) until psql is done.
    let most = 0;
    await new Promise<void>((resolve) => {
      let last = nativeRelayTotals.handovers;
      const turn = (): void => {
        most = Math.max(most, nativeRelayTotals.handovers - last);
        last = nativeRelayTotals.handovers;
        if (running) setImmediate(turn);
        else resolve();
      };
      setImmediate(turn);
    });
    assert.equal(await exited, 0, stderr());
    const recs = await sessionRecords(id, n);
    assert.equal(recs.length, n, 'every statement recorded');
    assert.ok(nativeRelayTotals.handovers - before >= 3, `hand-overs: ${nativeRelayTotals.handovers - before}`);
    // At most one in flight, plus the flush a relay's end forces.
    assert.ok(most <= 2, `${most} hand-overs ran in one event-loop turn`);
  });

  for (const [user, relay] of [['mir_s', 'the mirror'], ['pol_s', 'the JavaScript tapped relay']] as const) test(`a malformed Bind queued behind a statement on the worker thread ends that session, not gatehouse (${relay})`, async () => {
    const c = client(t.gh, user);
    await c.connect();
    const socket = (c as unknown as { connection: { stream: Socket } }).connection.stream;
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    // A Bind that says five parameter formats follow, and ends: the tap cannot read its parameters.
    const body = Buffer.concat([Buffer.from('\0s1\0'), Buffer.from([0, 5])]);
    const bind = Buffer.concat([Buffer.from([0x42]), Buffer.alloc(4), body]);
    bind.writeUInt32BE(4 + body.length, 1);
    socket.write(Buffer.concat([fe.query(`SELECT '${'z'.repeat(20_000)}'`), fe.parse('s1', 'SELECT $1::int'), bind, fe.sync]));
    await closed;
    const ok = client(t.gh, 'mir_s');
    await ok.connect();
    assert.deepEqual((await ok.query('SELECT 41 + 1 AS n')).rows, [{ n: 42 }]);
    await ok.end();
  });

  test('a session ends after its last statements are recorded (its disconnection record comes after them)', async () => {
    const c = client(t.gh, 'mir_s');
    await c.connect();
    const id = newestSession('mir_s');
    const log = t.gh.gateway.audit;
    const write = log.write.bind(log);
    let recorded = 0;
    log.write = (r) => {
      if (r.kind === 'statement' && r.session === id) recorded++;
      write(r);
    };
    try {
      const atEnd = new Promise<number>((resolve) => {
        const on = (e: { session: number }): void => {
          if (e.session !== id) return;
          t.gh.gateway.events.off('session.end', on);
          resolve(recorded);
        };
        t.gh.gateway.events.on('session.end', on);
      });
      // Classified on the worker thread (170 KB, 30,000 list items: some 200 ms there) while the server has
      // already answered and gone: the relay ends with the statement's entries still queued.
      const list = Array.from({ length: 30_000 }, (_, i) => i + 1).join(',');
      await c.query(`SELECT pg_terminate_backend(pg_backend_pid()) WHERE 1 IN (${list})`).catch(() => undefined);
      assert.equal(await atEnd, 1, 'the statement was recorded before session.end');
    } finally {
      log.write = write;
    }
  });

  test('prebuilt records (native/fastrec.h) are the records the JavaScript tap writes for the same statements', async () => {
    // Each statement's shape is taught first (the classifier caches it, the relay gets its
    // template); the same shapes with other literals are then prebuilt on the relay for mir_s
    // (native) and tapped in JavaScript for pol_s (a policy keeps it there): same records.
    const shapes = (v: number): string[] => [
      `SELECT ${v} AS fa`,
      `SELECT ${v}::int AS fb;`,
      `  SELECT '${v} it''s \\ "q"' AS fc ;  `,
      `SELECT E'${v}\\tx' AS fd; -- trailing comment`,
      `/* leading */ SELECT\t${v}\n  AS fe`,
      `SELECT generate_series(1, ${v}) AS ff`,
      `SET statement_timeout = ${v * 1000}`,
      `SHOW statement_timeout`,
      `SELECT '${v}\u0001' AS fg`,
      `SELECT 'é${v}' AS fh`,
      `SELECT 'password ${v}' AS fi`,
      `SELECT ${v} / 0 AS fj`,
      `SELECT ${v} AS fk; SELECT ${v} AS fl`,
    ];
    // Statements the relay prebuilds: the first eight (one result each, plain ASCII, no secret hint).
    const fast = 8;
    const run = async (user: string, v: number): Promise<Rec[]> => {
      const c = client(t.gh, user);
      await c.connect();
      const id = newestSession(user);
      for (const q of shapes(v)) await c.query(q).catch(() => undefined);
      await c.end();
      return sessionRecords(id, shapes(v).length + 1);
    };
    await run('mir_s', 3);
    const before = prebuiltRecords();
    const lines = nativeRelayTotals.lines;
    const native = await run('mir_s', 5);
    assert.equal(prebuiltRecords() - before, fast, 'prebuilt on the relay');
    assert.equal(nativeRelayTotals.lines - lines, fast, 'their lines written by native/auditline.h');
    const tapped = await run('pol_s', 5);
    const same = (x: Rec): Rec => {
      const { seq: _s, prev: _p, time: _t, session: _n, user: _u, client: _c, duration_ms: d, ...rest } = x;
      assert.ok(typeof d === 'number' && d >= 0 && d < 60_000, `duration ${String(d)}`);
      return rest;
    };
    assert.equal(native.length, shapes(5).length + 1);
    assert.deepEqual(native.map(same), tapped.map(same));
    assert.deepEqual(native.slice(0, 3).map((x) => [x.statement, x.rows]), [['SELECT 5 AS fa', 1], ['SELECT 5::int AS fb', 1], [`SELECT '5 it''s \\ "q"' AS fc`, 1]]);
    assert.deepEqual(native.slice(4, 6).map((x) => [x.statement, x.rows]), [['/* leading */ SELECT\t5\n  AS fe', 1], ['SELECT generate_series(1, 5) AS ff', 5]]);
  });

  test('a session under a policy rule stays on the JavaScript relay', async () => {
    const started = nativeRelayTotals.started;
    const c = client(t.gh, 'pol_s');
    await c.connect();
    assert.equal(nativeRelayTotals.started, started, 'not on the native relay');
    const e = await c.query('DELETE FROM mir_t').then(() => null, (err: { code?: string }) => err.code);
    assert.equal(e, '42501');
    await c.end();
  });

  test('a raw client that breaks the framing ends its session without a crash, and the next one is recorded', async () => {
    // A Query whose length field is 2 (under 4): PostgreSQL would close on it; the mirror cannot follow it.
    const c = client(t.gh, 'mir_s');
    await c.connect();
    const socket = (c as unknown as { connection: { stream: Socket } }).connection.stream;
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.write(Buffer.from([0x51, 0, 0, 0, 2]));
    await closed;
    const ok = client(t.gh, 'mir_s');
    await ok.connect();
    const id = newestSession('mir_s');
    await ok.query('SELECT 42');
    await ok.end();
    const recs = await sessionRecords(id, 1);
    assert.equal(recs[0]?.command, 'SELECT');
  });
});
