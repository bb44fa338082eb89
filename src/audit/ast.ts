/**
 * What a statement touches, read from libpg-query's tree: the functions it calls, the objects it
 * names, and whether it modifies data although pgAudit's class does not say so (a data-modifying
 * CTE under SELECT, EXPLAIN ANALYZE of DML).
 */
import { explainAnalyzes, fieldsOf, nodeType, type Fields } from './command-tag.js';
import type { AuditObject } from './types.js';

export interface TreeFacts {
  /** Every FuncCall anywhere in the tree, lower case, schema-qualified when written so, first-seen order, no duplicates. */
  functions: string[];
  /** RangeVars anywhere in the tree (TABLE), then what the top DDL node names; no duplicates. */
  objects: AuditObject[];
  /** An INSERT/UPDATE/DELETE/MERGE node that will execute appears below the top (a CTE, EXPLAIN ANALYZE, a rule body is excluded). */
  nestedWrite: boolean;
}

const DML = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);
const strings = (list: unknown): string[] =>
  Array.isArray(list) ? list.map((n) => fieldsOf(n).sval).filter((s): s is string => typeof s === 'string') : [];

/** `schema.name` from a RangeVar, wrapped or bare. */
function rangeVarName(v: unknown): string {
  const f = (v && typeof v === 'object' && 'RangeVar' in v ? (v as Fields).RangeVar : v ?? {}) as Fields;
  return [f.catalogname, f.schemaname, f.relname].filter((s): s is string => typeof s === 'string' && s !== '').join('.');
}

class Collector {
  readonly functions: string[] = [];
  readonly objects: AuditObject[] = [];
  private readonly seenFn = new Set<string>();
  private readonly seenObj = new Set<string>();
  private readonly cteNames = new Set<string>();
  nestedWrite = false;

  addFunction(name: string): void {
    if (name === '' || this.seenFn.has(name)) return;
    this.seenFn.add(name);
    this.functions.push(name);
  }

  addObject(type: string, name: string): void {
    // Keyed by name: the top DDL node's type (VIEW v) wins over the walk's generic TABLE for the same RangeVar.
    if (name === '' || this.seenObj.has(name)) return;
    this.seenObj.add(name);
    this.objects.push({ type, name });
  }

  /**
   * Depth-first over plain JSON. `executes` is false below nodes whose statement is not run now
   * (plain EXPLAIN, PREPARE, CREATE RULE/VIEW/FUNCTION bodies), so their DML is not a write.
   * libpg-query wraps Node pointers (`{RangeVar: {…}}`) but not typed struct fields
   * (InsertStmt.relation, CallStmt.funccall are bare `{relname: …}`, `{funcname: …}`).
   */
  walk(value: unknown, executes: boolean, depth: number): void {
    if (value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      for (const v of value) this.walk(v, executes, depth);
      return;
    }
    const obj = value as Fields;
    const type = wrappedType(obj);
    const fields = type === undefined ? obj : obj[type];
    if (fields === null || typeof fields !== 'object') return;
    this.visit(type ?? bareType(obj), fields as Fields, executes, depth);
  }

  private visit(type: string, fields: Fields, executes: boolean, depth: number): void {
    if (type === 'FuncCall') this.addFunction(strings(fields.funcname).join('.').toLowerCase());
    else if (type === 'RangeVar') this.addObject('TABLE', rangeVarName(fields));
    else if (type === 'CommonTableExpr' && typeof fields.ctename === 'string') this.cteNames.add(fields.ctename);
    else if (DML.has(type) && depth > 0 && executes) this.nestedWrite = true;
    const runsChildren = executes && !deferredBody(type, fields);
    for (const k in fields) this.walk(fields[k], runsChildren, depth + 1);
  }

  /** RangeVars that name a CTE of the statement are not relations. */
  relations(): AuditObject[] {
    return this.objects.filter((o) => !(o.type === 'TABLE' && this.cteNames.has(o.name)));
  }
}

/** `{SelectStmt: {…}}` → 'SelectStmt'; a bare struct → undefined. */
function wrappedType(obj: Fields): string | undefined {
  let only: string | undefined;
  for (const k in obj) {
    if (only !== undefined) return undefined;
    only = k;
  }
  return only !== undefined && only.charCodeAt(0) >= 65 && only.charCodeAt(0) <= 90 ? only : undefined;
}

/** The node type of a bare struct field, from its fields. */
function bareType(obj: Fields): string {
  if (typeof obj.relname === 'string') return 'RangeVar';
  if (Array.isArray(obj.funcname) && 'funcformat' in obj) return 'FuncCall';
  return '';
}

/** Nodes whose sub-statements are stored or planned, not executed now. */
function deferredBody(type: string, f: Fields): boolean {
  if (type === 'ExplainStmt') return !explainAnalyzes(f);
  return type === 'PrepareStmt' || type === 'RuleStmt' || type === 'ViewStmt' || type === 'CreateFunctionStmt'
    || type === 'DeclareCursorStmt';
}

/** pgAudit's OBJECT_TYPE spelling for a DropStmt removeType. */
const OBJECT_TYPE_NAMES: Record<string, string> = {
  OBJECT_TABLE: 'TABLE', OBJECT_SEQUENCE: 'SEQUENCE', OBJECT_VIEW: 'VIEW', OBJECT_MATVIEW: 'MATERIALIZED VIEW',
  OBJECT_INDEX: 'INDEX', OBJECT_TYPE: 'TYPE', OBJECT_DOMAIN: 'DOMAIN', OBJECT_SCHEMA: 'SCHEMA',
  OBJECT_FOREIGN_TABLE: 'FOREIGN TABLE', OBJECT_EXTENSION: 'EXTENSION', OBJECT_FUNCTION: 'FUNCTION',
  OBJECT_PROCEDURE: 'PROCEDURE', OBJECT_ROUTINE: 'ROUTINE', OBJECT_TRIGGER: 'TRIGGER', OBJECT_POLICY: 'POLICY',
  OBJECT_FOREIGN_SERVER: 'SERVER', OBJECT_PUBLICATION: 'PUBLICATION', OBJECT_COLLATION: 'COLLATION',
};

const roleName = (spec: unknown): string => {
  const f = (spec && typeof spec === 'object' && 'RoleSpec' in spec ? (spec as Fields).RoleSpec : spec ?? {}) as Fields;
  return typeof f.rolename === 'string' ? f.rolename : '';
};

/** The object a DDL/ROLE statement creates or changes, where the tree says it plainly (best effort). */
function topObjects(c: Collector, type: string, f: Fields): void {
  switch (type) {
    case 'ViewStmt': c.addObject('VIEW', rangeVarName(f.view)); break;
    case 'CreateSeqStmt': case 'AlterSeqStmt': c.addObject('SEQUENCE', rangeVarName(f.sequence)); break;
    case 'IndexStmt': if (typeof f.idxname === 'string') c.addObject('INDEX', f.idxname); break;
    case 'CreateSchemaStmt': if (typeof f.schemaname === 'string') c.addObject('SCHEMA', f.schemaname); break;
    case 'CreateFunctionStmt':
      c.addObject(f.is_procedure ? 'PROCEDURE' : 'FUNCTION', strings(f.funcname).join('.').toLowerCase()); break;
    case 'CreateRoleStmt': if (typeof f.role === 'string') c.addObject('ROLE', f.role); break;
    case 'AlterRoleStmt': case 'AlterRoleSetStmt': c.addObject('ROLE', roleName(f.role)); break;
    case 'DropRoleStmt': for (const r of (f.roles as unknown[] | undefined) ?? []) c.addObject('ROLE', roleName(r)); break;
    case 'CreatedbStmt': case 'DropdbStmt': if (typeof f.dbname === 'string') c.addObject('DATABASE', f.dbname); break;
    case 'DropStmt': dropObjects(c, f); break;
    default: break;
  }
}

function dropObjects(c: Collector, f: Fields): void {
  const type = OBJECT_TYPE_NAMES[String(f.removeType)];
  if (!type) return;
  for (const obj of (f.objects as unknown[] | undefined) ?? []) {
    const t = nodeType(obj);
    const of = fieldsOf(obj);
    if (t === 'List') c.addObject(type, strings(of.items).join('.'));
    else if (t === 'String' && typeof of.sval === 'string') c.addObject(type, of.sval);
    else if (t === 'ObjectWithArgs') c.addObject(type, strings(of.objname).join('.'));
  }
}

/** Functions, objects and hidden writes of one raw statement node. */
export function treeFacts(stmt: unknown): TreeFacts {
  const c = new Collector();
  const type = nodeType(stmt) ?? '';
  topObjects(c, type, fieldsOf(stmt));
  c.walk(stmt, true, 0);
  return { functions: c.functions, objects: c.relations(), nestedWrite: c.nestedWrite };
}
