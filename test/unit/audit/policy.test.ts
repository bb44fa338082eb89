import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../src/config/load.js';
import { compilePolicy, decide, decideFor, rulesFor, DANGEROUS_FUNCTIONS } from '../../../src/audit/policy.js';
import type { AuditClass, Classification, ClassifiedStatement } from '../../../src/audit/types.js';

const policyOf = (yaml: string) => compilePolicy(parseConfig(`hba: h\npolicy:\n${yaml}`, '/x/g.yaml').policy);

/** A classified statement as the classifier would hand it over (this is the decision's input, not a classifier). */
function st(cls: AuditClass, command: string, extra: Partial<ClassifiedStatement> = {}): ClassifiedStatement {
  return { class: cls, command, objects: [], functions: [], text: command, ...extra };
}
const text = (...statements: ClassifiedStatement[]): Classification => ({ statements, unparsed: false, redacted: '' });

test('rules apply by role and database; a session no rule matches has no policy', () => {
  const p = policyOf('  rep: {users: [report], databases: [app], read_only: true}\n  all: {deny_copy_program: true}\n');
  assert.deepEqual(rulesFor(p, 'report', 'app')?.map((r) => r.name), ['rep', 'all']);
  assert.deepEqual(rulesFor(p, 'report', 'other')?.map((r) => r.name), ['all']);
  assert.equal(rulesFor(policyOf('  rep: {users: [report], read_only: true}\n'), 'alice', 'app'), null);
});

test('read_only refuses WRITE, DDL, ROLE, data-modifying statements, DO and CALL; allows READ, MISC and transaction control', () => {
  const rules = rulesFor(policyOf('  rep: {read_only: true}\n'), 'u', 'd')!;
  const refused: [ClassifiedStatement, string][] = [
    [st('WRITE', 'INSERT'), 'rep: read_only refuses INSERT'],
    [st('WRITE', 'DELETE'), 'rep: read_only refuses DELETE'],
    [st('DDL', 'CREATE TABLE'), 'rep: read_only refuses CREATE TABLE'],
    [st('ROLE', 'ALTER ROLE'), 'rep: read_only refuses ALTER ROLE'],
    [st('READ', 'SELECT', { modifiesData: true }), 'rep: read_only refuses SELECT'],
    [st('MISC', 'EXPLAIN', { modifiesData: true }), 'rep: read_only refuses EXPLAIN'],
    [st('FUNCTION', 'DO'), 'rep: read_only refuses DO'],
    [st('FUNCTION', 'CALL'), 'rep: read_only refuses CALL'],
  ];
  for (const [s, rule] of refused) assert.deepEqual(decide(rules, text(s)), { allow: false, rule }, s.command);
  for (const s of [st('READ', 'SELECT'), st('MISC', 'EXPLAIN'), st('MISC_SET', 'SET'), st('MISC', 'BEGIN', { transaction: 'begin' })]) {
    assert.deepEqual(decide(rules, text(s)), { allow: true }, s.command);
  }
});

test('a multi-statement text with one refused part is refused whole, naming that part', () => {
  const rules = rulesFor(policyOf('  rep: {read_only: true}\n'), 'u', 'd')!;
  assert.deepEqual(decide(rules, text(st('READ', 'SELECT'), st('WRITE', 'UPDATE'), st('READ', 'SELECT'))),
    { allow: false, rule: 'rep: read_only refuses UPDATE' });
});

test('deny_classes refuses exactly the listed classes (misc does not cover misc_set)', () => {
  const rules = rulesFor(policyOf('  nod: {deny_classes: [ddl, misc]}\n'), 'u', 'd')!;
  assert.deepEqual(decide(rules, text(st('DDL', 'DROP TABLE'))), { allow: false, rule: 'nod: deny_classes refuses ddl (DROP TABLE)' });
  assert.deepEqual(decide(rules, text(st('MISC', 'VACUUM'))), { allow: false, rule: 'nod: deny_classes refuses misc (VACUUM)' });
  assert.equal(decide(rules, text(st('MISC_SET', 'SET'))).allow, true);
  assert.equal(decide(rules, text(st('WRITE', 'INSERT'))).allow, true);
});

test('deny_functions: dangerous expands to the danger list; bare and schema-qualified names match as search_path would', () => {
  const rules = rulesFor(policyOf('  fn: {deny_functions: [dangerous, app.secret_fn]}\n'), 'u', 'd')!;
  const call = (...functions: string[]) => decide(rules, text(st('READ', 'SELECT', { functions })));
  assert.deepEqual(call('now', 'pg_read_file'), { allow: false, rule: 'fn: deny_functions refuses pg_read_file' });
  assert.deepEqual(call('pg_catalog.lo_export'), { allow: false, rule: 'fn: deny_functions refuses pg_catalog.lo_export' });
  assert.deepEqual(call('dblink_exec'), { allow: false, rule: 'fn: deny_functions refuses dblink_exec' });
  // app.secret_fn: the qualified call, and a bare call that search_path may resolve to it; not other schemas' secret_fn.
  assert.equal(call('app.secret_fn').allow, false);
  assert.equal(call('secret_fn').allow, false);
  assert.equal(call('other.secret_fn').allow, true);
  assert.equal(call('now', 'upper').allow, true);
  for (const f of ['pg_read_file', 'pg_read_binary_file', 'pg_ls_dir', 'pg_stat_file', 'lo_import', 'lo_export', 'dblink', 'dblink_connect', 'dblink_exec']) {
    assert.ok(DANGEROUS_FUNCTIONS.includes(f), f);
  }
});

test('deny_functions and deny_copy_program refuse text the door cannot parse (it could call anything)', () => {
  const unparsed: Classification = { statements: [st('READ', 'SELECT')], unparsed: true, redacted: '' };
  assert.equal(decide(rulesFor(policyOf('  fn: {deny_functions: [pg_read_file]}\n'), 'u', 'd')!, unparsed).allow, false);
  assert.equal(decide(rulesFor(policyOf('  ro: {read_only: true}\n'), 'u', 'd')!, unparsed).allow, true);
  const copy: Classification = { statements: [st('READ', 'COPY')], unparsed: true, redacted: '' };
  assert.equal(decide(rulesFor(policyOf('  cp: {deny_copy_program: true}\n'), 'u', 'd')!, copy).allow, false);
});

test('deny_copy_program refuses COPY … PROGRAM only', () => {
  const rules = rulesFor(policyOf('  cp: {deny_copy_program: true}\n'), 'u', 'd')!;
  assert.deepEqual(decide(rules, text(st('WRITE', 'COPY', { copyProgram: true }))), { allow: false, rule: 'cp: deny_copy_program refuses COPY … PROGRAM' });
  assert.equal(decide(rules, text(st('READ', 'COPY'))).allow, true);
});

test('allow_only: listed tags (any case) and transaction control pass; PREPARE TRANSACTION does not', () => {
  const rules = rulesFor(policyOf('  ao: {allow_only: [select, Show]}\n'), 'u', 'd')!;
  assert.equal(decide(rules, text(st('READ', 'SELECT'))).allow, true);
  assert.equal(decide(rules, text(st('MISC', 'SHOW'))).allow, true);
  assert.equal(decide(rules, text(st('MISC', 'COMMIT', { transaction: 'commit' }))).allow, true);
  assert.deepEqual(decide(rules, text(st('WRITE', 'INSERT'))), { allow: false, rule: 'ao: allow_only does not list INSERT' });
  assert.equal(decide(rules, text(st('MISC', 'PREPARE TRANSACTION', { transaction: 'prepare' }))).allow, false);
});

test('deny wins over order: a narrow rule never loosens a broad one; the first refusing rule is named', () => {
  const p = policyOf('  open: {users: [u], allow_only: [SELECT, COPY]}\n  shell: {deny_copy_program: true}\n');
  assert.deepEqual(decideFor(p, text(st('READ', 'COPY', { copyProgram: true })), 'u', 'd'),
    { allow: false, rule: 'shell: deny_copy_program refuses COPY … PROGRAM' });
  assert.deepEqual(decideFor(p, text(st('READ', 'SELECT')), 'nobody', 'd'), { allow: true });
});

test('policy config errors name the key', () => {
  const err = (yaml: string): string => {
    try {
      policyOf(yaml);
    } catch (e) {
      return (e as Error).message;
    }
    return 'accepted';
  };
  assert.match(err('  x: {users: [a]}\n'), /policy\.x: the rule refuses nothing/);
  assert.match(err('  x: {read_only: true, readonly: true}\n'), /policy\.x\.readonly: unknown key/);
  assert.match(err('  x: {deny_classes: [reed]}\n'), /policy\.x\.deny_classes\.0:/);
  assert.match(err('  x: {deny_functions: ["pg_read_file()"]}\n'), /policy\.x\.deny_functions\.0: must be a function name/);
  assert.match(err('  x: {users: [], read_only: true}\n'), /policy\.x\.users: list at least one name/);
  assert.match(err('  x: {allow_only: ["SELECT;"]}\n'), /policy\.x\.allow_only\.0: must be a command tag/);
});
