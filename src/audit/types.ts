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
  /**
   * Functions the statement calls, lower case, schema-qualified when written so (`pg_read_file`,
   * `pg_catalog.lo_export`): anywhere in it, including CTEs, subqueries, EXPLAIN and PREPARE bodies
   * (policy's `deny_functions` relies on it).
   */
  functions: string[];
  /** This statement's text with secrets replaced by `<REDACTED>` (invariant 4). */
  text: string;
  /** COPY … TO/FROM PROGRAM. */
  copyProgram?: boolean;
  /**
   * Running it changes table data although its class need not be WRITE: a data-modifying CTE
   * (`WITH d AS (DELETE …) SELECT …`), `EXPLAIN ANALYZE` of INSERT/UPDATE/DELETE/MERGE, `SELECT … INTO`,
   * or `PREPARE … AS` one of these (the later EXECUTE shows the door only a name); the classifier
   * also sets it on every WRITE statement. Policy's `read_only` refuses it. Absent means no. Not set
   * for EXECUTE (the door looks up the PREPAREd statement by `preparedName`) nor for functions that write.
   */
  modifiesData?: boolean;
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
  /**
   * Redaction found a secret in the text, or the text names something that takes one (a password
   * word, dblink, a pgcrypto key function). Its bind parameters may carry secrets too
   * (`SELECT dblink_connect($1)`, `pgp_sym_encrypt($1, $2)`): never log them for this statement.
   */
  sensitive?: boolean;
}

/** What the door does with a statement. `rule` names the policy rule for the 42501 message and the record. */
export type PolicyDecision = { allow: true } | { allow: false; rule: string };

/** Who and where: common to every statement and policy record of a session. */
export interface AuditSessionInfo {
  /** The gateway's session id (the same number as the connection log's `session`). */
  session: number;
  user: string;
  database: string;
  client: { address: string; port?: number };
  application_name?: string;
}

/**
 * One statement record (pgAudit's SESSION line, plus what pgAudit cannot see at the door).
 * `statement_id` counts the session's top-level statements (one per simple-query statement, one per
 * extended-protocol Execute); `substatement_id` numbers the parts of one record set, as pgAudit does.
 */
export interface StatementRecord extends AuditSessionInfo {
  kind: 'statement';
  statement_id: number;
  substatement_id: number;
  class: AuditClass;
  command: string;
  objects: AuditObject[];
  /** Redacted text of this statement (never the raw text). */
  statement: string;
  /** Bind parameters as text (`null` for SQL NULL), only when `audit.log_parameter` is on; binary ones as `<binary>`. */
  parameters?: (string | null)[];
  /** Extended protocol: the prepared statement's name ('' for the unnamed one). */
  statement_name?: string;
  /** Rows from the CommandComplete tag (SELECT 3 → 3), when it carries a count. */
  rows?: number;
  duration_ms?: number;
  /** The ErrorResponse SQLSTATE when the statement failed. */
  sqlstate?: string;
  unparsed?: boolean;
  /** Set when the door's policy refused the statement (it was never sent to the server). */
  denied?: string;
}

/** A policy decision that refused something (allowed statements are recorded as statements). */
export interface PolicyRecord extends AuditSessionInfo {
  kind: 'policy';
  statement_id: number;
  class: AuditClass;
  command: string;
  rule: string;
  statement: string;
}
