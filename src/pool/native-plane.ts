/**
 * `transaction_engine: native`: the JavaScript side of the native transaction plane
 * (native/txplane.h). Once a transaction-mode client is between transactions with nothing that
 * needs JavaScript (no session-state pin, no statement tap, nothing buffered), its descriptor is
 * lent to the relay thread, and so is every idle server of its pool. The thread then links,
 * relays and releases on its own, with no JavaScript per transaction, for simple-protocol
 * statements and for Bind/Describe/Execute/Sync batches of statements prepared here before
 * (native/txprep.h). Anything else comes back here ("escalates") at a point where JavaScript can
 * carry on as if it had had the client all along: PooledClient.fromNative.
 *
 * The thread works on dup()s. Node keeps a lent server's socket (not reading it, `stopReading`),
 * so JavaScript takes a server back without a new one, and the thread says when it let go. A lent
 * client's socket is let go at once (PooledClient#park: its net.Socket was about a quarter of what
 * an idle client cost); the thread closes the descriptor when the client ends there, or hands it
 * back with the client (tx_escalate) and JavaScript makes a new socket of it.
 * Parameter signatures: a client is linked natively only to a server whose tracked parameters are
 * what the client wants (PooledClient#setsFor would send nothing); both are interned as small
 * numbers per pool.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { STATS_LEN, closeDescriptor, nativeAddon, onTxEvents, plainFd, takeBuffered, watchPlaneMirror, type Addon } from '../session/native-relay.js';
import type { TapMirror } from '../session/tap-mirror.js';
import { errorResponse } from '../protocol/backend/encode.js';
import { wire } from '../errors.js';
import { DURATION_BUCKETS, type CounterSource } from '../session/counters.js';
import type { PooledClient } from './client.js';
import type { ServerConn } from './server.js';
import type { Pool } from './pool.js';

/** Why the thread gave a client back (txplane.h TXR_*). */
export const TxReason = { Message: 0, ServerLost: 1, Parameters: 2, Signature: 3, TooLong: 4, Prepare: 5, Recall: 6 } as const;

/** What an escalation brings back (txplane.h tx_escalate). */
export interface Escalation {
  server: ServerConn | null;
  /** The server's transaction status ('I', 'T' or 'E'). */
  status: number;
  reason: number;
  /** A simple Query went through natively: the unnamed prepared statement is gone. */
  queried: boolean;
  /** ParameterStatus messages the server sent while linked natively. */
  parameterStatus: Buffer;
  /** More ParameterStatus bytes came than the thread keeps: the server's parameters are unknown. */
  parametersLost: boolean;
  /** What the client sent that the thread did not forward. */
  head: Buffer;
  /** The client's descriptor, now JavaScript's (its socket was let go when it was lent). */
  fd: number;
}

/** A pooled client's state on the thread (txplane.h tx_info). */
export interface NativeClientRow {
  state: 'idle' | 'waiting' | 'active';
  waitSince: number;
  requestTime: number;
  server: number | null;
  status: number;
  outstanding: number;
}

export interface NativePoolInfo {
  counters: readonly number[];
  clients: Map<number, NativeClientRow>;
  /** Lent servers by id: the native client id they serve (null: idle) and when they went idle. */
  servers: Map<number, { client: number | null; idleSince: number }>;
}

/** Hand-overs since start, for tests and the admin view: clients and servers lent, clients given back. */
export const nativePlaneTotals = { clients: 0, servers: 0, escalations: 0, byReason: [0, 0, 0, 0, 0, 0, 0], waitedForRecords: 0 };

const EV_SQLSTATE = 1;
const EV_ESCALATE = 5;
const EV_CLIENT_END = 6;
const EV_SERVER_END = 7;
const EV_SERVER_BACK = 8;
const EV_NEED = 9;
const NB = DURATION_BUCKETS.length;

interface Handle {
  _handle?: { reading?: boolean; readStop?: () => number; readStart?: () => number } | null;
  _read?: (n: number) => void;
}

const noRead = (): void => undefined;

/**
 * Stops Node reading `s` (the thread reads a dup of its descriptor from now on). False when it
 * cannot. Node's own `_read` is shadowed while lent: a resume() already scheduled (a nextTick of
 * Readable.resume) would otherwise start the handle reading again under the thread.
 */
export function stopReading(s: Duplex): boolean {
  const x = s as unknown as Handle;
  const h = x._handle;
  if (!h || typeof h.readStop !== 'function' || typeof h.readStart !== 'function') return false;
  s.pause();
  x._read = noRead;
  if (h.reading) {
    h.reading = false;
    h.readStop();
  }
  return true;
}

/** Lets Node read `s` again (whatever the thread left unread comes as Node's next chunks). */
export function startReading(s: Duplex): void {
  const x = s as unknown as Handle;
  delete x._read;
  const h = x._handle;
  if (h && !h.reading && h.readStart) {
    h.reading = true;
    h.readStart();
  }
  s.resume();
}

/** Reads the client row at `i` of a tx_info buffer into `row`. */
function rowAt(v: Float64Array, i: number, row: NativeClientRow): NativeClientRow {
  const st = v[i + 1];
  row.state = st === 1 ? 'waiting' : st === 2 ? 'active' : 'idle';
  row.waitSince = v[i + 2]!;
  row.requestTime = v[i + 3]!;
  row.server = v[i + 4]! >= 0 ? v[i + 4]! : null;
  row.status = v[i + 5]!;
  row.outstanding = v[i + 6]!;
  return row;
}

/** A client the plane carries. It is its counters' source too (no closure per client: issue 4's idle row). */
class Lent implements CounterSource {
  constructor(
    readonly plane: NativePlane,
    readonly id: number,
    readonly client: PooledClient,
    /** A recorded client's mirror: what the plane carries for it reaches its statement tap through this. */
    public mirror: TapMirror | null,
  ) {}

  pullCounters(): void {
    this.plane.pullCounters(this);
  }
}

export class NativePlane {
  readonly #a: Addon;
  readonly #clients = new Map<number, Lent>();
  /** Lent servers by their id, with their pool. */
  readonly #servers = new Map<number, { pool: Pool; server: ServerConn }>();
  readonly #pools = new Map<number, Pool>();
  readonly #stats = new Float64Array(STATS_LEN);
  #info = new Float64Array(1024);
  #scanned = new Float64Array(1024);
  readonly #row: NativeClientRow = { state: 'idle', waitSince: 0, requestTime: 0, server: null, status: 0, outstanding: 0 };
  /** txTakeServer's answer: a count, then statement ids. */
  #held = Buffer.alloc(4 + 4 * 256);

  private constructor(a: Addon) {
    this.#a = a;
    onTxEvents((kind, id, text, stats, bytes) => this.#event(kind, id, text, stats, bytes));
  }

  /** The plane, or null with why not (no native relay here). */
  static open(): { plane: NativePlane | null; unavailable: string } {
    const { addon, unavailable } = nativeAddon();
    return addon ? { plane: new NativePlane(addon), unavailable: '' } : { plane: null, unavailable };
  }

  /**
   * Lends a client that is between transactions: its id on the plane, or -1 when it cannot be (it
   * stays with JavaScript). `names`: its statement map (statementMap), null when the plane is not
   * to carry the extended protocol. `mirror`: a recorded client's (native/mirror.h), or null.
   */
  lendClient(c: PooledClient, sig: number, names: Buffer | null, mirror: TapMirror | null = null): number {
    const s = c.socket as Socket;
    const fd = plainFd(s);
    if (fd < 0 || !stopReading(s)) return -1;
    const head = takeBuffered(s);
    let id: number;
    try {
      id = this.#a.txClient(c.pool.planeId, fd, sig, head.length ? head : undefined, names ?? undefined, mirror !== null);
    } catch {
      if (head.length) s.unshift(head);
      startReading(s);
      return -1;
    }
    this.#pools.set(c.pool.planeId, c.pool);
    const lent = new Lent(this, id, c, mirror);
    this.#clients.set(id, lent);
    if (mirror) {
      // Better no client than an unrecorded one: PostgreSQL's own words for an internal failure, as on the relay.
      const fail = (): void => void this.#a.txClose(id, errorResponse(wire.internal()), 'its statements could not be recorded');
      mirror.attach({ hold: (on) => void this.#a.hold(id, on), fail });
      watchPlaneMirror(id, mirror, fail);
    }
    nativePlaneTotals.clients++;
    c.pool.clientLent();
    c.counters?.attachSource(lent);
    return id;
  }

  /** What the thread counted for `lent` since it was last asked goes into its client's counters. */
  pullCounters(lent: Lent): void {
    if (this.#a.txStats(lent.id, this.#stats)) this.#merge(lent, this.#stats);
  }

  /** Lends an idle server; false when it cannot be (it stays in JavaScript's idle list). */
  lendServer(pool: Pool, s: ServerConn, sig: number): boolean {
    const fd = plainFd(s.socket);
    if (fd < 0 || (s.socket as Socket).readableLength > 0 || !stopReading(s.socket)) return false;
    this.#pools.set(pool.planeId, pool);
    this.#servers.set(s.id, { pool, server: s });
    try {
      this.#a.txServer(pool.planeId, fd, sig, s.id, s.statements.ids());
      nativePlaneTotals.servers++;
    } catch {
      this.#servers.delete(s.id);
      startReading(s.socket);
      return false;
    }
    return true;
  }

  /** Takes an idle lent server back (any one, or `id`): Node reads it again. Null when none is idle. */
  takeServer(pool: Pool, id = -1): ServerConn | null {
    const need = 4 + 4 * pool.settings.max_prepared_statements;
    if (this.#held.length < need) this.#held = Buffer.alloc(need);
    const got = this.#a.txTakeServer(pool.planeId, id, this.#held);
    return got < 0 ? null : this.#back(got, this.#held.subarray(4, 4 + 4 * this.#held.readUInt32LE(0)));
  }

  /** Ends a lent client: `toClient` (a FATAL) goes out first. Its end event follows (and is ignored). */
  closeClient(id: number, toClient: Buffer, why: string): void {
    const lent = this.#clients.get(id);
    this.#clients.delete(id);
    // Its last counters, before the plane forgets it (the end event that follows is ignored).
    const counted = lent !== undefined && this.#a.txStats(id, this.#stats);
    this.#a.txClose(id, toClient, why);
    if (lent) this.#detach(lent, counted ? this.#stats : undefined);
  }

  /** PAUSE, JavaScript's own waiters and whether a server may be opened, for the pool's native twin. */
  setPool(pool: Pool, paused: boolean, jsWaiting: number, canGrow: boolean): void {
    this.#pools.set(pool.planeId, pool);
    this.#a.txPool(pool.planeId, paused, jsWaiting, canGrow);
  }

  /** Every client of the pool comes back to JavaScript (idle ones now, linked ones once answered). */
  recall(pool: Pool): void {
    this.#a.txRecall(pool.planeId);
  }

  /** The pool's native state (the admin console, the janitor). */
  info(pool: Pool): NativePoolInfo {
    const v = this.#read(pool, 'info');
    const n = v.length;
    const out: NativePoolInfo = { counters: n >= 7 ? Array.from(v.subarray(0, 7)) : [0, 0, 0, 0, 0, 0, 0], clients: new Map(), servers: new Map() };
    let i = 7;
    for (; i + 7 <= n && v[i] !== -2; i += 7) out.clients.set(v[i]!, rowAt(v, i, {} as NativeClientRow));
    for (i++; i + 3 <= n; i += 3) out.servers.set(v[i]!, { client: v[i + 1]! >= 0 ? v[i + 1]! : null, idleSince: v[i + 2]! });
    return out;
  }

  /**
   * The janitor's pass (every 250 ms): each lent client of `pool` with its state on the thread, and
   * each lent server, read in place. Nothing is allocated per client: `row` is one scratch object,
   * valid only during the call (with 1,000 idle clients, a row object each was about 600 KB of
   * garbage a second). The callbacks may end clients and take servers back.
   */
  scan(pool: Pool, onClient: (c: PooledClient, row: Readonly<NativeClientRow>) => void,
    onServer: (id: number, client: number | null, idleSince: number) => void): void {
    const v = this.#read(pool, 'scan');
    const n = v.length;
    let i = 7;
    for (; i + 7 <= n && v[i] !== -2; i += 7) {
      const lent = this.#clients.get(v[i]!);
      if (lent) onClient(lent.client, rowAt(v, i, this.#row));
    }
    for (i++; i + 3 <= n; i += 3) onServer(v[i]!, v[i + 1]! >= 0 ? v[i + 1]! : null, v[i + 2]!);
  }

  /** One lent client's state on the thread (a CancelRequest's routing), read in place; null when the thread does not have it. */
  clientRow(pool: Pool, id: number): NativeClientRow | null {
    const v = this.#read(pool, 'info');
    for (let i = 7; i + 7 <= v.length && v[i] !== -2; i += 7) if (v[i] === id) return rowAt(v, i, {} as NativeClientRow);
    return null;
  }

  /** The pool's state on the thread (txplane.h tx_info), a view of this reader's buffer. One buffer per reader: scan's callbacks may call info(). */
  #read(pool: Pool, which: 'info' | 'scan'): Float64Array {
    let v = which === 'info' ? this.#info : this.#scanned;
    let n = this.#a.txInfo(pool.planeId, v);
    if (n < 0) {
      v = new Float64Array(-n + 1024);
      if (which === 'info') this.#info = v;
      else this.#scanned = v;
      n = this.#a.txInfo(pool.planeId, v);
    }
    return v.subarray(0, n);
  }

  /** The lent server with this id (SHOW SERVERS, cancel routing). */
  server(id: number): ServerConn | null {
    return this.#servers.get(id)?.server ?? null;
  }

  /** A lent server is JavaScript's again; `held`: its statement ids in the order the thread used them. */
  #back(id: number, held?: Buffer): ServerConn | null {
    const e = this.#servers.get(id);
    if (!e) return null;
    this.#servers.delete(id);
    e.pool.lent.delete(id);
    if (held && held.length >= 4) e.server.statements.reorder(held);
    startReading(e.server.socket);
    return e.server;
  }

  #event(kind: number, id: number, text: string, stats: Float64Array | Buffer | undefined, bytes: Buffer | undefined): boolean {
    switch (kind) {
      case EV_SQLSTATE: {
        const lent = this.#clients.get(id);
        lent?.client.counters?.serverError(text);
        return lent !== undefined;
      }
      case EV_ESCALATE:
        return this.#escalated(id, stats as Float64Array | undefined, bytes);
      case EV_CLIENT_END: {
        // Its last entries came before this event (txplane.h tx_end_client), also after closeClient().
        watchPlaneMirror(id, null);
        const lent = this.#clients.get(id);
        if (!lent) return false;
        this.#clients.delete(id);
        this.#detach(lent, stats as Float64Array | undefined);
        lent.client.nativeEnded(text);
        return true;
      }
      case EV_SERVER_END: {
        const e = this.#servers.get(id);
        if (!e) return false;
        this.#servers.delete(id);
        e.pool.lent.delete(id);
        e.server.endedNatively(text);
        return true;
      }
      case EV_SERVER_BACK: {
        const pool = this.#servers.get(id)?.pool;
        // An event without counters carries its bytes in their place: here, the server's statement ids.
        const s = this.#back(id, stats as Buffer | undefined);
        if (s && pool) pool.fromNative(s);
        return s !== null;
      }
      case EV_NEED: {
        this.#pools.get(id)?.nativeNeed(Number(text) || 1);
        return true;
      }
      default:
        return false;
    }
  }

  #escalated(id: number, stats: Float64Array | undefined, b: Buffer | undefined): boolean {
    if (!b || b.length < 24) return false;
    // The client's descriptor comes with it (tx_escalate); a client JavaScript has already ended (closeClient) leaves it to be closed here.
    const fd = b.readInt32LE(20);
    const lent = this.#clients.get(id);
    if (!lent) {
      closeDescriptor(fd);
      return false;
    }
    this.#clients.delete(id);
    watchPlaneMirror(id, null);
    this.#detach(lent, stats);
    nativePlaneTotals.escalations++;
    const sid = b.readDoubleLE(0);
    const headLen = b.readUInt32LE(12);
    const psEnd = 24 + headLen + b.readUInt32LE(16);
    const server = sid >= 0 ? this.#back(sid, b.subarray(psEnd)) : null;
    nativePlaneTotals.byReason[b[9]!] = (nativePlaneTotals.byReason[b[9]!] ?? 0) + 1;
    lent.client.fromNative({
      server, status: b[8]!, reason: b[9]!, queried: b[10] === 1, parametersLost: b[11] === 1,
      head: Buffer.from(b.subarray(24, 24 + headLen)), parameterStatus: b.subarray(24 + headLen, psEnd), fd,
    });
    return true;
  }

  /** The thread's final counters go into the client's, and the source is detached. */
  #detach(lent: Lent, stats: Float64Array | undefined): void {
    lent.client.pool.nativeClients--;
    if (stats) this.#merge(lent, stats);
    lent.client.counters?.attachSource(null);
  }

  /** Adds what the thread counted since it was last asked (tx_stats takes: its counters start again from zero). */
  #merge(lent: Lent, v: Float64Array): void {
    const c = lent.client;
    c.bytesIn += v[0]!;
    c.bytesOut += v[1]!;
    const k = c.counters;
    if (!k) return;
    k.bytesIn += v[0]!;
    k.bytesOut += v[1]!;
    k.queries += v[2]!;
    k.xacts += v[3]!;
    k.queryTime += v[4]!;
    k.xactTime += v[5]!;
    if (v[6]! > 0) k.lastRequest = v[6]!;
    const q = 7;
    const x = q + NB + 3;
    k.addDurations('query', v.subarray(q + 2, q + 2 + NB + 1), v[q]!, v[q + 1]!);
    k.addDurations('xact', v.subarray(x + 2, x + 2 + NB + 1), v[x]!, v[x + 1]!);
  }
}

/** A client's statement map as native/txprep.h reads it: per name, u32 registry id, u32 byte length, the name. */
export function statementMap(statements: ReadonlyMap<string, { id: number }>): Buffer {
  let n = 0;
  for (const name of statements.keys()) n += 8 + Buffer.byteLength(name);
  const b = Buffer.allocUnsafe(n);
  let o = 0;
  for (const [name, s] of statements) {
    b.writeUInt32LE(s.id, o);
    const len = b.write(name, o + 8, 'utf8');
    b.writeUInt32LE(len, o + 4);
    o += 8 + len;
  }
  return b;
}
