/**
 * pgAudit's CLASS and COMMAND for one raw statement node from libpg-query.
 *
 * pgAudit (pgaudit.c, `log_audit_event`) classifies a statement from two things PostgreSQL gives
 * it: the command tag (`CreateCommandTag`) and the `log_statement` level (`GetCommandLogLevel`),
 * both in src/backend/tcop/utility.c. This file ports those two switches to the raw parse tree, then
 * applies pgAudit's rules:
 * - level MOD → WRITE, except EXECUTE → MISC;
 * - level DDL → DDL, except role statements (CREATE/ALTER/DROP ROLE, ALTER ROLE SET, GRANT, REVOKE,
 *   GRANT/REVOKE role, ALTER DEFAULT PRIVILEGES, CREATE/ALTER USER MAPPING, and a RENAME of a role) → ROLE;
 * - level ALL → READ for COPY TO, DECLARE CURSOR, SELECT and PREPARE of a SELECT; FUNCTION for DO;
 *   MISC_SET for SET/RESET; MISC for everything else (CALL, EXPLAIN, FETCH, VACUUM, SHOW, BEGIN…).
 * Plannable statements (SELECT, INSERT, UPDATE, DELETE, MERGE) reach pgAudit through ExecutorStart,
 * which names them from the plan's operation: a data-modifying CTE under a SELECT is `READ,SELECT`.
 */
import type { AuditClass } from './types.js';

/** A libpg-query node: `{ NodeType: { …fields } }` unwrapped to its fields. */
export type Fields = Record<string, unknown>;

/** PostgreSQL's `log_statement` level for a command (LOGSTMT_DDL / LOGSTMT_MOD / LOGSTMT_ALL). */
export type LogLevel = 'ddl' | 'mod' | 'all';

export interface CommandInfo {
  class: AuditClass;
  command: string;
}

/** The single key of a libpg-query node object (`SelectStmt`, `String`, …). */
export function nodeType(node: unknown): string | undefined {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
  for (const k in node) return k;
  return undefined;
}

/** The fields of a node (`{SelectStmt: {...}}` → `{...}`). */
export function fieldsOf(node: unknown): Fields {
  const t = nodeType(node);
  return t ? (((node as Fields)[t] ?? {}) as Fields) : {};
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** `AlterObjectTypeCommandTag`: ALTER <object type> for the ObjectType enum. */
const ALTER_BY_OBJECT: Record<string, string> = {
  OBJECT_AGGREGATE: 'ALTER AGGREGATE', OBJECT_ATTRIBUTE: 'ALTER TYPE', OBJECT_CAST: 'ALTER CAST',
  OBJECT_COLLATION: 'ALTER COLLATION', OBJECT_COLUMN: 'ALTER TABLE', OBJECT_CONVERSION: 'ALTER CONVERSION',
  OBJECT_DATABASE: 'ALTER DATABASE', OBJECT_DOMAIN: 'ALTER DOMAIN', OBJECT_DOMCONSTRAINT: 'ALTER DOMAIN',
  OBJECT_EXTENSION: 'ALTER EXTENSION', OBJECT_FDW: 'ALTER FOREIGN DATA WRAPPER', OBJECT_FOREIGN_SERVER: 'ALTER SERVER',
  OBJECT_FOREIGN_TABLE: 'ALTER FOREIGN TABLE', OBJECT_FUNCTION: 'ALTER FUNCTION', OBJECT_INDEX: 'ALTER INDEX',
  OBJECT_LANGUAGE: 'ALTER LANGUAGE', OBJECT_LARGEOBJECT: 'ALTER LARGE OBJECT', OBJECT_OPCLASS: 'ALTER OPERATOR CLASS',
  OBJECT_OPERATOR: 'ALTER OPERATOR', OBJECT_OPFAMILY: 'ALTER OPERATOR FAMILY', OBJECT_POLICY: 'ALTER POLICY',
  OBJECT_PROCEDURE: 'ALTER PROCEDURE', OBJECT_ROLE: 'ALTER ROLE', OBJECT_ROUTINE: 'ALTER ROUTINE',
  OBJECT_RULE: 'ALTER RULE', OBJECT_SCHEMA: 'ALTER SCHEMA', OBJECT_SEQUENCE: 'ALTER SEQUENCE',
  OBJECT_TABLE: 'ALTER TABLE', OBJECT_TABCONSTRAINT: 'ALTER TABLE', OBJECT_TABLESPACE: 'ALTER TABLESPACE',
  OBJECT_TRIGGER: 'ALTER TRIGGER', OBJECT_EVENT_TRIGGER: 'ALTER EVENT TRIGGER',
  OBJECT_TSCONFIGURATION: 'ALTER TEXT SEARCH CONFIGURATION', OBJECT_TSDICTIONARY: 'ALTER TEXT SEARCH DICTIONARY',
  OBJECT_TSPARSER: 'ALTER TEXT SEARCH PARSER', OBJECT_TSTEMPLATE: 'ALTER TEXT SEARCH TEMPLATE',
  OBJECT_TYPE: 'ALTER TYPE', OBJECT_VIEW: 'ALTER VIEW', OBJECT_MATVIEW: 'ALTER MATERIALIZED VIEW',
  OBJECT_PUBLICATION: 'ALTER PUBLICATION', OBJECT_SUBSCRIPTION: 'ALTER SUBSCRIPTION', OBJECT_STATISTIC_EXT: 'ALTER STATISTICS',
};

/** DROP <object type>: the DropStmt `removeType` switch of CreateCommandTag. */
const DROP_BY_OBJECT: Record<string, string> = {
  OBJECT_TABLE: 'DROP TABLE', OBJECT_SEQUENCE: 'DROP SEQUENCE', OBJECT_VIEW: 'DROP VIEW',
  OBJECT_MATVIEW: 'DROP MATERIALIZED VIEW', OBJECT_INDEX: 'DROP INDEX', OBJECT_TYPE: 'DROP TYPE',
  OBJECT_DOMAIN: 'DROP DOMAIN', OBJECT_COLLATION: 'DROP COLLATION', OBJECT_CONVERSION: 'DROP CONVERSION',
  OBJECT_SCHEMA: 'DROP SCHEMA', OBJECT_TSPARSER: 'DROP TEXT SEARCH PARSER', OBJECT_TSDICTIONARY: 'DROP TEXT SEARCH DICTIONARY',
  OBJECT_TSTEMPLATE: 'DROP TEXT SEARCH TEMPLATE', OBJECT_TSCONFIGURATION: 'DROP TEXT SEARCH CONFIGURATION',
  OBJECT_FOREIGN_TABLE: 'DROP FOREIGN TABLE', OBJECT_EXTENSION: 'DROP EXTENSION', OBJECT_FUNCTION: 'DROP FUNCTION',
  OBJECT_PROCEDURE: 'DROP PROCEDURE', OBJECT_ROUTINE: 'DROP ROUTINE', OBJECT_AGGREGATE: 'DROP AGGREGATE',
  OBJECT_OPERATOR: 'DROP OPERATOR', OBJECT_LANGUAGE: 'DROP LANGUAGE', OBJECT_CAST: 'DROP CAST',
  OBJECT_TRIGGER: 'DROP TRIGGER', OBJECT_EVENT_TRIGGER: 'DROP EVENT TRIGGER', OBJECT_RULE: 'DROP RULE',
  OBJECT_FDW: 'DROP FOREIGN DATA WRAPPER', OBJECT_FOREIGN_SERVER: 'DROP SERVER', OBJECT_OPCLASS: 'DROP OPERATOR CLASS',
  OBJECT_OPFAMILY: 'DROP OPERATOR FAMILY', OBJECT_POLICY: 'DROP POLICY', OBJECT_TRANSFORM: 'DROP TRANSFORM',
  OBJECT_ACCESS_METHOD: 'DROP ACCESS METHOD', OBJECT_PUBLICATION: 'DROP PUBLICATION', OBJECT_STATISTIC_EXT: 'DROP STATISTICS',
};

const DEFINE_BY_KIND: Record<string, string> = {
  OBJECT_AGGREGATE: 'CREATE AGGREGATE', OBJECT_OPERATOR: 'CREATE OPERATOR', OBJECT_TYPE: 'CREATE TYPE',
  OBJECT_TSPARSER: 'CREATE TEXT SEARCH PARSER', OBJECT_TSDICTIONARY: 'CREATE TEXT SEARCH DICTIONARY',
  OBJECT_TSTEMPLATE: 'CREATE TEXT SEARCH TEMPLATE', OBJECT_TSCONFIGURATION: 'CREATE TEXT SEARCH CONFIGURATION',
  OBJECT_COLLATION: 'CREATE COLLATION', OBJECT_ACCESS_METHOD: 'CREATE ACCESS METHOD',
};

const TRANSACTION_TAGS: Record<string, string> = {
  TRANS_STMT_BEGIN: 'BEGIN', TRANS_STMT_START: 'START TRANSACTION', TRANS_STMT_COMMIT: 'COMMIT',
  TRANS_STMT_ROLLBACK: 'ROLLBACK', TRANS_STMT_ROLLBACK_TO: 'ROLLBACK', TRANS_STMT_SAVEPOINT: 'SAVEPOINT',
  TRANS_STMT_RELEASE: 'RELEASE', TRANS_STMT_PREPARE: 'PREPARE TRANSACTION',
  TRANS_STMT_COMMIT_PREPARED: 'COMMIT PREPARED', TRANS_STMT_ROLLBACK_PREPARED: 'ROLLBACK PREPARED',
};

const DISCARD_TAGS: Record<string, string> = {
  DISCARD_ALL: 'DISCARD ALL', DISCARD_PLANS: 'DISCARD PLANS', DISCARD_TEMP: 'DISCARD TEMP', DISCARD_SEQUENCES: 'DISCARD SEQUENCES',
};

/** Node types whose tag is a constant. Anything absent here is handled by `variableTag`. */
const FIXED_TAGS: Record<string, string> = {
  InsertStmt: 'INSERT', DeleteStmt: 'DELETE', UpdateStmt: 'UPDATE', MergeStmt: 'MERGE', PLAssignStmt: 'SELECT',
  DeclareCursorStmt: 'DECLARE CURSOR', CreateDomainStmt: 'CREATE DOMAIN', CreateSchemaStmt: 'CREATE SCHEMA',
  CreateStmt: 'CREATE TABLE', CreateTableSpaceStmt: 'CREATE TABLESPACE', DropTableSpaceStmt: 'DROP TABLESPACE',
  AlterTableSpaceOptionsStmt: 'ALTER TABLESPACE', CreateExtensionStmt: 'CREATE EXTENSION',
  AlterExtensionStmt: 'ALTER EXTENSION', AlterExtensionContentsStmt: 'ALTER EXTENSION',
  CreateFdwStmt: 'CREATE FOREIGN DATA WRAPPER', AlterFdwStmt: 'ALTER FOREIGN DATA WRAPPER',
  CreateForeignServerStmt: 'CREATE SERVER', AlterForeignServerStmt: 'ALTER SERVER',
  CreateUserMappingStmt: 'CREATE USER MAPPING', AlterUserMappingStmt: 'ALTER USER MAPPING',
  DropUserMappingStmt: 'DROP USER MAPPING', CreateForeignTableStmt: 'CREATE FOREIGN TABLE',
  ImportForeignSchemaStmt: 'IMPORT FOREIGN SCHEMA', TruncateStmt: 'TRUNCATE TABLE', CommentStmt: 'COMMENT',
  SecLabelStmt: 'SECURITY LABEL', CopyStmt: 'COPY', AlterDomainStmt: 'ALTER DOMAIN',
  AlterDefaultPrivilegesStmt: 'ALTER DEFAULT PRIVILEGES', CompositeTypeStmt: 'CREATE TYPE', CreateEnumStmt: 'CREATE TYPE',
  CreateRangeStmt: 'CREATE TYPE', AlterEnumStmt: 'ALTER TYPE', ViewStmt: 'CREATE VIEW', IndexStmt: 'CREATE INDEX',
  RuleStmt: 'CREATE RULE', CreateSeqStmt: 'CREATE SEQUENCE', AlterSeqStmt: 'ALTER SEQUENCE', DoStmt: 'DO',
  CreatedbStmt: 'CREATE DATABASE', AlterDatabaseStmt: 'ALTER DATABASE', AlterDatabaseRefreshCollStmt: 'ALTER DATABASE',
  AlterDatabaseSetStmt: 'ALTER DATABASE', DropdbStmt: 'DROP DATABASE', NotifyStmt: 'NOTIFY', ListenStmt: 'LISTEN',
  UnlistenStmt: 'UNLISTEN', LoadStmt: 'LOAD', CallStmt: 'CALL', ClusterStmt: 'CLUSTER', ExplainStmt: 'EXPLAIN',
  RefreshMatViewStmt: 'REFRESH MATERIALIZED VIEW', AlterSystemStmt: 'ALTER SYSTEM', VariableShowStmt: 'SHOW',
  CreateTransformStmt: 'CREATE TRANSFORM', CreateTrigStmt: 'CREATE TRIGGER', CreateEventTrigStmt: 'CREATE EVENT TRIGGER',
  AlterEventTrigStmt: 'ALTER EVENT TRIGGER', CreatePLangStmt: 'CREATE LANGUAGE', CreateRoleStmt: 'CREATE ROLE',
  AlterRoleStmt: 'ALTER ROLE', AlterRoleSetStmt: 'ALTER ROLE', DropRoleStmt: 'DROP ROLE', DropOwnedStmt: 'DROP OWNED',
  ReassignOwnedStmt: 'REASSIGN OWNED', LockStmt: 'LOCK TABLE', ConstraintsSetStmt: 'SET CONSTRAINTS',
  CheckPointStmt: 'CHECKPOINT', ReindexStmt: 'REINDEX', CreateConversionStmt: 'CREATE CONVERSION',
  CreateCastStmt: 'CREATE CAST', CreateOpClassStmt: 'CREATE OPERATOR CLASS', CreateOpFamilyStmt: 'CREATE OPERATOR FAMILY',
  AlterOpFamilyStmt: 'ALTER OPERATOR FAMILY', AlterOperatorStmt: 'ALTER OPERATOR', AlterTypeStmt: 'ALTER TYPE',
  AlterTSDictionaryStmt: 'ALTER TEXT SEARCH DICTIONARY', AlterTSConfigurationStmt: 'ALTER TEXT SEARCH CONFIGURATION',
  CreatePolicyStmt: 'CREATE POLICY', AlterPolicyStmt: 'ALTER POLICY', CreateAmStmt: 'CREATE ACCESS METHOD',
  CreatePublicationStmt: 'CREATE PUBLICATION', AlterPublicationStmt: 'ALTER PUBLICATION',
  CreateSubscriptionStmt: 'CREATE SUBSCRIPTION', AlterSubscriptionStmt: 'ALTER SUBSCRIPTION',
  DropSubscriptionStmt: 'DROP SUBSCRIPTION', AlterCollationStmt: 'ALTER COLLATION', PrepareStmt: 'PREPARE',
  ExecuteStmt: 'EXECUTE', CreateStatsStmt: 'CREATE STATISTICS', AlterStatsStmt: 'ALTER STATISTICS',
};

/** CreateCommandTag for the node types whose tag depends on a field. */
function variableTag(type: string, f: Fields): string {
  switch (type) {
    case 'SelectStmt': return f.intoClause ? 'SELECT INTO' : 'SELECT';
    case 'TransactionStmt': return TRANSACTION_TAGS[str(f.kind)] ?? '???';
    case 'ClosePortalStmt': return f.portalname ? 'CLOSE CURSOR' : 'CLOSE CURSOR ALL';
    case 'FetchStmt': return f.ismove ? 'MOVE' : 'FETCH';
    case 'DropStmt': return DROP_BY_OBJECT[str(f.removeType)] ?? '???';
    case 'RenameStmt':
      return ALTER_BY_OBJECT[str(f.renameType === 'OBJECT_COLUMN' ? f.relationType : f.renameType)] ?? '???';
    case 'AlterObjectDependsStmt': case 'AlterObjectSchemaStmt': case 'AlterOwnerStmt':
      return ALTER_BY_OBJECT[str(f.objectType)] ?? '???';
    case 'AlterTableMoveAllStmt': case 'AlterTableStmt': return ALTER_BY_OBJECT[str(f.objtype)] ?? '???';
    case 'AlterFunctionStmt':
      return ({ OBJECT_FUNCTION: 'ALTER FUNCTION', OBJECT_PROCEDURE: 'ALTER PROCEDURE', OBJECT_ROUTINE: 'ALTER ROUTINE' } as Record<string, string>)[str(f.objtype)] ?? '???';
    case 'GrantStmt': return f.is_grant ? 'GRANT' : 'REVOKE';
    case 'GrantRoleStmt': return f.is_grant ? 'GRANT ROLE' : 'REVOKE ROLE';
    case 'DefineStmt': return DEFINE_BY_KIND[str(f.kind)] ?? '???';
    case 'CreateFunctionStmt': return f.is_procedure ? 'CREATE PROCEDURE' : 'CREATE FUNCTION';
    case 'VacuumStmt': return f.is_vacuumcmd ? 'VACUUM' : 'ANALYZE';
    case 'CreateTableAsStmt':
      if (f.objtype === 'OBJECT_MATVIEW') return 'CREATE MATERIALIZED VIEW';
      return f.is_select_into ? 'SELECT INTO' : 'CREATE TABLE AS';
    case 'VariableSetStmt': return str(f.kind).startsWith('VAR_RESET') ? 'RESET' : 'SET';
    case 'DiscardStmt': return DISCARD_TAGS[str(f.target)] ?? '???';
    case 'DeallocateStmt': return f.name ? 'DEALLOCATE' : 'DEALLOCATE ALL';
    default: return '???';
  }
}

/** PostgreSQL's command tag (CreateCommandTag) for a raw statement node; `???` when unknown, as PostgreSQL prints it. */
export function commandTag(node: unknown): string {
  const type = nodeType(node) ?? '';
  return FIXED_TAGS[type] ?? variableTag(type, fieldsOf(node));
}

/** Level ALL: node types GetCommandLogLevel puts at LOGSTMT_ALL (the rest of the utility statements are DDL). */
const LEVEL_ALL = new Set([
  'PLAssignStmt', 'TransactionStmt', 'DeclareCursorStmt', 'ClosePortalStmt', 'FetchStmt', 'DeallocateStmt', 'DoStmt',
  'NotifyStmt', 'ListenStmt', 'UnlistenStmt', 'LoadStmt', 'CallStmt', 'VacuumStmt', 'VariableSetStmt',
  'VariableShowStmt', 'DiscardStmt', 'LockStmt', 'ConstraintsSetStmt', 'CheckPointStmt', 'ReindexStmt',
  // EXECUTE looks through to the prepared statement, which the door may not know: ALL and MOD give the same class (MISC).
  'ExecuteStmt',
]);
const LEVEL_MOD = new Set(['InsertStmt', 'DeleteStmt', 'UpdateStmt', 'MergeStmt', 'TruncateStmt']);

/** EXPLAIN's options: `analyze` is on when given without a value or with a true one (defGetBoolean; the last one wins). */
export function explainAnalyzes(f: Fields): boolean {
  let analyze = false;
  for (const opt of (f.options as unknown[] | undefined) ?? []) {
    const d = fieldsOf(opt);
    if (d.defname !== 'analyze') continue;
    analyze = defBoolean(d.arg);
  }
  return analyze;
}

function defBoolean(arg: unknown): boolean {
  if (arg === undefined) return true;
  const t = nodeType(arg);
  const v = fieldsOf(arg);
  if (t === 'Integer') return (v.ival ?? 0) !== 0;
  if (t === 'Boolean') return v.boolval === true;
  const s = str(v.sval).toLowerCase();
  return !['false', 'off', 'no', '0', 'f', 'n'].includes(s);
}

/** GetCommandLogLevel for a raw statement node. */
export function logLevel(node: unknown): LogLevel {
  const type = nodeType(node) ?? '';
  const f = fieldsOf(node);
  if (LEVEL_MOD.has(type)) return 'mod';
  if (LEVEL_ALL.has(type)) return 'all';
  switch (type) {
    case 'SelectStmt': return f.intoClause ? 'ddl' : 'all';
    case 'CopyStmt': return f.is_from ? 'mod' : 'all';
    case 'PrepareStmt': return logLevel(f.query);
    // EXPLAIN ANALYZE runs the statement, so it is logged at that statement's level.
    case 'ExplainStmt': return explainAnalyzes(f) ? logLevel(f.query) : 'all';
    default: return type === '' ? 'all' : 'ddl';
  }
}

const ROLE_NODES = new Set([
  'CreateRoleStmt', 'AlterRoleStmt', 'CreateUserMappingStmt', 'AlterUserMappingStmt', 'GrantStmt', 'GrantRoleStmt',
  'DropRoleStmt', 'AlterRoleSetStmt', 'AlterDefaultPrivilegesStmt',
]);
const READ_NODES = new Set(['CopyStmt', 'DeclareCursorStmt', 'SelectStmt', 'PrepareStmt']);

/** The plan operation ExecutorStart sees for a plannable statement (pgAudit names those from it, not from the tag). */
const EXECUTOR: Record<string, CommandInfo> = {
  SelectStmt: { class: 'READ', command: 'SELECT' },
  InsertStmt: { class: 'WRITE', command: 'INSERT' },
  UpdateStmt: { class: 'WRITE', command: 'UPDATE' },
  DeleteStmt: { class: 'WRITE', command: 'DELETE' },
  // pgAudit's ExecutorStart switch has no CMD_MERGE: the default branch is LOGSTMT_ALL with CMDTAG_UNKNOWN.
  MergeStmt: { class: 'MISC', command: '???' },
};

/** pgAudit's class and command for one raw statement (the first line it prints for that statement). */
export function pgauditCommand(node: unknown): CommandInfo {
  const type = nodeType(node) ?? '';
  const f = fieldsOf(node);
  const executor = EXECUTOR[type];
  if (executor && !(type === 'SelectStmt' && f.intoClause)) return executor;
  const command = commandTag(node);
  return { class: utilityClass(type, command, logLevel(node)), command };
}

function utilityClass(type: string, command: string, level: LogLevel): AuditClass {
  if (level === 'mod') return type === 'ExecuteStmt' ? 'MISC' : 'WRITE';
  if (level === 'ddl') {
    if (ROLE_NODES.has(type)) return 'ROLE';
    if ((type === 'RenameStmt' || type === 'DropStmt') && (command === 'ALTER ROLE' || command === 'DROP ROLE')) return 'ROLE';
    return 'DDL';
  }
  if (READ_NODES.has(type)) return 'READ';
  if (type === 'DoStmt') return 'FUNCTION';
  if (type === 'VariableSetStmt') return 'MISC_SET';
  return 'MISC';
}
