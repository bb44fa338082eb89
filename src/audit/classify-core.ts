/**
 * One uncached classification: parse with libpg-query, then for each statement pgAudit's class and
 * command (command-tag.ts), what the tree touches (ast.ts) and its redacted text (redact.ts). Text
 * that does not parse gets one statement classed by its first keyword. Shared by the Classifier on
 * the main thread and by its worker thread; `loadModule()` must have resolved before it runs.
 */
import { parseSync } from 'libpg-query';
import { treeFacts } from './ast.js';
import { fieldsOf, nodeType, pgauditCommand, type Fields } from './command-tag.js';
import { applySpans, scanSecrets } from './redact.js';
import { lexSql } from './sql-lexer.js';
import type { AuditClass, Classification, ClassifiedStatement } from './types.js';

type Transaction = NonNullable<ClassifiedStatement['transaction']>;
const TRANSACTION_KINDS: Record<string, Transaction> = {
  TRANS_STMT_BEGIN: 'begin', TRANS_STMT_START: 'begin', TRANS_STMT_COMMIT: 'commit', TRANS_STMT_ROLLBACK: 'rollback',
  TRANS_STMT_SAVEPOINT: 'savepoint', TRANS_STMT_RELEASE: 'release', TRANS_STMT_ROLLBACK_TO: 'rollback_to',
  TRANS_STMT_PREPARE: 'prepare', TRANS_STMT_COMMIT_PREPARED: 'commit_prepared', TRANS_STMT_ROLLBACK_PREPARED: 'rollback_prepared',
};

interface RawStmt { stmt?: unknown; stmt_location?: number; stmt_len?: number }

const NON_ASCII = /[^\u0000-\u007f]/;

/** Classifies a whole (possibly multi-statement) text; never throws. */
export function classifyText(text: string): Classification {
  const { spans, sensitive } = scanSecrets(text);
  const redacted = spans.length > 0 ? applySpans(text, spans) : text;
  // A NUL ends a C string: libpg-query would classify only what precedes it (and PostgreSQL
  // rejects such a message), so the whole text is treated as not parsed.
  if (text.includes('\u0000')) return unparsed(text);
  let stmts: RawStmt[];
  try {
    stmts = (parseSync(text).stmts ?? []) as RawStmt[];
  } catch {
    return unparsed(text);
  }
  const toChar = charOffsets(text);
  const statements = stmts.map((raw) => {
    const start = toChar(raw.stmt_location ?? 0);
    const end = raw.stmt_len ? toChar((raw.stmt_location ?? 0) + raw.stmt_len) : text.length;
    return describe(raw.stmt, statementText(text, spans, start, end));
  });
  return withSensitive({ statements, unparsed: false, redacted }, sensitive);
}

/** Text that did not parse: redacted without the quick test (an unterminated quote may hide anything). */
function unparsed(text: string): Classification {
  const { spans, sensitive } = scanSecrets(text, true);
  const redacted = spans.length > 0 ? applySpans(text, spans) : text;
  // Only whitespace and comments: the server answers EmptyQueryResponse; there is no statement.
  if (lexSql(text).every((t) => t.kind === 'comment')) return withSensitive({ statements: [], unparsed: false, redacted }, sensitive);
  return withSensitive({ statements: [unparsedStatement(text, redacted)], unparsed: true, redacted }, sensitive);
}

function withSensitive(c: Classification, sensitive: boolean): Classification {
  if (sensitive) c.sensitive = true;
  return c;
}

/** libpg-query's offsets count UTF-8 bytes; JavaScript slices count UTF-16 units. */
function charOffsets(text: string): (byte: number) => number {
  if (!NON_ASCII.test(text)) return (b) => b;
  const buf = Buffer.from(text, 'utf8');
  return (b) => buf.subarray(0, b).toString('utf8').length;
}

/** A statement's own text, trimmed, with the secrets inside it redacted. */
export function statementText(text: string, spans: ReadonlyArray<readonly [number, number]>, start: number, end: number): string {
  let s = start;
  let e = end;
  while (s < e && /\s/.test(text[s] ?? '')) s++;
  while (e > s && /\s/.test(text[e - 1] ?? '')) e--;
  return spans.length === 0 ? text.slice(s, e) : applySpans(text, spans, s, e);
}

/** Everything but the text for one parsed statement. */
export function describe(stmt: unknown, text: string): ClassifiedStatement {
  const { class: cls, command } = pgauditCommand(stmt);
  const facts = treeFacts(stmt);
  const out: ClassifiedStatement = { class: cls, command, objects: facts.objects, functions: facts.functions, text };
  const type = nodeType(stmt);
  const f = fieldsOf(stmt);
  if (modifiesData(stmt, cls, facts.nestedWrite)) out.modifiesData = true;
  if (type === 'CopyStmt' && f.is_program) out.copyProgram = true;
  const prepared = preparedNameOf(type, f);
  if (prepared !== undefined) out.preparedName = prepared;
  if (type === 'TransactionStmt') {
    const kind = TRANSACTION_KINDS[String(f.kind)];
    if (kind) out.transaction = kind;
  }
  return out;
}

const DML_NODES = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

/**
 * Whether running the statement changes table data: WRITE (MERGE too, which pgAudit prints as
 * MISC,???: its ExecutorStart switch has no CMD_MERGE), DML under a CTE or EXPLAIN ANALYZE,
 * SELECT … INTO / CREATE TABLE AS, and PREPARE of any of these (EXECUTE shows the door only a name).
 */
function modifiesData(stmt: unknown, cls: string, nestedWrite: boolean): boolean {
  const type = nodeType(stmt) ?? '';
  const f = fieldsOf(stmt);
  if (cls === 'WRITE' || nestedWrite || DML_NODES.has(type)) return true;
  if ((type === 'SelectStmt' && f.intoClause) || type === 'CreateTableAsStmt') return true;
  if (type === 'PrepareStmt') return modifiesData(f.query, pgauditCommand(f.query).class, treeFacts(f.query).nestedWrite);
  return false;
}

function preparedNameOf(type: string | undefined, f: Fields): string | undefined {
  if (type === 'PrepareStmt' || type === 'ExecuteStmt' || type === 'DeallocateStmt') return typeof f.name === 'string' ? f.name : undefined;
  if (type === 'ExplainStmt' || type === 'CreateTableAsStmt') return preparedNameOf(nodeType(f.query), fieldsOf(f.query));
  return undefined;
}

/** First-keyword classes for text that does not parse (the server will most likely reject it too). */
const FIRST_KEYWORD: Record<string, [AuditClass, string]> = {
  select: ['READ', 'SELECT'], values: ['READ', 'SELECT'], table: ['READ', 'SELECT'], with: ['READ', 'SELECT'],
  insert: ['WRITE', 'INSERT'], update: ['WRITE', 'UPDATE'], delete: ['WRITE', 'DELETE'], merge: ['WRITE', 'MERGE'],
  truncate: ['WRITE', 'TRUNCATE TABLE'], copy: ['WRITE', 'COPY'], grant: ['ROLE', 'GRANT'], revoke: ['ROLE', 'REVOKE'],
  do: ['FUNCTION', 'DO'], set: ['MISC_SET', 'SET'], reset: ['MISC_SET', 'RESET'], explain: ['MISC', 'EXPLAIN'],
  call: ['MISC', 'CALL'], show: ['MISC', 'SHOW'], begin: ['MISC', 'BEGIN'], commit: ['MISC', 'COMMIT'],
  rollback: ['MISC', 'ROLLBACK'], vacuum: ['MISC', 'VACUUM'], analyze: ['MISC', 'ANALYZE'], prepare: ['READ', 'PREPARE'],
  execute: ['MISC', 'EXECUTE'], fetch: ['MISC', 'FETCH'], declare: ['READ', 'DECLARE CURSOR'],
};
const DML_WORDS = new Set(['insert', 'update', 'delete', 'merge', 'truncate', 'copy']);

/** One statement for text that did not parse: class by first keyword, functions by `name(`, conservative `modifiesData`. */
export function unparsedStatement(text: string, redacted: string): ClassifiedStatement {
  const toks = lexSql(text).filter((t) => t.kind !== 'comment');
  const words = toks.map((t) => (t.kind === 'word' ? text.slice(t.start, t.end).toLowerCase() : ''));
  const first = words[0] ?? '';
  let [cls, command]: [AuditClass, string] = FIRST_KEYWORD[first] ?? ['MISC', first ? first.toUpperCase() : '???'];
  if (first === 'create' || first === 'alter' || first === 'drop') {
    const what = words[1] ?? '';
    const role = what === 'role' || what === 'user' || what === 'group';
    cls = role && !(first === 'drop' && words[2] === 'mapping') ? 'ROLE' : 'DDL';
    command = `${first.toUpperCase()} ${role && words[2] !== 'mapping' ? 'ROLE' : what.toUpperCase()}`.trim();
    if (words[2] === 'mapping') command += ' MAPPING';
  }
  const functions = [...new Set(toks.flatMap((t, i) => (t.kind === 'word' && text[toks[i + 1]?.start ?? -1] === '(' ? [words[i] ?? ''] : [])))];
  const out: ClassifiedStatement = { class: cls, command, objects: [], functions, text: redacted.trim() };
  if (cls === 'WRITE' || words.some((w) => DML_WORDS.has(w))) out.modifiesData = true;
  return out;
}
