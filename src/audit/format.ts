/**
 * The two record formats (docs/audit-log.md, "Formats"):
 * - `pgaudit`: a PostgreSQL log line, `log_line_prefix = '%m [%p] %u@%d '` with gatehouse's session
 *   id as %p, then pgAudit's `AUDIT: SESSION,…` text, so existing pgAudit pipelines match;
 * - `json`: one object a line with every field (the chain fields are added by chain.ts).
 * Statement text is printed exactly as the classifier redacted it; nothing here rewrites it.
 */
import type { ConnectionEvent, SessionEndEvent } from '../events.js';
import type { Template } from './prebuilt.js';
import type { AuditClassName, AuditSessionInfo, PolicyRecord, StatementRecord } from './types.js';

/** A connection attempt's record (every attempt: success, failure, abandoned, cancel). */
export interface ConnectionRecord extends Omit<ConnectionEvent, 'authenticated'> {
  kind: 'connection';
  authenticated?: boolean;
}

/** A session's end: its duration and bytes. */
export interface DisconnectionRecord extends Omit<SessionEndEvent, 'counters'> {
  kind: 'disconnection';
}

/** The writer's own record: a torn last line found when a file was reopened (docs/audit-log.md, "Restarts"). */
export interface ChainRecord {
  kind: 'chain';
  event: 'torn_tail';
  /** Each file whose last line was cut short: the bytes left there and their SHA-256. */
  torn: { file: string; bytes: number; sha256: string }[];
}

export type AuditRecord = StatementRecord | PolicyRecord | ConnectionRecord | DisconnectionRecord | ChainRecord;

/** How a record is printed, fixed by the settings that were current when it was written. */
export interface FormatOptions {
  logParameter: boolean;
  logRelation: boolean;
}

/**
 * pgaudit.c append_valid_csv(): quote when the value holds `"`, `,`, CR or LF, doubling quotes;
 * a missing value prints nothing.
 */
export function csvField(value: string | undefined | null): string {
  if (value === undefined || value === null) return '';
  if (!/[",\r\n]/.test(value)) return value;
  return `"${value.replaceAll('"', '""')}"`;
}

/** `%m`: PostgreSQL's timestamp with milliseconds (`2026-12-04 02:30:00.123 UTC`). */
export function pgTimestamp(d: Date): string {
  return `${d.toISOString().replace('T', ' ').slice(0, 23)} UTC`;
}

/** A prefix field: PostgreSQL prints `[unknown]` for a missing user or database; control characters would split the line. */
const prefixField = (v: string | undefined): string => (v ? v.replace(/[\x00-\x1f\x7f]/g, '?') : '[unknown]');

function prefix(time: Date, session: number, user: string | undefined, database: string | undefined): string {
  return `${pgTimestamp(time)} [${session}] ${prefixField(user)}@${prefixField(database)} LOG:  `;
}

/**
 * PARAMETER: `<not logged>` when log_parameter is off; `<none>` when there are none; else each value
 * CSV-quoted (NULL as nothing), joined by commas, and the whole list CSV-quoted again (pgaudit.c).
 */
export function parameterField(params: readonly (string | null)[] | undefined, o: FormatOptions): string {
  if (!o.logParameter) return '<not logged>';
  if (!params || params.length === 0) return '<none>';
  return csvField(params.map((p) => csvField(p)).join(','));
}

/** pgAudit prints MISC_SET as MISC. */
const printedClass = (c: string): string => (c === 'MISC_SET' ? 'MISC' : c);

/** Classes whose objects pgAudit prints only with log_relation (it finds them in the executor's range table). */
const RELATION_CLASSES = new Set(['READ', 'WRITE']);

/** `AUDIT: SESSION,…` lines of a statement record: one, or one per object with log_relation. */
export function statementAuditTexts(r: StatementRecord, o: FormatOptions): string[] {
  const tail = `${csvField(r.statement)},${parameterField(r.parameters, o)}`;
  const head = `AUDIT: SESSION,${r.statement_id},${r.substatement_id},${printedClass(r.class)},${csvField(r.command)}`;
  const relationOnly = RELATION_CLASSES.has(r.class);
  const objects = relationOnly ? (o.logRelation ? r.objects : []) : r.objects.slice(0, 1);
  if (objects.length === 0) return [`${head},,,${tail}`];
  return objects.map((ob) => `${head},${csvField(ob.type)},${csvField(ob.name)},${tail}`);
}

/**
 * A value in a connection line: bare, or double-quoted (quotes doubled) when it holds a space, a
 * quote, a comma, `=`, CR or LF, so `key=value` pairs split unambiguously.
 */
export function kvValue(v: string | number): string {
  const s = String(v);
  return /[\s",=]/.test(s) || s === '' ? `"${s.replaceAll('"', '""')}"` : s;
}

const kv = (pairs: [string, string | number | undefined][]): string =>
  pairs.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${kvValue(v!)}`).join(' ');

function connectionText(r: ConnectionRecord): string {
  const verb = { success: 'connection authorized', failure: 'connection failed', abandoned: 'connection abandoned', cancel: 'cancel request' }[r.outcome];
  const pairs = kv([
    ['sqlstate', r.sqlstate], ['user', r.user], ['database', r.database], ['application_name', r.application_name],
    ['host', r.client.address], ['port', r.client.port], ['replication', r.replication],
    ['hba', r.hba ? `${r.hba.file}:${r.hba.line}` : undefined], ['method', r.method],
  ]);
  // PostgreSQL's log_connections wording for TLS: "SSL enabled (protocol=…, cipher=…)".
  const tls = r.tls ? ` SSL enabled (protocol=${r.tls.version}, cipher=${r.tls.cipher}${r.tls.direct ? ', direct' : ''})` : '';
  const reason = r.reason !== undefined ? ` ${kv([['reason', r.reason]])}` : '';
  return `${verb}: ${pairs}${tls}${reason} duration_ms=${r.duration_ms}`;
}

/** PostgreSQL's log_disconnections: `session time: H:MM:SS.mmm`. */
export function sessionTime(ms: number): string {
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}.${String(Math.floor(ms % 1000)).padStart(3, '0')}`;
}

function disconnectionText(r: DisconnectionRecord): string {
  return `disconnection: session time: ${sessionTime(r.duration_ms)} ${kv([['user', r.user], ['database', r.database],
    ['host', r.client.address], ['port', r.client.port], ['bytes_in', r.bytes_in], ['bytes_out', r.bytes_out], ['reason', r.reason]])}`;
}

/** A refusal: pgAudit's field layout with type POLICY (never SESSION, so SESSION filters skip it) and the rule as the last field. */
function policyText(r: PolicyRecord): string {
  return `AUDIT: POLICY,${r.statement_id},1,${printedClass(r.class)},${csvField(r.command)},,,${csvField(r.statement)},${csvField(r.rule)}`;
}

/** The `pgaudit` format's lines for one record (none for the writer's own chain records). */
export function pgauditLines(r: AuditRecord, time: Date, o: FormatOptions): string[] {
  switch (r.kind) {
    case 'statement':
      return statementAuditTexts(r, o).map((t) => prefix(time, r.session, r.user, r.database) + t);
    case 'policy':
      return [prefix(time, r.session, r.user, r.database) + policyText(r)];
    case 'connection':
      return [prefix(time, r.session, r.user, r.database) + connectionText(r)];
    case 'disconnection':
      return [prefix(time, r.session, r.user, r.database) + disconnectionText(r)];
    case 'chain':
      return [];
  }
}

/** Field names never written, whatever a record carries (defense in depth for invariant 4). */
const FORBIDDEN = /^(password|secret)$/i;

/**
 * The JSON record's fields, in a stable order: `time`, then the record's own. Parameters are left
 * out when log_parameter is off; a field named password or secret is never written. This runs for
 * every record, so the common case (no such field anywhere) is one walk and one shallow copy.
 */
export function jsonFields(r: AuditRecord, time: Date, o: FormatOptions): Record<string, unknown> {
  const out: Record<string, unknown> = { time: time.toISOString(), ...r };
  if (!o.logParameter && out.parameters !== undefined) out.parameters = undefined;
  return hasForbiddenKey(r, 0) ? (scrub(out) as Record<string, unknown>) : out;
}

let lastMs = NaN;
let lastIso = '';
/** `toISOString()`, kept for the millisecond: thousands of records a second share a handful of stamps. */
export function isoTime(d: Date): string {
  const ms = d.getTime();
  if (ms !== lastMs) [lastMs, lastIso] = [ms, d.toISOString()];
  return lastIso;
}

/** A key named password or secret in serialised JSON (any key is written `"name":`; a hit in a value only costs the slow path). */
const FORBIDDEN_KEY_TEXT = /"(?:password|secret)":/i;

/**
 * Marks a statement record built by {@link tapStatementRecord}: its keys are exactly those, in that
 * order, so jsonText() can write it from cached parts (a symbol: JSON and spreads leave it out of the text).
 */
const TAP_SHAPE: unique symbol = Symbol('tap statement record');

/**
 * A statement record as the session taps make one (src/audit/tap.ts), in the key order the JSON
 * line has; the caller may then set, in this order, parameters, statement_name, rows, sqlstate and
 * unparsed (any other key, or another order, and the record must not come from here). jsonText()
 * writes such a record without serialising the session's fields or the classification's objects
 * again: the same text JSON.stringify would give (tested).
 */
export function tapStatementRecord(
  info: AuditSessionInfo,
  statementId: number, substatementId: number, st: { class: StatementRecord['class']; command: string; objects: StatementRecord['objects']; text: string },
  durationMs: number,
): StatementRecord {
  const rec: StatementRecord = {
    kind: 'statement', session: info.session, user: info.user, database: info.database, client: info.client,
    application_name: info.application_name,
    statement_id: statementId, substatement_id: substatementId, class: st.class, command: st.command, objects: st.objects,
    statement: st.text, duration_ms: durationMs,
  };
  (rec as unknown as Record<symbol, boolean>)[TAP_SHAPE] = true;
  return rec;
}

/** Per client object (one per session): its session fields as JSON, while they stay the same. */
const sessionParts = new WeakMap<object, { session: number; user: string; database: string; app: string | undefined; json: string }>();
/** Per objects array (shared by every record of a cached classification): its JSON. */
const objectsParts = new WeakMap<object, string>();

/** A session's fields as a statement record has them, without braces (cached per session while they stay the same). */
export function sessionPart(r: AuditSessionInfo): string {
  const c = sessionParts.get(r.client);
  if (c && c.session === r.session && c.user === r.user && c.database === r.database && c.app === r.application_name) return c.json;
  const json = JSON.stringify({ session: r.session, user: r.user, database: r.database, client: r.client, application_name: r.application_name }).slice(1, -1);
  sessionParts.set(r.client, { session: r.session, user: r.user, database: r.database, app: r.application_name, json });
  return json;
}

function objectsPart(objects: StatementRecord['objects']): string {
  let json = objectsParts.get(objects);
  if (json === undefined) objectsParts.set(objects, (json = JSON.stringify(objects)));
  return json;
}

/** JSON.stringify of a finite number or a value that may be undefined (then the key is left out). */
const opt = (key: string, v: unknown): string => (v === undefined ? '' : `,"${key}":${JSON.stringify(v)}`);

function tapStatementJson(r: StatementRecord, time: string, o: FormatOptions): string {
  return `{"time":"${time}","kind":"statement",${sessionPart(r)},"statement_id":${r.statement_id},"substatement_id":${r.substatement_id}`
    + `,"class":${JSON.stringify(r.class)},"command":${JSON.stringify(r.command)},"objects":${objectsPart(r.objects)}`
    + `,"statement":${JSON.stringify(r.statement)}${opt('duration_ms', r.duration_ms)}${o.logParameter ? opt('parameters', r.parameters) : ''}`
    + `${opt('statement_name', r.statement_name)}${opt('rows', r.rows)}${opt('sqlstate', r.sqlstate)}${opt('unparsed', r.unparsed)}}`;
}

/** The statement record a prebuilt entry stands for (for a writer or sink that wants the record, not its JSON text). */
export function prebuiltRecord(info: AuditSessionInfo, statementId: number, t: Template, statementJson: string, durationMs: number, rows: number): StatementRecord {
  const rec = tapStatementRecord(info, statementId, 1, { ...t.st, text: JSON.parse(statementJson) as string }, durationMs);
  if (rows >= 0) rec.rows = rows;
  return rec;
}

/**
 * A prebuilt simple-Query record (src/audit/prebuilt.ts) as text: the same as tapStatementJson()
 * of the record tapStatementRecord() makes with substatement 1 (tested), with the template's
 * class, command and objects and the statement text already JSON-quoted. `session`: sessionPart()
 * of the record's session. native/auditline.h writes the same line (with the chain's fields).
 */
export function prebuiltStatementJson(session: string, statementId: number, part: string, statementJson: string, durationMs: number, rows: number, time: Date): string {
  return `{"time":"${isoTime(time)}","kind":"statement",${session},"statement_id":${statementId},"substatement_id":1,${part}`
    + `,"statement":${statementJson}${opt('duration_ms', durationMs)}${rows >= 0 ? `,"rows":${rows}` : ''}}`;
}

/**
 * The JSON record as text, the same as `JSON.stringify(jsonFields(r, time, o))`: a tap's statement
 * record is written from cached parts (its keys are fixed, none forbidden; the session's fields and
 * the classification's objects are serialised once); the common record (no parameters to leave
 * out, no forbidden key anywhere) is serialised once with `time` put in front, with no copy and no
 * walk; anything else takes jsonFields().
 */
export function jsonText(r: AuditRecord, time: Date, o: FormatOptions): string {
  if ((r as unknown as Record<symbol, boolean>)[TAP_SHAPE] === true && !(r as StatementRecord).denied) {
    return tapStatementJson(r as StatementRecord, isoTime(time), o);
  }
  if (o.logParameter || (r as { parameters?: unknown }).parameters === undefined) {
    const own = JSON.stringify(r);
    if (!FORBIDDEN_KEY_TEXT.test(own)) return own.length > 2 ? `{"time":"${isoTime(time)}",${own.slice(1)}` : `{"time":"${isoTime(time)}"}`;
  }
  return JSON.stringify(jsonFields(r, time, o));
}

function hasForbiddenKey(v: unknown, depth: number): boolean {
  if (!v || typeof v !== 'object' || depth > 8) return false;
  if (Array.isArray(v)) return v.some((x) => hasForbiddenKey(x, depth + 1));
  for (const k in v) {
    if ((k.length === 8 || k.length === 6) && FORBIDDEN.test(k)) return true;
    if (hasForbiddenKey((v as Record<string, unknown>)[k], depth + 1)) return true;
  }
  return false;
}

function scrub(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(scrub);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).filter(([k, x]) => !FORBIDDEN.test(k) && x !== undefined).map(([k, x]) => [k, scrub(x)]));
  }
  return v;
}

/** The record's class name for `audit.log` selection. */
export const classNameOf = (c: StatementRecord['class']): AuditClassName => c.toLowerCase() as AuditClassName;
