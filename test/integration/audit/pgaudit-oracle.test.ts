/**
 * The classifier against real pgAudit: PostgreSQL 15 (Debian) with postgresql-15-pgaudit (1.7)
 * loaded and `pgaudit.log = 'all'` runs the corpus in test/spec/audit/corpus.ts; every AUDIT line is
 * read back from the server log and compared with `classifySync`, (class, command) per statement.
 *
 * Settings: `pgaudit.log_relation` stays off (its default), so each statement has one SESSION line
 * and nested work (function EXECUTE lines, the SELECT inside CREATE TABLE AS) keeps its statement
 * id; `pgaudit.log_catalog` stays on (its default). `CREATE EXTENSION pgaudit` is not run: its event
 * triggers add per-object DDL lines (CREATE SEQUENCE, CREATE INDEX for one CREATE TABLE … serial
 * PRIMARY KEY) whose order says nothing about the statement; without them pgAudit logs each DDL
 * statement once, from its ProcessUtility hook, with the statement's own command tag.
 *
 * The test fails when pgAudit no longer prints a recorded answer, on any difference not listed in
 * KNOWN_DIFFERENCES (with pgAudit's answer, ours and why), on a listed one that went away, and when
 * agreement falls below 99%.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { availableVersions, startCluster, type Cluster } from '../../harness/pg.js';
import { Classifier, loadClassifier } from '../../../src/audit/classify.js';
import { CORPUS, KNOWN_DIFFERENCES } from '../../spec/audit/corpus.js';
import { runCorpus, topLevelLines, type CorpusRun } from './oracle-support.js';

const hasPgaudit = (await availableVersions()).includes(15) && existsSync('/usr/lib/postgresql/15/lib/pgaudit.so');
const printed = (cls: string): string => (cls === 'MISC_SET' ? 'MISC' : cls);

describe('pgAudit oracle (PostgreSQL 15, pgaudit.log = all)', { skip: hasPgaudit ? false : 'PostgreSQL 15 with postgresql-15-pgaudit is not installed' }, () => {
  let cluster: Cluster;
  let run: CorpusRun;
  const classifier = new Classifier();
  const pgauditOf = (id: string): string[] => topLevelLines(run.lines.get(id) ?? []).map((l) => `${l.cls},${l.command}`);

  before(async () => {
    await loadClassifier();
    cluster = await startCluster({
      version: 15,
      conf: { shared_preload_libraries: 'pgaudit', 'pgaudit.log': 'all', log_connections: false, log_min_messages: 'warning' },
    });
    run = await runCorpus(cluster, CORPUS);
    // GATEHOUSE_ORACLE_RECORD=file writes what pgAudit printed per entry (to refresh corpus.ts by hand).
    const record = process.env.GATEHOUSE_ORACLE_RECORD;
    if (record) await writeFile(record, JSON.stringify(Object.fromEntries(CORPUS.map((e) => [e.id, pgauditOf(e.id)])), null, 1));
  });
  after(async () => { await classifier.close(); await cluster?.stop(); });

  test('each entry succeeded or failed with its recorded SQLSTATE', () => {
    const wrong = CORPUS.filter((e) => run.errors.get(e.id) !== e.error).map((e) => `${e.id}: ${run.errors.get(e.id) ?? 'ok'} (expected ${e.error ?? 'ok'}) ${e.sql}`);
    assert.deepEqual(wrong, []);
  });

  test('pgAudit still prints the recorded (class, command) for every entry', () => {
    const drift = CORPUS.filter((e) => JSON.stringify(pgauditOf(e.id)) !== JSON.stringify(e.pgaudit))
      .map((e) => `${e.id}: pgAudit ${JSON.stringify(pgauditOf(e.id))}, recorded ${JSON.stringify(e.pgaudit)} — ${e.sql}`);
    assert.deepEqual(drift, []);
  });

  test('the classifier agrees with pgAudit on ≥ 99% of statements; every difference is listed and explained', () => {
    let total = 0;
    let agree = 0;
    const unlisted: string[] = [];
    const stale: string[] = [];
    for (const e of CORPUS) {
      const theirs = pgauditOf(e.id);
      if (theirs.length === 0) continue; // pgAudit printed nothing (an aborted transaction): nothing to compare
      const ours = classifier.classifySync(e.sql).statements.map((s) => `${printed(s.class)},${s.command}`);
      total += theirs.length;
      agree += theirs.filter((x, i) => x === ours[i]).length;
      const same = JSON.stringify(ours) === JSON.stringify(theirs);
      const known = KNOWN_DIFFERENCES[e.id];
      if (!same && JSON.stringify(known?.ours) !== JSON.stringify(ours)) unlisted.push(`${e.id}: pgAudit ${JSON.stringify(theirs)}, ours ${JSON.stringify(ours)} — ${e.sql}`);
      if (same && known) stale.push(`${e.id} is listed in KNOWN_DIFFERENCES but agrees now`);
    }
    assert.deepEqual(unlisted, [], 'differences not in KNOWN_DIFFERENCES');
    assert.deepEqual(stale, []);
    assert.ok(total >= 250, `only ${total} statements compared`);
    assert.ok(agree / total >= 0.99, `agreement ${agree}/${total}`);
    process.stdout.write(`# pgAudit agreement: ${agree}/${total} statements (${Object.keys(KNOWN_DIFFERENCES).length} listed differences)\n`);
  });

  test('statements in an aborted transaction are not logged by pgAudit (including the ROLLBACK that ends it)', () => {
    assert.deepEqual(['aborted-03', 'aborted-04', 'aborted-05'].map((id) => run.lines.get(id) ?? []), [[], [], []]);
    assert.deepEqual(pgauditOf('aborted-02'), ['READ,SELECT']);
  });

  test('redaction: pgAudit\'s shape for ALTER ROLE … PASSWORD, and no planted secret in any of our texts', () => {
    const line = topLevelLines(run.lines.get('role-04') ?? [])[0];
    assert.equal(line?.statement, 'ALTER ROLE corpus_r2 PASSWORD <REDACTED>');
    const ours = classifier.classifySync("ALTER ROLE corpus_r2 PASSWORD 'corpus-secret-3'");
    assert.equal(ours.statements[0]?.text, line.statement);
    for (const e of CORPUS) {
      const r = classifier.classifySync(e.sql);
      for (const t of [r.redacted, ...r.statements.map((s) => s.text)]) assert.ok(!/corpus-secret/.test(t), `${e.id}: ${t}`);
    }
  });

  test('pgAudit prints the whole multi-statement string on every statement\'s line; our per-statement text does not carry the password to the SELECT', () => {
    const [select, create] = topLevelLines(run.lines.get('multi-11') ?? []);
    assert.match(select?.statement ?? '', /corpus-secret-9/, 'pgAudit 1.7 redacts only CREATE/ALTER ROLE lines');
    assert.match(create?.statement ?? '', /PASSWORD <REDACTED>$/);
    const ours = classifier.classifySync(CORPUS.find((e) => e.id === 'multi-11')?.sql ?? '');
    assert.deepEqual(ours.statements.map((s) => s.text), ['SELECT 1', 'CREATE ROLE corpus_r9 PASSWORD <REDACTED>', 'DROP ROLE corpus_r9']);
  });
});
