/**
 * The statement audit log and door policy (issue 6): the values that pass between the classifier
 * (`classify.ts`), the session taps in the relay and the pool, the policy and the record writer.
 * Policy is a value (STYLE.md): the classifier says what a statement is, the policy says what to do
 * with it, and the session acts on the answer.
 */

/**
 * pgAudit's classes. MISC_SET is its own class for selection (`audit.log: [misc_set]`), but
 * pgAudit prints it as `MISC` in the line; the JSON record keeps `MISC_SET`.
 */
export type AuditClass = 'READ' | 'WRITE' | 'FUNCTION' | 'ROLE' | 'DDL' | 'MISC' | 'MISC_SET';

/** `audit.log` / policy `deny_classes` names, as pgAudit spells them in `pgaudit.log`. */
export type AuditClassName = 'read' | 'write' | 'function' | 'role' | 'ddl' | 'misc' | 'misc_set';

/** An object a statement names: pgAudit's OBJECT_TYPE and OBJECT_NAME (schema-qualified when written so). */
export interface AuditObject {
  /** pgAudit's spelling: `TABLE`, `VIEW`, `FUNCTION`, `SEQUENCE`, `INDEX`, `SCHEMA`, `ROLE`, … */
  type: string;
  name: string;
}

/** One statement of a (possibly multi-statement) text. */
export interface ClassifiedStatement {
  class: AuditClass;
  /** pgAudit's COMMAND: the command tag (`SELECT`, `INSERT`, `CREATE TABLE`, `ALTER ROLE`, `DO`, `EXECUTE`, …). */
  command: string;
  objects: AuditObject[];
  /** Functions the statement calls, lower case, schema-qualified when written so (`pg_read_file`, `pg_catalog.lo_export`). */
  functions: string[];
  /** This statement's text with secrets replaced by `<REDACTED>` (invariant 4). */
  text: string;
  /** COPY … TO/FROM PROGRAM. */
  copyProgram?: boolean;
  /** For PREPARE / EXECUTE / DEALLOCATE: the SQL-level statement name. */
  preparedName?: string;
  /** Transaction control: BEGIN/START, COMMIT/END, ROLLBACK, SAVEPOINT, RELEASE, ROLLBACK TO, PREPARE TRANSACTION, … */
  transaction?: 'begin' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollback_to' | 'prepare' | 'commit_prepared' | 'rollback_prepared';
}

export interface Classification {
  statements: ClassifiedStatement[];
  /**
   * The text did not parse: `statements` holds one entry classed by its first keyword (never
   * empty for non-empty text), and the record carries `unparsed: true`.
   */
  unparsed: boolean;
  /** The whole text with secrets replaced by `<REDACTED>`: the only form any sink, log or metric sees. */
  redacted: string;
}

/** What the door does with a statement. `rule` names the policy rule for the 42501 message and the record. */
export type PolicyDecision = { allow: true } | { allow: false; rule: string };
