/**
 * One pooled server connection. It reads every server message header, and a few messages whole
 * (ReadyForQuery, ParameterStatus, ErrorResponse, ParseComplete, CloseComplete, CommandComplete,
 * CopyIn/CopyBoth responses), to keep its outstanding-request queue, transaction status and
 * parameter values; everything goes to the linked client as the chunks came, except the answers
 * to requests gatehouse made itself.
 */
import type { Duplex } from 'node:stream';
import { BackendCode as B, backendMessageCap } from '../protocol/codes.js';
import { MessageWalker, Walk, type WalkHandler } from './walker.js';
import { Req, RequestQueue, isRfqKind } from './requests.js';
import { ServerStatements } from './prepared.js';
import type { ServerLogin } from './server-login.js';
import type { SessionCounters } from '../session/counters.js';
import type { StatementTap } from '../audit/tap.js';

/** PgBouncer's server states (SHOW SERVERS `state`). */
export type ServerState = 'login' | 'active' | 'idle' | 'used' | 'tested';

/** What a server connection needs from the client it is linked to. */
export interface ServerClient {
  readonly socket: Duplex;
  bytesOut: number;
  /** SHOW STATS / metrics counters of the client's session, fed every forwarded server chunk. */
  readonly counters: SessionCounters | undefined;
  /** The client's statement tap (issue 6): it reads results and may swap a refusal's error. */
  readonly tap: StatementTap | null;
  /** A ReadyForQuery for the client's own request arrived (status byte). Returns false to drop it. */
  onReadyForQuery(status: number): boolean;
  /** A ParameterStatus arrived while linked. */
  onParameterStatus(name: string, value: string): void;
  /** DEALLOCATE ALL or DISCARD ALL ran: the client's statement map is void. */
  onStatementsDropped(): void;
  /** The server entered copy-in mode and the client has not ended it yet: its Syncs are ignored. */
  dropSyncsUntilCopyEnd(): void;
  /** After each server chunk: release the server when the transaction is over. */
  afterServerChunk(): void;
  /** The internal query (parameter SETs) queued at link time is answered. */
  onInternalDone(failed: string | null): void;
}

/** What a server connection tells its pool. */
export interface ServerOwner {
  onServerClosed(s: ServerConn, reason: string): void;
  /** An internal query (check or reset) finished while no client was linked. */
  onServerChecked(s: ServerConn, failed: string | null): void;
  countBytes(fromServer: number): void;
}

const STATUS_IDLE = 0x49; // 'I'

export class ServerConn implements WalkHandler {
  readonly socket: Duplex;
  readonly backendKey: { pid: number; key: Buffer } | null;
  /** Parameter values the server reported (or that gatehouse SET); null: the server default. */
  readonly vars: Map<string, string | null>;
  /** Names the server reports with ParameterStatus (GUC_REPORT). */
  readonly reported: Set<string>;
  readonly queue = new RequestQueue();
  readonly statements = new ServerStatements();
  readonly connectTime = Date.now();
  /** The upstream leg is TLS. */
  readonly tls: boolean;
  state: ServerState = 'idle';
  /** Last ReadyForQuery status byte. */
  status = STATUS_IDLE;
  client: ServerClient | null = null;
  /** When it last went idle, or was last used. */
  idleSince = Date.now();
  requestTime = Date.now();
  copyIn = false;
  copyBoth = false;
  closed = false;
  /** The error of the internal query in progress, if it failed. */
  #internalError: string | null = null;
  readonly #walker = new MessageWalker(backendMessageCap);
  readonly #staged: Buffer[] = [];
  readonly #onData = (chunk: Buffer): void => this.#data(chunk);

  constructor(
    readonly id: number,
    login: ServerLogin,
    readonly owner: ServerOwner,
    readonly addr: { host: string; port: number },
    /** The pool's target generation it was opened for. */
    readonly generation = 0,
  ) {
    this.socket = login.socket;
    this.backendKey = login.backendKey;
    this.tls = login.tls;
    this.vars = new Map(login.params);
    this.reported = new Set(login.params.keys());
    this.socket.on('data', this.#onData);
    this.socket.on('drain', () => this.client?.socket.resume());
    this.socket.on('error', () => undefined);
    this.socket.once('close', () => this.#closed('server conn crashed?'));
    this.socket.resume();
  }

  /** Nothing outstanding, transaction idle, no COPY: it may go back to the pool. */
  get clean(): boolean {
    return this.queue.length === 0 && this.status === STATUS_IDLE && !this.copyIn && !this.copyBoth && this.#walker.atBoundary;
  }

  /** Sends a query whose answers gatehouse reads itself (SETs, check, reset). */
  sendInternal(sql: string, write: (b: Buffer) => void): void {
    this.#internalError = null;
    this.queue.push(Req.Internal);
    write(internalQuery(sql));
  }

  /** A ParameterStatus the native plane forwarded while it had this server (native-plane.ts). */
  applyParameterStatus(m: Buffer): void {
    this.#parameterStatus(m);
  }

  /** The native plane closed its side (`reason`): Node's socket goes too. */
  endedNatively(reason: string): void {
    this.socket.end();
    this.#closed(reason);
  }

  close(): void {
    if (this.closed) return;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.#closed('closed by gatehouse');
  }

  #closed(reason: string): void {
    if (this.closed) {
      this.socket.destroy();
      return;
    }
    this.closed = true;
    this.socket.destroy();
    this.owner.onServerClosed(this, reason);
  }

  #data(chunk: Buffer): void {
    this.requestTime = Date.now();
    this.owner.countBytes(chunk.length);
    const client = this.client;
    if (client) {
      client.bytesOut += chunk.length;
      client.counters?.fromServer(chunk);
      client.socket.cork();
    }
    try {
      this.#walker.walk(chunk, this);
    } catch {
      // A server out of protocol sync cannot be trusted with anyone's data.
      this.socket.destroy();
    } finally {
      if (client) {
        client.socket.uncork();
        if (this.client === client) client.afterServerChunk();
      }
    }
  }

  // WalkHandler: swallowed answers are read (Z, S, E, C) or dropped unread; the client's are forwarded.
  onHeader(type: number): number {
    if (this.client === null || this.queue.headKind === Req.Internal) {
      return type === B.ReadyForQuery || type === B.ParameterStatus || type === B.ErrorResponse || type === B.CommandComplete ? Walk.Read : Walk.Drop;
    }
    switch (type) {
      case B.ReadyForQuery:
      case B.ParameterStatus:
      case B.ErrorResponse:
      case B.ParseComplete:
      case B.CloseComplete:
      case B.CopyInResponse:
      case B.CopyBothResponse:
      case B.CommandComplete:
        return Walk.Read;
      case B.EmptyQueryResponse:
      case B.PortalSuspended:
        return this.client.tap !== null ? Walk.Read : Walk.Pass;
      default:
        return Walk.Pass;
    }
  }

  onMessage(type: number, m: Buffer): boolean {
    const internal = this.client === null || this.queue.headKind === Req.Internal;
    switch (type) {
      case B.ReadyForQuery:
        return this.#readyForQuery(m[5] as number);
      case B.ParameterStatus:
        this.#parameterStatus(m);
        return !internal;
      case B.ErrorResponse:
        this.copyIn = false;
        if (internal) {
          if (this.queue.headKind === Req.Internal) this.#internalError = errorText(m);
          return false;
        }
        this.#dropUntilSync();
        return this.#toClient(type, m);
      case B.ParseComplete:
        return this.#answer(Req.Parse, Req.ParseInjected);
      case B.CloseComplete:
        return this.#answer(Req.Close, Req.CloseInjected);
      case B.CopyInResponse:
        this.copyIn = true;
        if (!this.queue.dropSyncsUntilCopyEnd()) this.client?.dropSyncsUntilCopyEnd();
        return true;
      case B.CopyBothResponse:
        this.copyBoth = true;
        return true;
      case B.CommandComplete:
        this.copyIn = false;
        if (dropsStatements(m)) {
          this.statements.clear();
          this.client?.onStatementsDropped();
        }
        return !internal && this.#toClient(type, m);
      case B.EmptyQueryResponse:
      case B.PortalSuspended:
        return this.#toClient(type, m);
      default:
        return true;
    }
  }

  /** A result for the client: its tap sees it and may send something else instead (staged). */
  #toClient(type: number, m: Buffer): boolean {
    const r = this.client?.tap?.server(type, m);
    if (!r) return true;
    this.#staged.push(r);
    return false;
  }

  emit(bytes: Buffer): void {
    const c = this.client;
    if (c && !c.socket.write(bytes)) this.socket.pause();
  }

  emitStaged(): void {
    for (const b of this.#staged) this.emit(b);
    this.#staged.length = 0;
  }

  /** Pops up to the request this ReadyForQuery answers. */
  #readyForQuery(status: number): boolean {
    this.status = status;
    let kind = 0;
    while (this.queue.length > 0) {
      kind = this.queue.headKind;
      this.#forgetIfParse(kind);
      this.queue.shift();
      if (isRfqKind(kind)) break;
    }
    if (kind === Req.Internal) {
      const failed = this.#internalError;
      this.#internalError = null;
      if (this.client) this.client.onInternalDone(failed);
      else this.owner.onServerChecked(this, failed);
      return false;
    }
    if (!this.client) return false;
    return this.client.onReadyForQuery(status);
  }

  #parameterStatus(m: Buffer): void {
    const nameEnd = m.indexOf(0, 5);
    const name = m.toString('utf8', 5, nameEnd);
    const value = m.toString('utf8', nameEnd + 1, m.length - 1);
    this.vars.set(name, value);
    this.reported.add(name);
    this.client?.onParameterStatus(name, value);
  }

  /** After an error the server skips to the next Sync: requests before it get no answer. */
  #dropUntilSync(): void {
    while (this.queue.length > 0 && !isRfqKind(this.queue.headKind)) {
      this.#forgetIfParse(this.queue.headKind);
      this.queue.shift();
    }
  }

  #forgetIfParse(kind: number): void {
    if (kind === Req.Parse || kind === Req.ParseInjected) {
      const id = this.queue.headStmt;
      if (id > 0) this.statements.forget(id);
    }
  }

  /** A ParseComplete or CloseComplete: forwarded for the client's request, dropped for ours. */
  #answer(forClient: number, ours: number): boolean {
    while (this.queue.headKind === Req.CopyEnd) this.queue.shift();
    const kind = this.queue.headKind;
    if (kind === forClient || kind === ours) this.queue.shift();
    return kind !== ours;
  }
}

/** Query ('Q') built without the shared writer (it is not on the hot path). */
function internalQuery(sql: string): Buffer {
  const len = Buffer.byteLength(sql);
  const b = Buffer.allocUnsafe(1 + 4 + len + 1);
  b[0] = 0x51;
  b.writeInt32BE(4 + len + 1, 1);
  b.write(sql, 5, 'utf8');
  b[5 + len] = 0;
  return b;
}

/** The M field of an ErrorResponse, with its C. */
function errorText(m: Buffer): string {
  let code = '';
  let message = '';
  let p = 5;
  while (p < m.length && m[p] !== 0) {
    const f = m[p] as number;
    const e = m.indexOf(0, p + 1);
    if (f === 0x43) code = m.toString('utf8', p + 1, e);
    if (f === 0x4d) message = m.toString('utf8', p + 1, e);
    p = e + 1;
  }
  return `${code} ${message}`;
}

const DEALLOCATE_ALL = Buffer.from('DEALLOCATE ALL\0');
const DISCARD_ALL = Buffer.from('DISCARD ALL\0');

/** CommandComplete tags after which the server holds no prepared statements. */
function dropsStatements(m: Buffer): boolean {
  const n = m.length - 5;
  if (n === DEALLOCATE_ALL.length) return DEALLOCATE_ALL.compare(m, 5) === 0;
  if (n === DISCARD_ALL.length) return DISCARD_ALL.compare(m, 5) === 0;
  return false;
}
