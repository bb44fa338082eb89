/**
 * The classifier against tables: pgAudit's (class, command) per statement as PostgreSQL 15 with
 * pgAudit 1.7 printed them (test/integration/audit/pgaudit-oracle.test.ts checks the same corpus
 * against the live server), plus functions, COPY PROGRAM, prepared names, transaction control, hidden
 * writes, statement splitting, the shape cache and redaction.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Classifier, classNameOf, loadClassifier } from '../../../src/audit/classify.js';
import type { ClassifiedStatement } from '../../../src/audit/types.js';
import { CORPUS, expectedOf } from './corpus.js';

let c: Classifier;
before(async () => {
  await loadClassifier();
  c = new Classifier();
});
after(async () => { await c.close(); });

const only = (sql: string): ClassifiedStatement => {
  const r = c.classifySync(sql);
  assert.equal(r.statements.length, 1, `${sql}: ${JSON.stringify(r.statements)}`);
  return r.statements[0] as ClassifiedStatement;
};

describe('class and command: the oracle corpus (pgAudit 1.7 on PostgreSQL 15)', () => {
  test('every corpus entry gives pgAudit\'s first line per statement', () => {
    let n = 0;
    for (const entry of CORPUS) {
      const expected = expectedOf(entry);
      if (expected === null) continue;
      const got = c.classifySync(entry.sql).statements.map((s) => `${s.class === 'MISC_SET' ? 'MISC' : s.class},${s.command}`);
      assert.deepEqual(got, expected, `${entry.id}: ${entry.sql}`);
      n++;
    }
    assert.ok(n >= 200, `only ${n} corpus entries with expectations`);
  });
});

describe('traps', () => {
  test('a data-modifying CTE under SELECT is READ,SELECT as pgAudit prints it, and writes', () => {
    const s = only('WITH d AS (DELETE FROM t WHERE id < 3 RETURNING *) SELECT count(*) FROM d');
    assert.deepEqual([s.class, s.command, s.modifiesData], ['READ', 'SELECT', true]);
    assert.deepEqual(s.objects, [{ type: 'TABLE', name: 't' }]);
    assert.deepEqual(s.functions, ['count']);
    assert.equal(only('WITH d AS (SELECT 1) SELECT * FROM d').modifiesData, undefined);
  });

  test('modifiesData where the class hides it: MERGE (MISC,???), SELECT INTO, CREATE TABLE AS, PREPARE of a write', () => {
    const table: [string, string, string, boolean | undefined][] = [
      ['MERGE INTO m USING s ON m.id = s.id WHEN MATCHED THEN DELETE', 'MISC', '???', true],
      ['SELECT * INTO t2 FROM t', 'DDL', 'SELECT INTO', true],
      ['CREATE TABLE t3 AS SELECT 1', 'DDL', 'CREATE TABLE AS', true],
      ['PREPARE p AS WITH d AS (DELETE FROM t RETURNING 1) SELECT * FROM d', 'READ', 'PREPARE', true],
      ['PREPARE p AS DELETE FROM t', 'WRITE', 'PREPARE', true],
      ['PREPARE p AS SELECT 1', 'READ', 'PREPARE', undefined],
      ['EXECUTE p', 'MISC', 'EXECUTE', undefined],
      ['CREATE VIEW v AS SELECT 1', 'DDL', 'CREATE VIEW', undefined],
    ];
    for (const [sql, cls, command, modifies] of table) assert.deepEqual(pick(only(sql)), [cls, command, modifies], sql);
  });

  test('EXPLAIN ANALYZE runs its statement: class of the statement, command EXPLAIN; plain EXPLAIN does not write', () => {
    assert.deepEqual(pick(only('EXPLAIN ANALYZE DELETE FROM t')), ['WRITE', 'EXPLAIN', true]);
    assert.deepEqual(pick(only('EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 1')), ['WRITE', 'EXPLAIN', true]);
    assert.deepEqual(pick(only('EXPLAIN (ANALYZE false) DELETE FROM t')), ['MISC', 'EXPLAIN', undefined]);
    assert.deepEqual(pick(only('EXPLAIN DELETE FROM t')), ['MISC', 'EXPLAIN', undefined]);
    assert.deepEqual(pick(only('EXPLAIN ANALYZE WITH d AS (DELETE FROM t RETURNING 1) SELECT * FROM d')), ['MISC', 'EXPLAIN', true]);
  });

  test('multi-statement text: one statement each, with its own text', () => {
    const r = c.classifySync("SELECT 1; INSERT INTO t VALUES ('a;b');  \n DROP TABLE t ;");
    assert.deepEqual(r.statements.map((s) => [s.class, s.command, s.text]), [
      ['READ', 'SELECT', 'SELECT 1'], ['WRITE', 'INSERT', "INSERT INTO t VALUES ('a;b')"], ['DDL', 'DROP TABLE', 'DROP TABLE t'],
    ]);
    assert.equal(r.unparsed, false);
  });

  test('non-ASCII text is cut at the right characters (libpg-query counts bytes)', () => {
    const r = c.classifySync("SELECT 'été ☃'; SELECT 'ü' AS x");
    assert.deepEqual(r.statements.map((s) => s.text), ["SELECT 'été ☃'", "SELECT 'ü' AS x"]);
  });

  test('functions: every call anywhere, lower case, schema-qualified when written so', () => {
    assert.deepEqual(only("SELECT PG_CATALOG.PG_READ_FILE('/etc/passwd'), upper(x) FROM t WHERE y IN (SELECT lo_export(1, '/tmp/x'))").functions,
      ['pg_catalog.pg_read_file', 'upper', 'lo_export']);
    assert.deepEqual(only('SELECT * FROM pg_ls_dir(\'.\') AS f').functions, ['pg_ls_dir']);
    assert.deepEqual(only('CALL s.proc(1, now())').functions, ['s.proc', 'now']);
    assert.deepEqual(only('INSERT INTO t SELECT generate_series(1, 3)').functions, ['generate_series']);
  });

  test('DO, CALL, COPY, PREPARE/EXECUTE, transaction control', () => {
    assert.deepEqual(pick(only('DO $$BEGIN PERFORM 1; END$$')), ['FUNCTION', 'DO', undefined]);
    assert.deepEqual(pick(only('CALL p()')), ['MISC', 'CALL', undefined]);
    const prog = only("COPY t TO PROGRAM 'gzip > /tmp/t.gz'");
    assert.deepEqual([prog.class, prog.command, prog.copyProgram], ['READ', 'COPY', true]);
    const from = only("COPY t FROM PROGRAM 'curl http://x'");
    assert.deepEqual([from.class, from.copyProgram, from.modifiesData], ['WRITE', true, true]);
    assert.equal(only('COPY t TO STDOUT').copyProgram, undefined);
    assert.deepEqual([only('PREPARE q (int) AS SELECT $1').preparedName, only('EXECUTE q(1)').preparedName, only('DEALLOCATE q').preparedName],
      ['q', 'q', 'q']);
    assert.equal(only('DEALLOCATE ALL').preparedName, undefined);
    const tx = ['BEGIN', 'START TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'COMMIT', 'END', 'ROLLBACK', 'ABORT', 'SAVEPOINT a',
      'RELEASE SAVEPOINT a', 'ROLLBACK TO SAVEPOINT a', "PREPARE TRANSACTION 'x'", "COMMIT PREPARED 'x'", "ROLLBACK PREPARED 'x'"];
    assert.deepEqual(tx.map((t) => only(t).transaction), ['begin', 'begin', 'commit', 'commit', 'rollback', 'rollback', 'savepoint',
      'release', 'rollback_to', 'prepare', 'commit_prepared', 'rollback_prepared']);
  });

  test('objects: relations named (schema-qualified as written), CTE names left out, DDL targets', () => {
    assert.deepEqual(only('SELECT * FROM a JOIN s.b ON true').objects, [{ type: 'TABLE', name: 'a' }, { type: 'TABLE', name: 's.b' }]);
    assert.deepEqual(only('CREATE VIEW v AS SELECT * FROM a').objects, [{ type: 'VIEW', name: 'v' }, { type: 'TABLE', name: 'a' }]);
    assert.deepEqual(only('DROP TABLE a, s.b').objects, [{ type: 'TABLE', name: 'a' }, { type: 'TABLE', name: 's.b' }]);
    assert.deepEqual(only('ALTER ROLE bob NOLOGIN').objects, [{ type: 'ROLE', name: 'bob' }]);
    assert.deepEqual(only('CREATE INDEX i ON t (a)').objects, [{ type: 'INDEX', name: 'i' }, { type: 'TABLE', name: 't' }]);
  });

  test('classNameOf spells pgaudit.log names', () => {
    assert.deepEqual((['READ', 'WRITE', 'FUNCTION', 'ROLE', 'DDL', 'MISC', 'MISC_SET'] as const).map(classNameOf),
      ['read', 'write', 'function', 'role', 'ddl', 'misc', 'misc_set']);
  });
});

function pick(s: ClassifiedStatement): [string, string, boolean | undefined] {
  return [s.class, s.command, s.modifiesData];
}

describe('unparsed text', () => {
  test('one statement classed by its first keyword, never throws, never empty', () => {
    const table: [string, string, string][] = [
      ['SELEC 1', 'MISC', 'SELEC'], ['SELECT FROM WHERE', 'READ', 'SELECT'], ['INSERT INTO', 'WRITE', 'INSERT'],
      ['CREATE ROLE x WITH BOGUS', 'ROLE', 'CREATE ROLE'], ['CREATE TABLE (', 'DDL', 'CREATE TABLE'], ['GRANT', 'ROLE', 'GRANT'],
      ['DO', 'FUNCTION', 'DO'], ['SET', 'MISC_SET', 'SET'], ["'unterminated", 'MISC', '???'], ['(((', 'MISC', '???'],
    ];
    for (const [sql, cls, command] of table) {
      const r = c.classifySync(sql);
      assert.equal(r.unparsed, true, sql);
      assert.deepEqual(r.statements.map((s) => [s.class, s.command]), [[cls, command]], sql);
    }
    assert.equal(c.classifySync('UPDATE t SET WHERE').statements[0]?.modifiesData, true);
  });

  test('empty or comment-only text has no statement', () => {
    for (const sql of ['', '   ', '-- nothing', '/* a */ /* b */']) assert.deepEqual(c.classifySync(sql), { statements: [], unparsed: false, redacted: sql });
  });
});

describe('cache', () => {
  test('a repeated text returns the cached classification', () => {
    const k = new Classifier();
    const a = k.classifySync('SELECT a FROM cached_t WHERE id = 1');
    assert.equal(k.classifySync('SELECT a FROM cached_t WHERE id = 1'), a);
    assert.ok(Object.isFrozen(a) && Object.isFrozen(a.statements[0]));
  });

  test('the same shape with other literals shares class/command/objects but keeps its own text', () => {
    const k = new Classifier();
    const first = k.classifySync('SELECT abalance FROM pgbench_accounts WHERE aid = 12345;');
    const second = k.classifySync('SELECT abalance FROM pgbench_accounts WHERE aid = 678;');
    assert.equal(second.statements[0]?.objects, first.statements[0]?.objects, 'shape hit shares the cached objects');
    assert.deepEqual(second.statements.map((s) => [s.class, s.command, s.text]), [['READ', 'SELECT', 'SELECT abalance FROM pgbench_accounts WHERE aid = 678']]);
    assert.equal(second.redacted, 'SELECT abalance FROM pgbench_accounts WHERE aid = 678;');
    // The parse path gives the same statement for that text.
    assert.deepEqual(second, new Classifier().classifySync('SELECT abalance FROM pgbench_accounts WHERE aid = 678;'));
    const e1 = k.classifySync("SELECT E'it\\'s', $q$a'b$q$, 1.5e3, x FROM t");
    const e2 = k.classifySync("SELECT E'no', $q$zz$q$, 7, x FROM t");
    assert.deepEqual(e2.statements[0]?.text, "SELECT E'no', $q$zz$q$, 7, x FROM t");
    assert.equal(e2.statements[0]?.objects, e1.statements[0]?.objects);
  });

  test('ordinary words such as key or PRIMARY KEY do not push a text off the shape path', () => {
    const k = new Classifier();
    const a = k.classifySync('SELECT key, value FROM kv WHERE id = 1');
    assert.equal(k.classifySync('SELECT key, value FROM kv WHERE id = 2').statements[0]?.objects, a.statements[0]?.objects);
  });

  test('a literal in an identifier position is not a literal: "1" and 1 do not share a shape', () => {
    const k = new Classifier();
    k.classifySync('SELECT 1 FROM t');
    assert.deepEqual(k.classifySync('SELECT "1" FROM "t2"').statements[0]?.objects, [{ type: 'TABLE', name: 't2' }]);
  });

  test('EXPLAIN never shares by shape: its options decide whether it runs the statement', () => {
    const k = new Classifier();
    assert.equal(k.classifySync("EXPLAIN (ANALYZE 'false') DELETE FROM t").statements[0]?.class, 'MISC');
    assert.equal(k.classifySync("EXPLAIN (ANALYZE 'true') DELETE FROM t").statements[0]?.class, 'WRITE');
  });

  test('the LRU is bounded in characters too: a text over the budget is not kept', () => {
    const k = new Classifier({ cacheChars: 40 });
    const long = 'SELECT 1 AS a_rather_long_column_alias_name';
    assert.notEqual(k.classifySync(long), k.classifySync(long));
    const short = 'SELECT 1 AS a';
    assert.equal(k.classifySync(short), k.classifySync(short));
  });

  test('an entry hit between insertions is never evicted (a hit refreshes it once it has aged by half the capacity)', () => {
    const k = new Classifier({ cacheSize: 4 });
    const hot = k.classifySync('SELECT 1 AS hot');
    for (let i = 0; i < 20; i++) {
      k.classifySync(`SELECT 1 AS cold_${i}`);
      assert.equal(k.classifySync('SELECT 1 AS hot'), hot, `after ${i + 1} other texts`);
    }
  });

  test('the LRU is bounded', () => {
    const k = new Classifier({ cacheSize: 2 });
    const a = k.classifySync('SELECT 1 AS a');
    k.classifySync('SELECT 1 AS b');
    k.classifySync('SELECT 1 AS c');
    assert.notEqual(k.classifySync('SELECT 1 AS a'), a);
  });
});

describe('worker thread', () => {
  test('text over the threshold is classified off the event loop, with the same answer', async () => {
    const k = new Classifier({ workerThreshold: 1024 });
    const big = `INSERT INTO t VALUES ${Array.from({ length: 200 }, (_, i) => `(${i}, 'row ${i}')`).join(', ')}; ALTER ROLE x PASSWORD 'w0rker-secret'`;
    const pending = k.classify(big);
    assert.ok(pending instanceof Promise);
    const r = await pending;
    assert.deepEqual(r.statements.map((s) => [s.class, s.command]), [['WRITE', 'INSERT'], ['ROLE', 'ALTER ROLE']]);
    assert.ok(!JSON.stringify(r).includes('w0rker-secret'));
    assert.deepEqual(r, new Classifier().classifySync(big));
    assert.equal(k.classify(big), r, 'the worker\'s answer is cached');
    await k.close();
  });

  test('small text stays on this thread', () => {
    assert.ok(!(c.classify('SELECT 1') instanceof Promise));
  });
});

describe('redaction (invariant 4): planted secrets never reach `redacted` or any statement text', () => {
  const SECRET = 'Pl4nted-s3cret';
  const table: [string, string][] = [
    [`ALTER ROLE x PASSWORD '${SECRET}'`, 'ALTER ROLE x PASSWORD <REDACTED>'],
    [`alter user x with encrypted password '${SECRET}' valid until '2030-01-01'`, "alter user x with encrypted password <REDACTED> valid until '2030-01-01'"],
    [`CREATE ROLE x LOGIN PASSWORD E'${SECRET}\\'q'`, 'CREATE ROLE x LOGIN PASSWORD <REDACTED>'],
    [`CREATE ROLE x PASSWORD $pw$${SECRET}$pw$`, 'CREATE ROLE x PASSWORD <REDACTED>'],
    [`CREATE ROLE x PASSWORD U&'${SECRET}'`, 'CREATE ROLE x PASSWORD <REDACTED>'],
    [`CREATE ROLE x PASSWORD '${SECRET}'\n'continued'`, 'CREATE ROLE x PASSWORD <REDACTED>'], // one literal to PostgreSQL
    [`CREATE ROLE x PASSWORD '${SECRET}' WITH BADSYNTAX`, 'CREATE ROLE x PASSWORD <REDACTED> WITH BADSYNTAX'],
    [`CREATE ROLE x PASSWORD '${SECRET}`, 'CREATE ROLE x PASSWORD <REDACTED>'],
    [`CREATE ROLE x /* unterminated PASSWORD '${SECRET}'`, 'CREATE ROLE x <REDACTED>'],
    [`SELECT 1 /* password: ${SECRET} */`, 'SELECT 1 <REDACTED>'],
    [`SELECT 1 -- secret ${SECRET}`, 'SELECT 1 <REDACTED>'],
    [`SELECT "${SECRET}`, 'SELECT <REDACTED>'],
    [`CREATE USER MAPPING FOR bob SERVER s OPTIONS (user 'bob', password '${SECRET}')`, "CREATE USER MAPPING FOR bob SERVER s OPTIONS (user 'bob', password <REDACTED>)"],
    [`ALTER USER MAPPING FOR bob SERVER s OPTIONS (SET "password" '${SECRET}')`, 'ALTER USER MAPPING FOR bob SERVER s OPTIONS (SET "password" <REDACTED>)'],
    [`CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (sslpassword '${SECRET}')`, 'CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (sslpassword <REDACTED>)'],
    [`SELECT dblink_connect('c', 'host=h dbname=d password=${SECRET}')`, "SELECT dblink_connect('c', <REDACTED>)"],
    [`SELECT * FROM dblink('postgresql://u:${SECRET}@h/db', 'SELECT 1') AS x(a int)`, "SELECT * FROM dblink(<REDACTED>, 'SELECT 1') AS x(a int)"],
    [`CREATE SUBSCRIPTION sub CONNECTION 'host=h password = ${SECRET}' PUBLICATION p`, 'CREATE SUBSCRIPTION sub CONNECTION <REDACTED> PUBLICATION p'],
    [`ALTER SYSTEM SET ssl_passphrase_command = 'echo ${SECRET}'`, 'ALTER SYSTEM SET ssl_passphrase_command = <REDACTED>'],
    [`SET my.api_key TO '${SECRET}'`, 'SET my.api_key TO <REDACTED>'],
    [`SELECT set_config('app.password', '${SECRET}', false)`, 'SELECT set_config(<REDACTED>, <REDACTED>, false)'],
    [`SELECT pgp_sym_encrypt('data', '${SECRET}')`, 'SELECT pgp_sym_encrypt(<REDACTED>, <REDACTED>)'],
    [`UPDATE users SET pw_hash = crypt('${SECRET}', gen_salt('bf'))`, 'UPDATE users SET pw_hash = crypt(<REDACTED>, gen_salt(<REDACTED>))'],
    [`INSERT INTO users (name, password) VALUES ('ann', '${SECRET}'), ('bob', '${SECRET}2')`, "INSERT INTO users (name, password) VALUES ('ann', <REDACTED>), ('bob', <REDACTED>)"],
    [`SELECT 1; ALTER ROLE x PASSWORD '${SECRET}'; SELECT 2`, 'SELECT 1; ALTER ROLE x PASSWORD <REDACTED>; SELECT 2'],
    [`SELECT 1\u0000; ALTER ROLE x PASSWORD '${SECRET}'`, 'SELECT 1\u0000; ALTER ROLE x PASSWORD <REDACTED>'],
    [`SELECT 'été'; ALTER ROLE "Zoë" PASSWORD '${SECRET}'`, `SELECT 'été'; ALTER ROLE "Zoë" PASSWORD <REDACTED>`],
  ];
  for (const [sql, redacted] of table) {
    test(sql.replace(/\n/g, '\\n').slice(0, 80), () => {
      const r = c.classifySync(sql);
      assert.equal(r.redacted, redacted);
      assert.equal(r.sensitive, true);
      for (const t of [r.redacted, ...r.statements.map((s) => s.text)]) assert.ok(!t.includes(SECRET.slice(2, 12)), t);
    });
  }

  test('multi-statement: each statement carries only its own part, redacted', () => {
    const r = c.classifySync(`SELECT 1; ALTER ROLE x PASSWORD '${SECRET}'; SELECT 2`);
    assert.deepEqual(r.statements.map((s) => s.text), ['SELECT 1', 'ALTER ROLE x PASSWORD <REDACTED>', 'SELECT 2']);
  });

  test('nothing secret, nothing changed; parameters of secret-taking calls mark the text sensitive', () => {
    const plain = "SELECT 'password', passenger, set_config('work_mem', '1MB', false) FROM trips WHERE note = 'key' AND bypassrls";
    assert.equal(c.classifySync(plain).redacted, plain);
    assert.equal(c.classifySync('SELECT dblink_connect($1)').sensitive, true);
    assert.equal(c.classifySync('SELECT pgp_sym_decrypt(data, $1) FROM t').sensitive, true);
    assert.equal(c.classifySync('SELECT 1').sensitive, undefined);
  });

  test('a shape-cache hit never skips redaction', () => {
    const k = new Classifier();
    k.classifySync("SELECT dblink_connect('host=h')");
    const r = k.classifySync(`SELECT dblink_connect('host=h password=${SECRET}')`);
    assert.equal(r.redacted, "SELECT dblink_connect(<REDACTED>)");
  });
});
