/**
 * A session tap (issue 6): sees the client's Query/Parse/Bind/Execute messages and the server's
 * CommandComplete/ErrorResponse/ReadyForQuery for one session, and turns them into statement
 * records (src/audit/log.ts writes them) and policy decisions (src/audit/policy.ts). It is
 * mode-agnostic: the session relay (session mode) and PooledClient (transaction and statement
 * mode) feed it the messages their walkers read, and act on its verdicts. Sessions with no audit
 * class selected and no policy rule get no tap at all, so their fast paths are untouched.
 *
 * A refused statement never reaches the server: the session sends {@link StatementTap.replacement}
 * instead (a DO block that raises 42501 there, so an open transaction block fails exactly as
 * PostgreSQL would fail it), and the tap swaps the server's error for the client's 42501 naming
 * the rule.
 */
import { wire } from '../errors.js';
import { prebuiltRecord, tapStatementRecord } from './format.js';
import * as be from '../protocol/backend/encode.js';
import { BackendCode as B } from '../protocol/codes.js';
import { decide, type SessionPolicy } from './policy.js';
import { bindParameters, errorCode, refusalBind, refusalParse, refusalQuery, tagRows } from './tap-wire.js';
import { Outstanding, OutstandingQueue, Kind } from './tap-queue.js';
import { ENTRY_COMMAND_COMPLETE, entryCommandCompleteLength, entryTemplate, type Template } from './prebuilt.js';
import type { AuditClassName, AuditSessionInfo, Classification, ClassifiedStatement, PolicyRecord, StatementRecord } from './types.js';

/** What the classifier offers the tap (src/audit/classify.ts). */
export interface StatementClassifier {
  classify(text: string): Classification | Promise<Classification>;
}

/** What the record writer offers the tap (src/audit/log.ts AuditLog). */
export interface AuditWriter {
  write(rec: StatementRecord | PolicyRecord): void;
  /**
   * A simple Query's record from a prebuilt entry (prebuilt.ts): what {@link write} would get from
   * tapStatementRecord() with substatement 1 and this template, but with the statement text as
   * its JSON string: the latin1 bytes of the entry `m` from `textAt` on (`m` is a view the writer
   * may keep, not change). Writers without it get the record.
   */
  writePrebuilt?(info: AuditSessionInfo, statementId: number, t: Template, m: Buffer, textAt: number, durationMs: number, rows: number): void;
  readonly accepting: boolean;
  whenAccepting(): Promise<void>;
  /** Calls `fn` each time the writer may have stopped accepting; returns the unsubscribe. */
  onBlock?(fn: () => void): () => void;
}

/** Everything a tap needs, decided once at session start. */
export interface TapOptions {
  info: AuditSessionInfo;
  classifier: StatementClassifier;
  /** Null when the session's statements are not recorded. */
  writer: AuditWriter | null;
  /** The classes recorded (`audit.log` for this role and database); empty: none. */
  classes: ReadonlySet<AuditClassName>;
  /** `audit.log_parameter`. */
  logParameter: boolean;
  /** The policy rules for this session; null: none. */
  rules: SessionPolicy | null;
  /** A refusal's log line (never the statement text). */
  onRefused?: (e: { rule: string; class: string; command: string; statement_id: number }) => void;
}

/** A tap's answer for a client message. */
export const Verdict = {
  /** Send it as it came. */
  Forward: 0,
  /** Send {@link StatementTap.replacement} instead. */
  Replace: 1,
  /** Not decided yet: hold the stream; offer the message again once {@link StatementTap.held} settles. */
  Hold: 2,
} as const;

/** A Parse'd statement as the tap knows it. */
interface Prepared {
  c: Classification;
  /** The rule that refused it ('' when allowed): its Binds lose their parameters and its Executes fail. */
  refused: string;
}

const UNCLASSIFIABLE: Classification = Object.freeze({
  statements: [Object.freeze({ class: 'MISC', command: 'UNKNOWN', objects: [], functions: [], text: '' })] as ClassifiedStatement[],
  unparsed: true,
  redacted: '',
});

export class StatementTap {
  /** After Verdict.Replace: what to send instead. */
  replacement: Buffer = refusalQuery;
  /** After Verdict.Hold: settles when the message may be offered again. */
  held: Promise<void> = Promise.resolve();
  readonly #o: TapOptions;
  readonly #recording: boolean;
  readonly #queue = new OutstandingQueue();
  readonly #statements = new Map<string, Prepared>();
  readonly #portals = new Map<string, { stmt: Prepared | undefined; params: (string | null)[] | undefined; name: string }>();
  #statementId = 0;
  /** A classification that arrived from the worker thread, for the message offered again. */
  #ready: { text: string; c: Classification | null } | null = null;

  constructor(options: TapOptions) {
    this.#o = options;
    this.#recording = options.writer !== null && options.classes.size > 0;
  }

  // client → server

  /**
   * Whether the session's statements may be recorded after the server has them (the native
   * relay's mirror, src/session/tap-mirror.ts): only when no policy rule must decide first.
   */
  get mirrorable(): boolean {
    return this.#o.rules === null;
  }

  /** Resolves when the writer accepts records (at once when it does now, or records nothing). */
  whenAccepting(): Promise<void> {
    return this.#recording ? this.#o.writer!.whenAccepting() : Promise.resolve();
  }

  /** See {@link AuditWriter.onBlock}; a tap that records nothing is never blocked. */
  onBlock(fn: () => void): () => void {
    return (this.#recording && this.#o.writer?.onBlock?.(fn)) || (() => undefined);
  }

  // `now` below is a monotonic time in ms (performance.now(), or the native relay's clock when it
  // mirrors the session): only differences of times given to one tap are used (durations).

  /** A simple Query. */
  query(m: Buffer, now = performance.now()): number {
    if (this.#mustWaitForSink()) return Verdict.Hold;
    const text = m.toString('utf8', 5, m.length - 1);
    const c = this.#classify(text);
    if (c === null) return Verdict.Hold;
    this.#simpleQuery();
    const e = this.#queue.push(Kind.Query);
    e.statementId = ++this.#statementId;
    e.c = c;
    e.start = now;
    const refused = this.#refusal(c, e.statementId);
    if (!refused) return Verdict.Forward;
    e.refused = refused;
    this.replacement = refusalQuery;
    return Verdict.Replace;
  }

  /**
   * A simple Query the native relay saw answered by one CommandComplete and ReadyForQuery, as one
   * prebuilt entry (native/fastrec.h): `m` is the entry's message, `at` the Query's read time and
   * `doneAt` the CommandComplete's (both on the scale of `now`). Records what {@link query} and
   * {@link server} would have for those three. false: held (offer it again once {@link held} settles).
   */
  prebuilt(m: Buffer, at: number, doneAt: number): boolean {
    if (this.#mustWaitForSink()) return false;
    this.#simpleQuery();
    const statementId = ++this.#statementId;
    const t = entryTemplate(m);
    if (!t) throw new Error('a prebuilt entry names an unknown template');
    if (!this.#recording || !this.#o.classes.has(t.className)) return true;
    const clen = entryCommandCompleteLength(m);
    const rows = tagRows(m, ENTRY_COMMAND_COMPLETE, clen);
    const textAt = ENTRY_COMMAND_COMPLETE + clen;
    const durationMs = durationBetween(at, doneAt);
    const w = this.#o.writer!;
    if (w.writePrebuilt) w.writePrebuilt(this.#o.info, statementId, t, m, textAt, durationMs, rows);
    else w.write(prebuiltRecord(this.#o.info, statementId, t, m.toString('latin1', textAt), durationMs, rows));
    return true;
  }

  /** A Parse: classified and decided now; recorded when its portal is executed. */
  parse(m: Buffer): number {
    const nameEnd = m.indexOf(0, 5);
    const name = m.toString('utf8', 5, nameEnd);
    const text = m.toString('utf8', nameEnd + 1, m.indexOf(0, nameEnd + 1));
    const c = this.#classify(text);
    if (c === null) return Verdict.Hold;
    const refused = this.#o.rules ? this.#decision(c) : '';
    this.#statements.set(name, { c, refused });
    if (!refused) return Verdict.Forward;
    this.replacement = refusalParse(name);
    return Verdict.Replace;
  }

  /** A Bind: ties a portal to its statement (and, with log_parameter, to its parameter values). */
  bind(m: Buffer): number {
    const portalEnd = m.indexOf(0, 5);
    const stmtEnd = m.indexOf(0, portalEnd + 1);
    const name = m.toString('utf8', portalEnd + 1, stmtEnd);
    const stmt = this.#statements.get(name);
    let params = this.#recording && this.#o.logParameter && stmt && !stmt.refused ? bindParameters(m) : undefined;
    // The classifier saw a secret-taking call (dblink_connect($1), pgp_sym_encrypt($1, $2)): its values stay out of every record.
    if (params && stmt?.c.sensitive) params = params.map(() => '<REDACTED>');
    this.#portals.set(m.toString('utf8', 5, portalEnd), { stmt, params, name });
    if (!stmt?.refused) return Verdict.Forward;
    this.replacement = refusalBind(m);
    return Verdict.Replace;
  }

  /** An Execute: one statement record (and id) per Execute. */
  execute(m: Buffer, now = performance.now()): number {
    if (this.#mustWaitForSink()) return Verdict.Hold;
    const portal = this.#portals.get(m.toString('utf8', 5, m.indexOf(0, 5)));
    const e = this.#queue.push(Kind.Execute);
    e.statementId = ++this.#statementId;
    e.start = now;
    if (portal?.stmt) {
      e.c = portal.stmt.c;
      e.params = portal.params;
      e.name = portal.name;
      e.refused = portal.stmt.refused;
      if (e.refused) this.#recordRefusal(portal.stmt.c, e.refused, e.statementId);
    }
    return Verdict.Forward;
  }

  /** A Close of a statement or portal. */
  close(m: Buffer): void {
    const name = m.toString('utf8', 6, m.length - 1);
    if (m[5] === 0x53 /* S */) this.#statements.delete(name);
    else this.#portals.delete(name);
  }

  /** A Sync: the server answers it with ReadyForQuery, and an error skips everything before it. */
  sync(): void {
    this.#queue.push(Kind.Sync);
  }

  /**
   * A fastpath FunctionCall names its function by OID only, so a session with rules that look at
   * what runs (read_only, deny_functions, allow_only) refuses it.
   */
  functionCall(): number {
    const e = this.#queue.push(Kind.Query);
    const rules = this.#o.rules;
    if (!rules?.some((r) => r.readOnly || r.denyFunctions.size > 0 || r.allowOnly !== null)) return Verdict.Forward;
    e.refused = `${rules.find((r) => r.readOnly || r.denyFunctions.size > 0 || r.allowOnly !== null)!.name}: a fastpath function call (the door cannot see which function it runs)`;
    this.#o.onRefused?.({ rule: e.refused, class: 'FUNCTION', command: 'FUNCTION CALL', statement_id: ++this.#statementId });
    this.replacement = refusalQuery;
    return Verdict.Replace;
  }

  // server → client

  /**
   * A server message the session's walker read (CommandComplete, EmptyQueryResponse,
   * PortalSuspended, ErrorResponse, ReadyForQuery). Returns a replacement to send to the client
   * instead, or null to forward it.
   */
  server(type: number, m: Buffer, now = performance.now()): Buffer | null {
    switch (type) {
      case B.CommandComplete:
        this.#completed(tagRows(m), '', now);
        return null;
      case B.EmptyQueryResponse:
      case B.PortalSuspended:
        this.#completed(-1, '', now);
        return null;
      case B.ErrorResponse:
        return this.#failed(m, now);
      case B.ReadyForQuery:
        this.#queue.popThroughReady();
        return null;
      default:
        return null;
    }
  }

  /** The message types {@link server} wants to read. */
  static readonly serverReads = (type: number): boolean =>
    type === B.CommandComplete || type === B.ErrorResponse || type === B.ReadyForQuery || type === B.EmptyQueryResponse || type === B.PortalSuspended;

  // internals

  /** A statement finished: the head Query's next part, or the head Execute. */
  #completed(rows: number, sqlstate: string, now: number): void {
    const e = this.#queue.head;
    if (!e) return;
    if (e.kind === Kind.Execute) {
      this.#record(e, 0, rows, sqlstate, now);
      this.#queue.shift();
    } else if (e.kind === Kind.Query && !e.refused && !e.failed) {
      this.#record(e, e.sub, rows, sqlstate, now);
      e.sub++;
      e.start = now;
    }
  }

  /** An ErrorResponse: recorded, and the refusal's own error swapped for the client's 42501. */
  #failed(m: Buffer, now: number): Buffer | null {
    const e = this.#queue.head;
    if (!e || e.kind === Kind.Sync) return null;
    const code = errorCode(m);
    const refused = e.refused;
    // 25P02 (the transaction was already failed) goes through as PostgreSQL would send it.
    const out = refused && code === '42501' ? be.errorResponse(wire.policyDenied(refused)) : null;
    if (!refused) this.#completed(-1, code, now);
    // The server skips to the next Sync (extended) or ends the Query: nothing else of it runs.
    if (e.kind === Kind.Execute) this.#queue.dropUntilSync();
    else e.failed = true;
    return out;
  }

  #record(e: Outstanding, index: number, rows: number, sqlstate: string, now: number): void {
    const c = e.c;
    if (!this.#recording || !c || e.refused) return;
    const st = c.statements[Math.min(index, c.statements.length - 1)];
    if (!st || !this.#o.classes.has(st.class.toLowerCase() as AuditClassName)) return;
    const rec = tapStatementRecord(this.#o.info, e.statementId, index + 1, st, durationBetween(e.start, now));
    if (e.params) rec.parameters = e.params;
    if (e.kind === Kind.Execute) rec.statement_name = e.name;
    if (rows >= 0) rec.rows = rows;
    if (sqlstate) rec.sqlstate = sqlstate;
    if (c.unparsed) rec.unparsed = true;
    this.#o.writer!.write(rec);
  }

  /** A simple Query destroys the unnamed statement and portal (protocol-flow "Simple Query"). */
  #simpleQuery(): void {
    this.#statements.delete('');
    this.#portals.delete('');
  }

  /** The refusing rule for a simple Query ('' when allowed), recorded and logged. */
  #refusal(c: Classification, statementId: number): string {
    if (!this.#o.rules) return '';
    const rule = this.#decision(c);
    if (rule) this.#recordRefusal(c, rule, statementId);
    return rule;
  }

  #decision(c: Classification): string {
    const d = decide(this.#o.rules!, c);
    return d.allow ? '' : d.rule;
  }

  #recordRefusal(c: Classification, rule: string, statementId: number): void {
    const st = refusedPart(c, this.#o.rules!);
    this.#o.onRefused?.({ rule, class: st.class, command: st.command, statement_id: statementId });
    this.#o.writer?.write({ kind: 'policy', ...this.#o.info, statement_id: statementId, class: st.class, command: st.command, rule, statement: c.redacted });
  }

  /** The classification, or null after starting a worker-thread one (the message is held). */
  #classify(text: string): Classification | null {
    const ready = this.#ready;
    if (ready && ready.text === text) {
      this.#ready = null;
      return ready.c ?? UNCLASSIFIABLE;
    }
    const c = this.#o.classifier.classify(text);
    if (!(c instanceof Promise)) return c;
    this.held = c.then(
      (v) => void (this.#ready = { text, c: v }),
      () => void (this.#ready = { text, c: null }),
    );
    return null;
  }

  /** on_sink_failure: block — new statements of a recorded session wait while the sink refuses records. */
  #mustWaitForSink(): boolean {
    const w = this.#o.writer;
    if (!this.#recording || !w || w.accepting) return false;
    this.held = w.whenAccepting();
    return true;
  }
}

/** A record's `duration_ms`: from a statement's read time to its result's, to the microsecond (both record paths). */
function durationBetween(start: number, end: number): number {
  return Math.round((end - start) * 1000) / 1000;
}

/** The part of a refused text that the rules refuse (for the record's class and command). */
function refusedPart(c: Classification, rules: SessionPolicy): ClassifiedStatement {
  for (const st of c.statements) if (!decide(rules, { ...c, statements: [st] }).allow) return st;
  return c.statements[0] ?? UNCLASSIFIABLE.statements[0]!;
}
