/**
 * A client in transaction or statement mode. It holds a server connection only from its first
 * message until the ReadyForQuery 'I' that ends its transaction (PgBouncer's model): the server goes
 * back when its output is forwarded, its status is idle, nothing is outstanding and no COPY is
 * open. On the way in, Query and Parse text is checked for session state, and prepared-statement
 * names are mapped to the server-side ones (src/pool/prepared.ts); everything else is forwarded as
 * the chunks came.
 */
import type { Socket } from 'node:net';
import { PassThrough, type Duplex } from 'node:stream';
import { wire, type WireError } from '../errors.js';
import type { PoolSettings } from '../config/schema.js';
import { FrontendCode as F, frontendMessageCap } from '../protocol/codes.js';
import * as be from '../protocol/backend/encode.js';
import { ProtocolError } from '../protocol/errors.js';
import { sendCancel, type CancelRegistry, type CancelSource, type CancelTarget } from '../session/cancel.js';
import type { SessionCounters } from '../session/counters.js';
import { MessageWalker, Walk, type WalkHandler } from './walker.js';
import { Req } from './requests.js';
import { noopClose, noopParse, type PreparedStatement } from './prepared.js';
import { detectHazards, hazardNames } from './hazards.js';
import { Verdict, type StatementTap } from '../audit/tap.js';
import { verdictFor } from '../session/tapped-relay.js';
import { TapMirror } from '../session/tap-mirror.js';
import { adoptDescriptor, closeDescriptor, mirrorBarrier, releaseSocket } from '../session/native-relay.js';
import type { ServerClient, ServerConn } from './server.js';
import type { Pool } from './pool.js';
import { nativePlaneTotals, startReading, statementMap, TxReason, type Escalation, type NativeClientRow } from './native-plane.js';

function ignoreError(): void {}

/** A lent client's `socket`: Node's own was let go, so nothing must be written to or read from this one. */
const PARKED: Duplex = new PassThrough().on('error', ignoreError);
PARKED.destroy();

/** PgBouncer's client states (SHOW CLIENTS `state`): active (linked or idle between transactions), waiting, login. */
export type ClientState = 'login' | 'idle' | 'waiting' | 'active' | 'closed';

export interface PooledClientInfo {
  id: number;
  /** Taken by the PooledClient (and dropped here), which replaces it while the native plane carries the client. */
  socket: Duplex;
  user: string;
  database: string;
  address: string;
  port: number | undefined;
  /** The client's own cancel key (gatehouse's), routed to whatever server it holds. */
  cancelPid: number;
  cancelKey: number;
  /** Startup parameters to apply (user, database, replication removed); read once at start() into `vars`, then let go. */
  startupParams: ReadonlyMap<string, string>;
  /** The session's SHOW STATS / metrics counters, fed the forwarded chunks of both legs. */
  counters?: SessionCounters;
  /** Statement records and policy (issue 6); absent for sessions with neither. */
  tap?: StatementTap | null;
}

const STATUS_IDLE = 0x49;
/** Hand-backs for a message (PLANE_MESSAGES) after which a client is no longer lent to the native plane. */
const MAX_HAND_BACKS = 8;
/** Messages that start what the plane carries (or nearly: a Parse or Close in a batch); handed back for them, a client is lent again. */
const PLANE_MESSAGES = new Set<number>([F.Query, F.Parse, F.Bind, F.Describe, F.Execute, F.Sync, F.Close]);
const CANONICAL: Record<string, string> = { datestyle: 'DateStyle', timezone: 'TimeZone', intervalstyle: 'IntervalStyle' };

export class PooledClient implements WalkHandler, ServerClient, CancelSource {
  /**
   * The client's socket. While the native plane carries the client this is PARKED: Node's socket
   * was let go (the plane holds the descriptor; an idle client's net.Socket and its handle were
   * about a quarter of what it cost), and a new one is made when the plane gives the client back.
   */
  socket: Duplex;
  /** While parked: the 'close' listeners of the socket that was let go (the guard's connection count among them). */
  #parkedClose: Array<(hadError: boolean) => void> | null = null;
  readonly connectTime = Date.now();
  state: ClientState = 'login';
  server: ServerConn | null = null;
  /** In the pool's FIFO. */
  waiting = false;
  waitSince = 0;
  /** Last client or server activity. */
  requestTime = Date.now();
  /**
   * The client's parameter values; null: the server default. Once the login is over, the map is the
   * pool's shared one for these values (Pool.sharedVars) until a value changes: #setVar copies it first.
   */
  #vars: Map<string, string | null> = new Map();
  #varsShared = false;
  /** Client statement name → server statement; made at the first Parse (a client that never prepared holds no Map). */
  #statements: Map<string, PreparedStatement> | null = null;
  /** The client's parameter values (read-only: a change goes through #setVar). */
  get vars(): ReadonlyMap<string, string | null> {
    return this.#vars;
  }
  /** Session state (Hazard bits) that pins the client to its server. */
  hazards = 0;
  bytesIn = 0;
  bytesOut = 0;
  /** The native transaction plane carries it (src/pool/native-plane.ts): its id there, else -1. */
  nativeId = -1;
  readonly counters: SessionCounters | undefined;
  readonly tap: StatementTap | null;
  #pending: Buffer | null = null;
  /** A held statement's decision is awaited (the walker holds it). */
  #waitingForTap = false;
  /** Extended-protocol messages sent since the last Sync: the server is mid-batch. */
  #unsynced = false;
  /** The server is in copy-in mode and the client has not sent CopyDone/CopyFail: its Syncs are ignored. */
  #dropSyncs = false;
  #statementModeViolation = false;
  #internalPending = false;
  #xactStart = 0;
  #queryStart = 0;
  #endReason = '';
  /** Made at the first message, dropped while the plane carries the client (an idle client holds none). */
  #walker: MessageWalker | null = null;
  readonly #staged: Buffer[] = [];
  /** Told the reason once the client is gone (a callback, not a Promise: an idle client holds no promise and reaction). */
  #onEnd: ((reason: string) => void) | null = null;
  /** The reason, once ended (so a callback given after the end still hears it). */
  #endedWith: string | null = null;

  constructor(
    readonly info: PooledClientInfo,
    readonly pool: Pool,
    readonly cancels: CancelRegistry,
  ) {
    this.socket = info.socket;
    info.socket = PARKED;
    this.counters = info.counters;
    this.tap = info.tap ?? null;
  }

  /** Client statement name → server statement (SHOW CLIENTS counts them; the plane gets their map). */
  get statements(): ReadonlyMap<string, PreparedStatement> {
    return this.#statements ?? NO_STATEMENTS;
  }

  /** `f` is called once, with the reason, when the client is gone (its session's end: session.end, the cancel key, the count). */
  onEnd(f: (reason: string) => void): void {
    if (this.#endedWith !== null) return f(this.#endedWith);
    this.#onEnd = f;
  }

  #ended(reason: string): void {
    this.#endedWith = reason;
    const f = this.#onEnd;
    this.#onEnd = null;
    f?.(reason);
  }

  get pinned(): boolean {
    return this.hazards !== 0;
  }

  /** Starts: waits for a server to learn the parameters, sends the welcome, then serves. */
  start(leftover: Buffer): void {
    this.#initVars();
    if (leftover.length > 0) this.#pending = leftover;
    this.#listen(this.socket);
    this.socket.once('close', () => this.#closed());
    this.pool.clients.add(this);
    this.pool.enqueue(this);
  }

  /** The client's own listeners on (a paused) `socket`. */
  #listen(socket: Duplex): void {
    socket.pause();
    // Made per socket: a parked client (no socket) holds no listener closures.
    socket.on('data', (chunk: Buffer) => this.#data(chunk));
    socket.on('drain', () => this.server?.socket.resume());
    socket.on('error', ignoreError);
  }

  /** Lent: Node's socket goes (no FIN: the plane holds a duplicate of its descriptor), its 'close' listeners wait for the client's end. */
  #park(): void {
    this.#parkedClose = releaseSocket(this.socket as Socket);
    this.socket = PARKED;
  }

  /** Given back with the plane's descriptor: a new socket, paused, with the old one's listeners. */
  #unpark(fd: number): void {
    const onClose = this.#parkedClose ?? [];
    this.#parkedClose = null;
    // Ended meanwhile (its listeners ran then): nobody will read this descriptor.
    if (this.state === 'closed') return closeDescriptor(fd);
    const socket = adoptDescriptor(fd);
    if (!socket) {
      for (const f of onClose) f(true);
      return;
    }
    this.#listen(socket);
    for (const f of onClose) socket.once('close', f);
    this.socket = socket;
  }

  /** The client ended while parked: the let-go socket's 'close' listeners run now (once). */
  #unparkClosed(): void {
    const onClose = this.#parkedClose;
    this.#parkedClose = null;
    if (onClose) for (const f of onClose) f(false);
  }

  /** Called by the pool: `s` is ours until the transaction ends. */
  link(s: ServerConn): void {
    if (this.state === 'closed') {
      this.pool.release(s);
      return;
    }
    this.server = s;
    s.client = this;
    this.#xactStart = Date.now();
    if (s.backendKey) this.cancels.route(this.info.cancelPid, { host: s.addr.host, port: s.addr.port, ...s.backendKey });
    const sets = this.#setsFor(s);
    if (sets) {
      this.#internalPending = true;
      s.sendInternal(sets, (b) => s.socket.write(b));
    }
    if (this.state === 'login') {
      if (!this.#internalPending) this.#welcome();
      return;
    }
    this.state = 'active';
    this.#drainPending();
  }

  /** The client is failed with a FATAL (PgBouncer's disconnect_client) and closed. */
  fail(w: WireError): void {
    if (this.state === 'closed') return;
    this.#endReason ||= w.message;
    if (this.nativeId >= 0) {
      const id = this.nativeId;
      this.nativeId = -1;
      this.pool.plane?.closeClient(id, be.errorResponse(w), w.message);
      this.#closed();
      return;
    }
    if (!this.socket.destroyed) this.socket.end(be.errorResponse(w), () => this.socket.destroy());
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.#closed(true);
  }

  /** Timeouts, run by the janitor with the pool's settings (`row`: its state on the native plane). */
  janitor(now: number, st: PoolSettings, row?: Readonly<NativeClientRow>): void {
    if (this.nativeId >= 0) {
      if (row) this.#nativeJanitor(now, st, row);
      return;
    }
    const s = this.server;
    if (this.waiting) {
      if (st.query_wait_timeout > 0 && now - this.waitSince > st.query_wait_timeout) this.fail(wire.poolerError('query_wait_timeout'));
      return;
    }
    if (!s) {
      if (this.state === 'idle' && st.client_idle_timeout > 0 && now - this.requestTime > st.client_idle_timeout) this.fail(wire.poolerError('client_idle_timeout'));
      return;
    }
    const idleInTx = s.queue.length === 0 && s.status !== STATUS_IDLE;
    const last = Math.max(this.requestTime, s.requestTime);
    if (idleInTx && st.idle_transaction_timeout > 0 && now - last > st.idle_transaction_timeout) this.fail(wire.poolerError('idle transaction timeout'));
    else if (s.queue.rfqPending > 0 && st.query_timeout > 0 && now - this.#queryStart > st.query_timeout) {
      // PgBouncer cancels the query and drops both sides; closing the socket alone would leave the backend running it.
      if (s.backendKey) void sendCancel({ host: s.addr.host, port: s.addr.port, ...s.backendKey });
      this.fail(wire.poolerError('query timeout'));
    }
    else if (!s.clean && s.queue.length === 0 && st.client_idle_timeout > 0 && now - last > st.client_idle_timeout) this.fail(wire.poolerError('client_idle_timeout'));
  }

  /** The same timeouts for a client on the native plane, from its state there. */
  #nativeJanitor(now: number, st: PoolSettings, row: Readonly<NativeClientRow>): void {
    if (row.requestTime > 0) this.requestTime = row.requestTime;
    if (row.state === 'waiting') {
      if (st.query_wait_timeout > 0 && now - row.waitSince > st.query_wait_timeout) this.fail(wire.poolerError('query_wait_timeout'));
    } else if (row.state === 'idle') {
      if (st.client_idle_timeout > 0 && now - row.requestTime > st.client_idle_timeout) this.fail(wire.poolerError('client_idle_timeout'));
    } else if (row.outstanding === 0 && row.status !== STATUS_IDLE) {
      if (st.idle_transaction_timeout > 0 && now - row.requestTime > st.idle_transaction_timeout) this.fail(wire.poolerError('idle transaction timeout'));
    } else if (row.outstanding > 0 && st.query_timeout > 0 && now - row.requestTime > st.query_timeout) {
      const s = row.server === null ? null : this.pool.plane?.server(row.server);
      if (s?.backendKey) void sendCancel({ host: s.addr.host, port: s.addr.port, ...s.backendKey });
      this.fail(wire.poolerError('query timeout'));
    }
  }

  /**
   * The plane gave the client back (txplane.h tx_escalate): with its server when it was linked,
   * what the server reported while linked, and the bytes the plane did not forward.
   */
  fromNative(e: Escalation): void {
    this.nativeId = -1;
    this.#unpark(e.fd);
    this.cancels.route(this.info.cancelPid, null);
    const mirror = this.#mirror;
    this.#mirror = null;
    const recorded = mirror?.ended();
    if (this.state === 'closed') return;
    // A driver that keeps sending what the plane does not carry (a Parse per query, COPY) would come back every time.
    // A statement the server it landed on lacks (TxReason.Prepare) is prepared there once and costs nothing.
    if (e.reason === TxReason.Message || e.reason === TxReason.TooLong) this.#handedBack += PLANE_MESSAGES.has(e.head[0]!) ? 1 : MAX_HAND_BACKS;
    if (e.queried) this.#statements?.delete('');
    const s = e.server;
    if (s) {
      s.status = e.status;
      s.state = 'active';
      this.pool.active.add(s);
      this.server = s;
      s.client = this;
      this.state = 'active';
      this.#xactStart = Date.now();
      if (s.backendKey) this.cancels.route(this.info.cancelPid, { host: s.addr.host, port: s.addr.port, ...s.backendKey });
      for (let p = 0; p + 5 <= e.parameterStatus.length; ) {
        const end = p + 1 + e.parameterStatus.readUInt32BE(p + 1);
        s.applyParameterStatus(e.parameterStatus.subarray(p, end));
        p = end;
      }
    }
    // What the plane carried is recorded before anything the client sent after it.
    if (!mirror?.pending) return this.#resumeFromNative(e);
    nativePlaneTotals.waitedForRecords++;
    void recorded!.then(() => this.#resumeFromNative(e));
  }

  /** fromNative, once the plane's mirrored messages are recorded: reads the client again and takes what it sent. */
  #resumeFromNative(e: Escalation): void {
    if (this.state === 'closed') return;
    const s = e.server !== null && this.server === e.server ? e.server : null;
    startReading(this.socket);
    if (e.reason === TxReason.ServerLost) {
      this.onServerLost();
      return;
    }
    if (s && e.parametersLost && e.status === STATUS_IDLE) {
      // Its parameters are no longer known: it serves nobody else.
      this.server = null;
      this.pool.discard(s);
      this.state = 'idle';
    }
    if (e.head.length > 0) this.#data(e.head);
    else if (this.server) this.afterServerChunk();
  }

  /** The plane ended the client (it left, or its socket failed). */
  nativeEnded(reason: string): void {
    this.nativeId = -1;
    this.#endReason ||= reason;
    this.#closed();
  }

  /** Between transactions with nothing JavaScript must watch: the native plane takes it (`transaction_engine: native`). */
  #lend(): void {
    const plane = this.pool.plane;
    // A recorded client goes too, mirrored (its records follow what the plane carries); one under a policy rule does not.
    if (!plane || this.state !== 'idle' || this.server || this.waiting || this.hazards !== 0 || (this.tap !== null && !this.tap.mirrorable) || this.#pending !== null ||
      (this.#walker !== null && (this.#walker.holding || !this.#walker.atBoundary)) || this.#unsynced || this.#dropSyncs || this.#internalPending ||
      !this.pool.lendable || this.#handedBack >= MAX_HAND_BACKS) return;
    // Without name mapping (max_prepared_statements: 0) statement names are the server's own: the plane carries none.
    const names = this.pool.settings.max_prepared_statements > 0 ? statementMap(this.statements) : null;
    const mirror = this.tap !== null ? new TapMirror(this.tap) : null;
    const id = plane.lendClient(this, this.pool.signature(this.vars, this.pool.defaults), names, mirror);
    if (id < 0) {
      void mirror?.ended();
      return;
    }
    this.nativeId = id;
    this.#mirror = mirror;
    this.#park();
    // Neither is needed on the plane; both are made again if the client comes back.
    this.#walker = null;
    this.counters?.park();
    this.cancels.route(this.info.cancelPid, this);
  }

  /** Where a CancelRequest goes while the plane carries the client (the registry asks it then): the server it holds there now. */
  cancelTarget(): CancelTarget | null {
    const plane = this.pool.plane;
    const row = plane?.clientRow(this.pool, this.nativeId);
    const s = row?.server == null ? null : plane!.server(row.server);
    return s?.backendKey ? { host: s.addr.host, port: s.addr.port, ...s.backendKey } : null;
  }

  // ServerClient
  onReadyForQuery(status: number): boolean {
    this.tap?.server(0x5a /* Z */, EMPTY);
    this.pool.counters.query_count++;
    if (this.server && this.server.queue.rfqPending === 0) this.pool.counters.query_time += (Date.now() - this.#queryStart) * 1000;
    if (status !== STATUS_IDLE && this.pool.settings.mode === 'statement') {
      this.#statementModeViolation = true;
      return false;
    }
    return true;
  }

  onParameterStatus(name: string, value: string): void {
    if (this.pool.tracked.has(name)) this.#setVar(name, value);
  }

  onStatementsDropped(): void {
    this.#statements = null;
  }

  dropSyncsUntilCopyEnd(): void {
    this.#dropSyncs = true;
  }

  onInternalDone(failed: string | null): void {
    this.#internalPending = false;
    if (failed) this.pool.manager.parameterSetFailed(this, failed);
    if (this.state === 'login') this.#welcome();
  }

  afterServerChunk(): void {
    const s = this.server;
    if (!s) return;
    if (this.#statementModeViolation) {
      this.fail(wire.poolerError('transaction blocks not allowed in statement pooling mode'));
      return;
    }
    if (s.clean && !this.#unsynced && !this.#internalPending && this.hazards === 0 && this.state !== 'login' && !this.#walker?.holding) this.#release();
  }

  /** The server connection died under us: PgBouncer's "server conn crashed?". */
  onServerLost(): void {
    this.server = null;
    this.cancels.route(this.info.cancelPid, null);
    this.fail(wire.poolerError('server conn crashed?'));
  }

  // WalkHandler, client → server
  onHeader(type: number): number {
    switch (type) {
      case F.Query:
      case F.Parse:
        return Walk.Read;
      case F.Bind:
      case F.Describe:
      case F.Close:
        this.#unsynced = true;
        if (this.pool.settings.max_prepared_statements > 0) return Walk.Read;
        if (type === F.Close) this.server!.queue.push(Req.Close);
        return this.tap !== null && type !== F.Describe ? Walk.Read : Walk.Pass;
      case F.Execute:
        this.#unsynced = true;
        return this.tap !== null ? Walk.Read : Walk.Pass;
      case F.Sync:
        if (this.#dropSyncs) return Walk.Pass;
        this.tap?.sync();
        this.#startQuery();
        this.server!.queue.push(Req.Sync);
        this.#unsynced = false;
        return Walk.Pass;
      case F.FunctionCall:
        this.#startQuery();
        this.server!.queue.push(Req.Query);
        return this.tap !== null ? Walk.Read : Walk.Pass;
      case F.CopyDone:
      case F.CopyFail:
        if (this.#dropSyncs) this.#dropSyncs = false;
        else this.server!.queue.push(Req.CopyEnd);
        return Walk.Pass;
      case F.Terminate:
        this.#endReason = 'client close request';
        this.socket.end();
        return Walk.Drop;
      default:
        return Walk.Pass;
    }
  }

  onMessage(type: number, m: Buffer): boolean {
    const tap = this.tap;
    if (tap !== null) {
      const v = verdictFor(tap, type, m);
      if (v === Verdict.Hold) {
        this.#walker!.hold();
        return true;
      }
      // The refusal goes through the same mapping (prepared names, request queue) as the client's message would have.
      if (v === Verdict.Replace) {
        if (this.#handle(type, tap.replacement)) this.#staged.push(tap.replacement);
        return false;
      }
      // Read for the tap only: the pool itself passes these untouched.
      if (type !== F.Query && type !== F.Parse && (this.pool.settings.max_prepared_statements === 0 || type === F.Execute || type === F.FunctionCall)) return true;
    }
    return this.#handle(type, m);
  }

  #handle(type: number, m: Buffer): boolean {
    switch (type) {
      case F.Query:
        return this.#query(m);
      case F.Parse:
        return this.#parse(m);
      case F.Bind:
        return this.#bind(m);
      case F.Describe:
        return this.#describe(m);
      case F.Close:
        return this.#close(m);
      default:
        return true;
    }
  }

  emit(bytes: Buffer): void {
    const s = this.server;
    if (s && !s.socket.write(bytes)) this.socket.pause();
  }

  emitStaged(): void {
    for (const b of this.#staged) this.emit(b);
    this.#staged.length = 0;
  }

  #query(m: Buffer): boolean {
    this.#startQuery();
    const s = this.server!;
    if (this.#sessionState(m, 5, m.length - 1)) {
      this.#staged.push(rejectQuery(this.#rejected));
      s.queue.push(Req.Query);
      return false;
    }
    // A simple Query destroys the unnamed statement (protocol-flow "Extended Query").
    this.#statements?.delete('');
    s.queue.push(Req.Query);
    return true;
  }

  #parse(m: Buffer): boolean {
    this.#unsynced = true;
    const s = this.server!;
    const nameEnd = m.indexOf(0, 5);
    const queryEnd = m.indexOf(0, nameEnd + 1);
    if (nameEnd < 0 || queryEnd < 0) throw new ProtocolError(wire.protocolViolation('invalid string in message'));
    if (this.#sessionState(m, nameEnd + 1, queryEnd)) {
      // The DO block declares as many (text) parameters as the statement used, so the client's Bind still fits.
      const params = Math.max(m.readInt16BE(queryEnd + 1), highestParameter(m.toString('utf8', nameEnd + 1, queryEnd)));
      return this.#parse(parseMessage(m.subarray(5, nameEnd + 1), rejectSql(this.#rejected), params));
    }
    const max = this.pool.settings.max_prepared_statements;
    if (max === 0) {
      s.queue.push(Req.Parse);
      return true;
    }
    const stmt = this.pool.manager.statements.forParse(m.subarray(5), nameEnd - 5);
    (this.#statements ??= new Map()).set(m.toString('utf8', 5, nameEnd), stmt);
    if (s.statements.has(stmt)) {
      s.statements.touch(stmt);
      this.#staged.push(noopParse);
      s.queue.push(Req.Parse);
      return false;
    }
    this.#stageEviction(s.statements.add(stmt, max));
    this.#staged.push(stmt.parse);
    s.queue.push(Req.Parse, stmt.id);
    return false;
  }

  #bind(m: Buffer): boolean {
    const portalEnd = m.indexOf(0, 5);
    const nameEnd = m.indexOf(0, portalEnd + 1);
    if (portalEnd < 0 || nameEnd < 0) throw new ProtocolError(wire.protocolViolation('invalid string in message'));
    const stmt = this.statements.get(m.toString('utf8', portalEnd + 1, nameEnd));
    // Unknown to us: the server answers 26000 "prepared statement … does not exist" itself.
    if (!stmt) return this.#unknown(m, nameEnd === portalEnd + 1);
    this.#ensurePrepared(stmt);
    const head = portalEnd + 1;
    const out = Buffer.allocUnsafe(head + stmt.name.length + (m.length - nameEnd));
    m.copy(out, 0, 0, head);
    out.write(stmt.name, head, 'latin1');
    m.copy(out, head + stmt.name.length, nameEnd);
    out.writeInt32BE(out.length - 1, 1);
    this.#staged.push(out);
    return false;
  }

  #describe(m: Buffer): boolean {
    if (m[5] !== 0x53 /* S */) return true;
    const stmt = this.statements.get(m.toString('utf8', 6, m.length - 1));
    if (!stmt) return this.#unknown(m, m.length === 7);
    // Re-prepare before a standalone Describe too (Supavisor #1174 forgot this one).
    this.#ensurePrepared(stmt);
    this.#staged.push(describeStatement(stmt.name));
    return false;
  }

  /**
   * A Bind or Describe of a statement this client has not prepared goes to the server as it is.
   * For the unnamed statement the server's is the noop Parse's (every client Parse is renamed), so
   * a Close of it goes first: the client gets PostgreSQL's own `26000 unnamed prepared statement
   * does not exist`. With max_prepared_statements 0 nothing is renamed and the server's unnamed
   * statement is the client's own.
   */
  #unknown(m: Buffer, unnamed: boolean): boolean {
    if (!unnamed || this.pool.settings.max_prepared_statements === 0) return true;
    this.#staged.push(noopClose, m);
    this.server!.queue.push(Req.CloseInjected);
    return false;
  }

  #close(m: Buffer): boolean {
    const s = this.server!;
    s.queue.push(Req.Close);
    if (m[5] !== 0x53 /* S */) return true;
    // Answered by the server closing nothing: the statement stays for other clients.
    this.#statements?.delete(m.toString('utf8', 6, m.length - 1));
    this.#staged.push(noopClose);
    return false;
  }

  #ensurePrepared(stmt: PreparedStatement): void {
    const s = this.server!;
    if (s.statements.has(stmt)) {
      s.statements.touch(stmt);
      return;
    }
    this.#stageEviction(s.statements.add(stmt, this.pool.settings.max_prepared_statements));
    this.#staged.push(stmt.parse);
    s.queue.push(Req.ParseInjected, stmt.id);
  }

  #stageEviction(evicted: PreparedStatement | null): void {
    if (!evicted) return;
    this.#staged.push(evicted.close);
    this.server!.queue.push(Req.CloseInjected);
  }

  #rejected = '';
  /** While a recorded client is on the plane: the mirror that feeds its tap (native/mirror.h). */
  #mirror: TapMirror | null = null;
  /** Statements the plane handed back; at MAX_HAND_BACKS (or at once for COPY, say) the client stays here. */
  #handedBack = 0;

  /** Checks SQL for session state; true when the statement is to be refused (on_session_state: reject). */
  #sessionState(m: Buffer, start: number, end: number): boolean {
    const s = this.server!;
    const r = detectHazards(m, start, end, (name) => this.#trackedReported(name, s));
    if (r === 0) return false;
    const created = r & 0xff;
    const cleared = (r >> 8) & 0xff;
    if (created === 0) {
      this.hazards &= ~cleared;
      return false;
    }
    const action = this.pool.settings.on_session_state;
    this.pool.counters.session_state_events++;
    this.pool.manager.sessionState(this, hazardNames(created), action);
    if (action === 'reject') {
      this.#rejected = hazardNames(created).join(', ');
      return true;
    }
    if (action === 'pin') this.hazards = (this.hazards | created) & ~(cleared & ~created);
    return false;
  }

  /** SET of a parameter the server reports is harmless: its ParameterStatus updates our copy. */
  #trackedReported(lowerName: string, s: ServerConn): boolean {
    for (const name of this.pool.tracked) if (name.toLowerCase() === lowerName) return s.reported.has(name);
    return false;
  }

  #startQuery(): void {
    if (this.server!.queue.rfqPending === 0) this.#queryStart = Date.now();
  }

  #data(chunk: Buffer): void {
    this.requestTime = Date.now();
    if (this.state === 'closed') return;
    if (!this.server) {
      this.#pending = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
      this.socket.pause();
      if (!this.waiting && this.state === 'idle') {
        if (isTerminate(this.#pending)) {
          this.#endReason = 'client close request';
          this.socket.end();
          return;
        }
        this.state = 'waiting';
        this.pool.enqueue(this);
      }
      return;
    }
    this.#forward(chunk);
  }

  #forward(chunk: Buffer | null): void {
    const s = this.server!;
    if (chunk) {
      this.bytesIn += chunk.length;
      this.counters?.fromClient(chunk);
      this.pool.counters.bytes_received += chunk.length;
    }
    s.socket.cork();
    try {
      if (chunk) (this.#walker ??= new MessageWalker(frontendMessageCap)).walk(chunk, this);
      else this.#walker?.resume(this);
    } catch (e) {
      s.socket.uncork();
      this.fail(e instanceof ProtocolError ? e.wire : wire.internal());
      return;
    }
    s.socket.uncork();
    if (this.#walker?.holding) this.#waitForTap();
  }

  /** A statement is held (worker-thread classification, a blocking audit sink): the client waits, then the walk goes on. */
  #waitForTap(): void {
    this.socket.pause();
    if (this.#waitingForTap) return;
    this.#waitingForTap = true;
    void this.tap!.held.then(() => {
      this.#waitingForTap = false;
      if (this.state === 'closed' || !this.server) return;
      this.#forward(null);
      if (!this.#walker?.holding && (this.state as ClientState) !== 'closed') {
        this.socket.resume();
        this.afterServerChunk();
      }
    });
  }

  #drainPending(): void {
    const p = this.#pending;
    this.#pending = null;
    if (p) this.#forward(p);
    if (this.state !== 'closed' && !this.#walker?.holding) this.socket.resume();
    // A chunk that carried only an answered-at-once message (or nothing) leaves the server free.
    this.afterServerChunk();
  }

  /** The first server fixed the parameters: ParameterStatus for each, BackendKeyData, ReadyForQuery. */
  #welcome(): void {
    const s = this.server!;
    const head: Buffer[] = [];
    for (const name of s.reported) {
      const v = s.vars.get(name);
      if (v === null || v === undefined) continue;
      head.push(be.parameterStatus(name, v));
      if (this.pool.tracked.has(name)) this.#setVar(name, v);
    }
    head.push(be.backendKeyData(this.info.cancelPid, this.info.cancelKey), be.readyForQueryIdle);
    this.socket.write(Buffer.concat(head));
    // The login has fixed the values (the server's reports included): from here the map is shared.
    this.#vars = this.pool.sharedVars.share(this.#vars) as Map<string, string | null>;
    this.#varsShared = true;
    this.state = 'active';
    this.pool.manager.clientReady(this);
    this.#drainPending();
  }

  #release(): void {
    const s = this.server!;
    this.server = null;
    this.cancels.route(this.info.cancelPid, null);
    this.pool.counters.xact_count++;
    this.pool.counters.xact_time += (Date.now() - this.#xactStart) * 1000;
    this.state = 'idle';
    s.socket.resume();
    this.pool.release(s);
    // A TLS server leg cannot be lent, so its clients stay here too (they would wait on the plane for servers it never gets).
    if (!s.tls) this.#lend();
  }

  /** `flushing`: a FATAL is on its way out; the socket closes once it is written. */
  #closed(flushing = false): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (!flushing) this.socket.destroy();
    this.#unparkClosed();
    if (this.waiting) this.pool.forget(this);
    const s = this.server;
    this.server = null;
    if (s) {
      this.cancels.route(this.info.cancelPid, null);
      // Session state or an open transaction must not reach the next client (invariant 8).
      if (s.clean && !this.#unsynced && !this.#internalPending && this.hazards === 0) this.pool.release(s);
      else this.pool.discard(s);
    }
    this.pool.clients.delete(this);
    const mirror = this.#mirror;
    this.#mirror = null;
    const reason = this.#endReason || 'client closed';
    // A client that ended on the plane: its last statements are recorded before its disconnection.
    if (mirror) void mirrorBarrier().then(() => mirror.ended()).then(() => this.#ended(reason));
    else this.#ended(reason);
  }

  /** Every tracked parameter: the client's startup value, else the pool's default. The startup parameters are not kept after. */
  #initVars(): void {
    for (const [raw, value] of this.info.startupParams) {
      const name = CANONICAL[raw.toLowerCase()] ?? raw;
      this.pool.tracked.add(name);
      this.#vars.set(name, value);
    }
    this.info.startupParams = NO_PARAMS;
    const d = this.pool.defaults;
    for (const name of this.pool.tracked) if (!this.#vars.has(name)) this.#vars.set(name, d?.get(name) ?? null);
  }

  /** Sets one parameter value, first copying the map if it is the pool's shared one. */
  #setVar(name: string, value: string | null): void {
    if (this.#vars.get(name) === value && this.#vars.has(name)) return;
    if (this.#varsShared) {
      this.#vars = new Map(this.#vars);
      this.#varsShared = false;
    }
    this.#vars.set(name, value);
  }

  /** SET statements that make `s` match this client's parameters, or ''. */
  #setsFor(s: ServerConn): string {
    let sql = '';
    for (const name of this.pool.tracked) {
      const want = this.vars.get(name) ?? this.pool.defaults?.get(name) ?? null;
      const have = s.vars.get(name) ?? null;
      if (want === have) continue;
      sql += `SET ${quoteIdent(name)} TO ${want === null ? 'DEFAULT' : quoteLiteral(want)};`;
      // Parameters the server does not report keep the value we set; reported ones are overwritten by their ParameterStatus.
      s.vars.set(name, want);
    }
    return sql;
  }
}

const EMPTY = Buffer.alloc(0);
const NO_STATEMENTS: ReadonlyMap<string, PreparedStatement> = new Map();
const NO_PARAMS: ReadonlyMap<string, string> = new Map();
const quoteIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`;
/** E'' literals mean the same whatever standard_conforming_strings is. */
const quoteLiteral = (s: string): string => `E'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

function isTerminate(b: Buffer): boolean {
  return b.length === 5 && b[0] === F.Terminate;
}

/** The refusal runs on the server, so it lands in order and aborts an open transaction as PostgreSQL would. */
function rejectSql(what: string): string {
  const msg = `${what} is not allowed in transaction pooling mode`.replace(/'/g, "''");
  return `DO $gatehouse$BEGIN RAISE EXCEPTION USING ERRCODE = '0A000', MESSAGE = '${msg}', `
    + `HINT = 'Session state would leak to other clients of this server connection; use session pooling, SET LOCAL or pg_advisory_xact_lock.'; END$gatehouse$`;
}

function rejectQuery(what: string): Buffer {
  const sql = rejectSql(what);
  const len = Buffer.byteLength(sql);
  const b = Buffer.allocUnsafe(6 + len);
  b[0] = F.Query;
  b.writeInt32BE(5 + len, 1);
  b.write(sql, 5, 'utf8');
  b[5 + len] = 0;
  return b;
}

/** Parse with the given name bytes (with their zero) and SQL, declaring `params` text parameters. */
function parseMessage(nameZ: Buffer, sql: string, params: number): Buffer {
  const len = Buffer.byteLength(sql);
  const b = Buffer.allocUnsafe(1 + 4 + nameZ.length + len + 1 + 2 + 4 * params);
  b[0] = F.Parse;
  b.writeInt32BE(b.length - 1, 1);
  nameZ.copy(b, 5);
  let p = 5 + nameZ.length;
  p += b.write(sql, p, 'utf8');
  b[p++] = 0;
  p = b.writeInt16BE(params, p);
  for (let i = 0; i < params; i++) p = b.writeInt32BE(TEXT_OID, p);
  return b;
}

const TEXT_OID = 25;

/** The highest $n in a statement (quotes are not skipped: a few extra declared parameters do no harm… except in Bind counts, so only used on refusal). */
function highestParameter(sql: string): number {
  let max = 0;
  for (const m of sql.matchAll(/\$(\d+)/g)) max = Math.max(max, Number(m[1]));
  return max;
}

function describeStatement(name: string): Buffer {
  const b = Buffer.allocUnsafe(1 + 4 + 1 + name.length + 1);
  b[0] = F.Describe;
  b.writeInt32BE(b.length - 1, 1);
  b[5] = 0x53;
  b.write(name, 6, 'latin1');
  b[b.length - 1] = 0;
  return b;
}
