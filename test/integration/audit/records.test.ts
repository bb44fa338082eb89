/**
 * Statement records from the session taps (issue 6), through gatehouse into a real PostgreSQL and
 * the real record writer (a JSON file sink): ids per session, substatement ids for a
 * multi-statement query, rows from CommandComplete, SQLSTATE from ErrorResponse, a duration, the
 * statement name of extended-protocol statements, parameters only with `audit.log_parameter`, a
 * planted password redacted everywhere gatehouse writes. Transaction and session pooling alike.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { availableVersions } from '../../harness/pg.js';
import { createLogger } from '../../../src/log.js';
import { client, sessionStatementRecords, startDoor, type DoorSetup } from './door-support.js';
import { eventually } from '../admin/console-support.js';

const SECRET = 'planted-Secret-7f3a';

const AUDIT = `audit:
  log: [all]
  log_parameter: false
  on_sink_failure: drop_and_count
  sinks:
    - {type: file, path: audit.jsonl, format: json, fsync: never}
`;

type Rec = Record<string, unknown>;

for (const version of await availableVersions()) {
  describe(`statement records on PostgreSQL ${version}`, () => {
    let t: DoorSetup;
    const auditFile = (): string => join(t.gh.dir, 'audit.jsonl');
    const sessionRecords = (session: number, n: number): Promise<Rec[]> => sessionStatementRecords(auditFile(), session, n);
    /** The gateway's id of the newest session of `user`. */
    const sessionOf = (user: string): number => {
      const s = [...t.gh.gateway.live].filter((l) => l.user === user).map((l) => l.id);
      assert.equal(s.length, 1, `one live session of ${user}`);
      return s[0]!;
    };

    before(async () => {
      t = await startDoor(version, ['rec', 'rec_s'], AUDIT);
      await t.gh.gateway.openAudit(createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() })));
      await t.cluster.query('CREATE TABLE rec_t (n int); INSERT INTO rec_t VALUES (1), (2), (3)');
    });
    after(async () => {
      await t?.stop();
    });

    for (const [mode, user] of [['transaction', 'rec'], ['session', 'rec_s']] as const) {
      test(`${mode} pooling: simple protocol records, with ids, rows, SQLSTATE, duration and redaction`, async () => {
        const c = client(t.gh, user);
        await c.connect();
        const id = sessionOf(user);
        await c.query('SELECT n FROM rec_t WHERE n < 3');
        await c.query('INSERT INTO rec_t VALUES (10); UPDATE rec_t SET n = 11 WHERE n = 10; DELETE FROM rec_t WHERE n = 11');
        await c.query('SELECT * FROM rec_missing').catch(() => undefined);
        await c.query(`CREATE ROLE rec_role_${mode} PASSWORD '${SECRET}'`);
        await c.end();
        const recs = await sessionRecords(id, 6);
        const pick = (r: Rec): Rec => ({ statement_id: r.statement_id, substatement_id: r.substatement_id, class: r.class, command: r.command, rows: r.rows, sqlstate: r.sqlstate });
        assert.deepEqual(recs.map(pick), [
          { statement_id: 1, substatement_id: 1, class: 'READ', command: 'SELECT', rows: 2, sqlstate: undefined },
          { statement_id: 2, substatement_id: 1, class: 'WRITE', command: 'INSERT', rows: 1, sqlstate: undefined },
          { statement_id: 2, substatement_id: 2, class: 'WRITE', command: 'UPDATE', rows: 1, sqlstate: undefined },
          { statement_id: 2, substatement_id: 3, class: 'WRITE', command: 'DELETE', rows: 1, sqlstate: undefined },
          { statement_id: 3, substatement_id: 1, class: 'READ', command: 'SELECT', rows: undefined, sqlstate: '42P01' },
          { statement_id: 4, substatement_id: 1, class: 'ROLE', command: 'CREATE ROLE', rows: undefined, sqlstate: undefined },
        ]);
        for (const r of recs) {
          assert.equal(typeof r.duration_ms, 'number');
          assert.ok((r.duration_ms as number) >= 0);
          assert.equal(r.user, user);
          assert.equal(r.database, 'postgres');
          assert.equal(r.parameters, undefined);
        }
        assert.equal(recs[2]!.statement, 'UPDATE rec_t SET n = 11 WHERE n = 10');
        assert.equal(recs[5]!.statement, `CREATE ROLE rec_role_${mode} PASSWORD <REDACTED>`);
      });

      test(`${mode} pooling: extended protocol records carry the statement name; parameters only with log_parameter`, async () => {
        const c = client(t.gh, user);
        await c.connect();
        const id = sessionOf(user);
        await c.query('SELECT $1::int AS x', [7]);
        await c.query({ name: 'named_q', text: 'SELECT n FROM rec_t WHERE n > $1', values: [1] });
        await c.query({ name: 'named_q', text: 'SELECT n FROM rec_t WHERE n > $1', values: [2] });
        await c.end();
        const recs = await sessionRecords(id, 3);
        assert.deepEqual(recs.map((r) => [r.statement_id, r.statement_name, r.command, r.rows, r.parameters]), [
          [1, '', 'SELECT', 1, undefined],
          [2, 'named_q', 'SELECT', 2, undefined],
          [3, 'named_q', 'SELECT', 1, undefined],
        ]);
        assert.equal(recs[1]!.statement, 'SELECT n FROM rec_t WHERE n > $1');
      });
    }

    test('with audit.log_parameter, new sessions record Bind parameters as text', async () => {
      const config = (await readFile(t.gh.configPath, 'utf8')).replace('log_parameter: false', 'log_parameter: true');
      await writeFile(t.gh.configPath, config);
      assert.deepEqual(t.gh.gateway.reload(), { ok: true });
      for (const user of ['rec', 'rec_s']) {
        const c = client(t.gh, user);
        await c.connect();
        const id = sessionOf(user);
        await c.query('SELECT $1::int AS x, $2::text AS y, $3::text AS z', [7, 'seven', null]);
        await c.end();
        const [r] = await sessionRecords(id, 1);
        assert.deepEqual(r?.parameters, ['7', 'seven', null], user);
      }
    });

    test('the planted password is in no output of gatehouse (audit file, log)', async () => {
      const c = client(t.gh, 'rec');
      await c.connect();
      await c.query(`ALTER ROLE rec_role_transaction PASSWORD '${SECRET}'`);
      await c.end();
      // The writer is asynchronous (records wait up to a few ms for company): wait for the record.
      let audit = '';
      // A timeout falls through to the assertions below, which say what is missing.
      await eventually(async () => (audit = await readFile(auditFile(), 'utf8')).includes('ALTER ROLE rec_role_transaction')).catch(() => undefined);
      assert.ok(audit.includes('ALTER ROLE rec_role_transaction PASSWORD <REDACTED>'), 'the ALTER ROLE was recorded');
      assert.ok(!audit.includes(SECRET), 'no record carries the secret');
      assert.ok(!t.gh.logs.some((l) => l.includes(SECRET)), 'no log line carries it');
    });
  });
}
