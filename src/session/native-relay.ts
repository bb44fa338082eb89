/**
 * The native session relay (native/relay.c): once a plaintext session is logged in, its two file
 * descriptors go to one native thread that relays with epoll and read()/write(), which costs about
 * a third of Node's stream path per transaction (bench/README.md). Same RelayHandle, same end
 * reasons and counters as relay.ts; session.ts falls back to relay.ts whenever this returns null
 * (no addon, TLS on either side, bytes Node still holds, a session a policy rule governs).
 * A recorded session is mirrored: the relay hands copies of what the audit tap reads to a
 * MirrorConsumer (src/session/tap-mirror.ts).
 */
import { closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { wire } from '../errors.js';
import { errorResponse } from '../protocol/backend/encode.js';
import { DURATION_BUCKETS, type SessionCounters } from './counters.js';
import type { RelayHandle, RelayStats } from './relay.js';
import { onLineBuilder, onShape } from '../audit/prebuilt.js';
import { MONO_TO_PERF } from './mono.js';
import type { MirrorConsumer } from './tap-mirror.js';

/** `relay_engine`: `auto` uses the native relay where it can, `native` is the same (and says so when it cannot), `node` never. */
export type RelayEngine = 'auto' | 'native' | 'node';

/** A RelayHandle whose close() also carries the last bytes for the client: nobody else can write to its socket. */
export interface NativeRelayHandle extends RelayHandle {
  /** Flushes what is pending, sends `toClient` (a FATAL, say), then closes both sides. */
  close(toClient?: Buffer): void;
  /**
   * Once `done` resolved: the server's descriptor when the client left with the server idle and
   * reuse was asked for (native/reuse.h); the caller owns it. -1 otherwise.
   */
  readonly keptServerFd: number;
  /** With keptServerFd, when a reset was asked for: the server's reply to it, up to its ReadyForQuery. */
  readonly keptReply: Buffer | undefined;
}

/**
 * Session-mode reuse (native/reuse.h): keep the server when the client leaves it idle. `reset`, a
 * Query message (server_reset_query), runs on the relay's thread first; `resetMs` bounds its reply.
 */
export interface NativeReuse {
  reset: Buffer | undefined;
  resetMs: number;
}

export interface Addon {
  init(buckets: Float64Array, onEvent: (kind: number, id: number, text: string, stats?: Float64Array) => void): boolean;
  start(clientFd: number, serverFd: number, clientHead?: Buffer, serverHead?: Buffer, mirror?: boolean, reuse?: boolean, reset?: Buffer, resetMs?: number): number;
  close(id: number, toClient?: Buffer): boolean;
  hold(id: number, on: boolean): boolean;
  sync(): boolean;
  stats(id: number, out: Float64Array): boolean;
  live(): number;
  pin(cpus: Int32Array): boolean;
  tlsContext(cert: Buffer, key: Buffer, ca: Buffer | undefined, minVersion: string, ciphers: string): unknown;
  tlsAccept(context: unknown, fd: number, head?: Buffer): [number, number];
  attach(id: number, serverFd: number, doorFd: number, clientHead?: Buffer, serverHead?: Buffer, mirror?: boolean, reuse?: boolean,
    reset?: Buffer, resetMs?: number): boolean;
  txClient(pool: number, fd: number, sig: number, head?: Buffer, names?: Buffer, mirror?: boolean): number;
  txServer(pool: number, fd: number, sig: number, serverId: number, held?: Buffer): boolean;
  txRecall(pool: number): number;
  txTakeServer(pool: number, serverId: number, held?: Buffer): number;
  txClose(id: number, toClient?: Buffer, why?: string): boolean;
  txPool(pool: number, paused: boolean, jsWaiting: number, canGrow: boolean): boolean;
  txInfo(pool: number, out: Float64Array): number;
  txStats(id: number, out: Float64Array): boolean;
  /** glibc's malloc_trim(0): true when free pages went back to the system (src/gateway/memory.ts). */
  trimMemory(): boolean;
  /** V8's critical memory-pressure collection, which also shrinks the young generation (native/memory.cc); true when it ran. */
  memoryPressure(): boolean;
  /** Registers a statement shape under its template id (src/audit/prebuilt.ts, native/fastrec.h); false when full. */
  fastShape(key: Buffer, id: number): boolean;
  /** Records prebuilt since start. */
  fastCount(): number;
  /** A template's part for lines() (native/auditline.h). */
  linePart(id: number, part: Buffer): boolean;
  /** Prebuilt records' chained JSON lines (src/audit/prebuilt.ts LineBuilder.lines). */
  lines(entries: ArrayBufferLike, nums: Float64Array, count: number, sessions: string[], seq: number, prev: string, time: string, key?: Buffer): [string[], string];
}

/** A native TLS door (native-tls.ts) until its session relay starts: the handshake's result, or its end. */
export interface DoorWatcher {
  tls(info: Buffer): void;
  end(reason: string): void;
}

/** The addon's per-direction buffer: head bytes larger than this stay with the JavaScript relay. */
const MAX_HEAD = 65536;
const NB = DURATION_BUCKETS.length;
/** The counters (load_ below), then a kept server descriptor or -1. */
export const STATS_LEN = 7 + 2 * (NB + 3) + 1;
const EV_END = 0;
const EV_SQLSTATE = 1;
const EV_MIRROR = 2;
const EV_SYNC = 3;
const EV_TLS = 4;
const EV_TX_FIRST = 5;
/** mirrorBarrier() callers, answered in order by EV_SYNC. */
const barriers: Array<() => void> = [];

interface Running {
  counters: SessionCounters;
  mirror: MirrorConsumer | null;
  /** `reply`: a kept server's reply to its reset (native/reuse.h). */
  end(reason: string, stats: Float64Array | undefined, reply: Buffer | undefined): void;
  /** The mirror's consumer threw: the session can no longer be recorded. */
  fail(): void;
}

const running = new Map<number, Running>();
/** Recorded clients on the transaction plane (src/pool/native-plane.ts): their mirrors, by their ids there. */
const planeMirrors = new Map<number, Pick<Running, 'mirror' | 'fail'>>();

/** Routes the mirrored entries of plane client `id` to `mirror` (`fail`: it cannot be recorded); null stops. */
export function watchPlaneMirror(id: number, mirror: MirrorConsumer | null, fail?: () => void): void {
  if (mirror && fail) planeMirrors.set(id, { mirror, fail });
  else planeMirrors.delete(id);
}
const doors = new Map<number, DoorWatcher>();
let addon: Addon | null | undefined;
let unavailable = '';

/**
 * Sessions carried natively since start (tests and the admin view use it to tell the engines
 * apart), the mirror hand-overs received (native/relay.c mirror_due: one in flight at a time), and
 * the prebuilt records whose lines the addon wrote (native/auditline.h).
 */
export const nativeRelayTotals = { started: 0, ended: 0, handovers: 0, lines: 0 };

/** Statement records the relay prebuilt since start (native/fastrec.h; tests check the path ran). */
export function prebuiltRecords(): number {
  return load()?.fastCount() ?? 0;
}

/** The transaction plane's events (kinds 5 and up, and a SQLSTATE for one of its clients): src/pool/native-plane.ts. */
export type TxEventHandler = (kind: number, id: number, text: string, stats: Float64Array | Buffer | undefined, bytes: Buffer | undefined) => boolean;
let txEvents: TxEventHandler | null = null;

export function onTxEvents(h: TxEventHandler | null): void {
  txEvents = h;
}

function onEvent(kind: number, id: number, text: string, stats?: Float64Array | Buffer, bytes?: Buffer): void {
  if (kind >= EV_TX_FIRST || (kind === EV_SQLSTATE && !running.has(id))) {
    txEvents?.(kind, id, text, stats, bytes);
    return;
  }
  if (kind === EV_MIRROR) return onMirror(stats as Buffer);
  if (kind === EV_SYNC) return barriers.shift()?.();
  if (kind === EV_TLS) return doors.get(id)?.tls(stats as Buffer);
  const r = running.get(id);
  if (!r) {
    if (kind !== EV_END) return;
    const door = doors.get(id);
    doors.delete(id);
    return door?.end(text);
  }
  if (kind === EV_SQLSTATE) return r.counters.serverError(text);
  if (kind === EV_END) {
    running.delete(id);
    r.end(text, stats as Float64Array | undefined, bytes);
  }
}

/**
 * Mirrored entries (native/relay.c mirror_flush): per relay (or plane client) f64 id and u32 length (little-endian),
 * then entries of u8 direction, f64 read time (ms) and the whole message (native/mirror.h).
 */
function onMirror(blob: Buffer): void {
  nativeRelayTotals.handovers++;
  let at = 0;
  while (at + 12 <= blob.length) {
    const id = blob.readDoubleLE(at);
    const end = at + 12 + blob.readUInt32LE(at + 8);
    const r = running.get(id) ?? planeMirrors.get(id);
    if (r?.mirror) {
      try {
        for (let p = at + 12; p < end; ) {
          const next = p + 10 + blob.readUInt32BE(p + 10);
          if (next > end) throw new Error('a mirrored entry runs past its session');
          r.mirror.entry(blob[p]!, blob[p + 9]!, blob.subarray(p + 9, next), blob.readDoubleLE(p + 1) + MONO_TO_PERF);
          p = next;
        }
      } catch {
        r.fail();
      }
    }
    at = end;
  }
}

function load(): Addon | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (process.platform !== 'linux') {
    unavailable = `not on Linux (${process.platform})`;
    return null;
  }
  try {
    // From src/session (tsx) and dist/session alike, the build is two levels up.
    const a = createRequire(import.meta.url)('../../build/Release/gatehouse_relay.node') as Addon;
    a.init(Float64Array.from(DURATION_BUCKETS), onEvent);
    addon = a;
    // Shapes the classifier caches may be prebuilt by the relay (native/fastrec.h).
    onShape((key, id) => a.fastShape(Buffer.from(key, 'latin1'), id));
    // ...and their records' lines written here (native/auditline.h).
    onLineBuilder({
      part: (id, part) => a.linePart(id, part),
      lines: (...args) => {
        const built = a.lines(...args);
        nativeRelayTotals.lines += args[2];
        return built;
      },
    });
  } catch (e) {
    unavailable = (e as Error).message.split('\n')[0] ?? String(e);
  }
  return addon;
}

/** The addon if something has loaded it already, else null (without loading it: loading starts the relay thread). */
export function loadedAddon(): Addon | null {
  return addon ?? null;
}

/** The loaded addon, or null with why not (native-tls.ts). */
export function nativeAddon(): { addon: Addon | null; unavailable: string } {
  const a = load();
  return { addon: a, unavailable };
}

/** Reports a TLS door's handshake and end to `w` until its session relay starts (or it ends). */
export function watchDoor(id: number, w: DoorWatcher | null): void {
  if (w) doors.set(id, w);
  else doors.delete(id);
}

/** Whether the native relay can run here, and why not (logged once at start). */
export function nativeRelayStatus(): { available: boolean; detail: string } {
  const a = load();
  return a ? { available: true, detail: 'native relay available' } : { available: false, detail: `native relay unavailable: ${unavailable}` };
}

/**
 * `relay_cpus`: pins the native relay's thread to these CPUs (an empty list: any CPU the process
 * may use). Returns null, or why it could not (the relay is not built, or the OS refused: a CPU
 * that does not exist or is outside the process's cpuset).
 */
export function pinNativeRelay(cpus: readonly number[]): string | null {
  const a = load();
  if (!a) return unavailable;
  try {
    a.pin(Int32Array.from(cpus));
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * Resolves once every message the native relay mirrored before the call has been handed to its
 * session's tap (at once without the addon). A mirrored record is written after the client has its
 * answer; tests that pair records with statements wait here.
 */
export function mirrorBarrier(): Promise<void> {
  const a = load();
  if (!a) return Promise.resolve();
  return new Promise((resolve) => {
    barriers.push(resolve);
    if (!a.sync()) barriers.pop()?.();
  });
}

/** The descriptor of a plain (not TLS) TCP or Unix socket that Node holds no unsent bytes for; -1 otherwise. */
export function plainFd(s: Duplex): number {
  if (!(s instanceof Socket) || s instanceof TLSSocket || s.destroyed || s.connecting || s.writableLength > 0) return -1;
  const fd = (s as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

/** Takes what Node has read from `s` but nobody consumed yet. */
export function takeBuffered(s: Socket): Buffer {
  if (s.readableLength === 0) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  let c: Buffer | null;
  while ((c = s.read() as Buffer | null) !== null) parts.push(c);
  return Buffer.concat(parts);
}

/** A Node socket for a descriptor the addon handed over; null, with the descriptor closed, when Node cannot make one. */
export function adoptDescriptor(fd: number): Socket | null {
  try {
    return new Socket({ fd, readable: true, writable: true });
  } catch {
    closeDescriptor(fd);
    return null;
  }
}

/** Closes a descriptor the addon handed over, if it is still open. */
export function closeDescriptor(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Not open: nothing to close.
  }
}

/** Destroys a Node socket whose descriptor the addon now holds a duplicate of: no FIN goes out. Returns its 'close' listeners, removed. */
export function releaseSocket(s: Socket): Array<(hadError: boolean) => void> {
  const onClose = s.listeners('close') as Array<(hadError: boolean) => void>;
  s.removeAllListeners('close');
  s.removeAllListeners('data');
  s.removeAllListeners('end');
  s.on('error', () => undefined);
  s.destroy();
  return onClose;
}

/**
 * Hands the session to the native relay; null when it cannot carry it (the caller then uses
 * relay.ts). `clientHead` is what the client sent after authentication and nobody has read.
 * `reuse`: keep the server when the client leaves it idle (keptServerFd, keptReply).
 */
export function startNativeRelay(
  client: Duplex, server: Duplex, clientHead: Buffer, counters: SessionCounters, mirror: MirrorConsumer | null = null, reuse: NativeReuse | null = null,
): NativeRelayHandle | null {
  // The addon could not take the sockets (out of descriptors, say): the JavaScript relay will.
  return handOver(client, server, clientHead, counters, mirror, MAX_HEAD,
    (a, cfd, sfd, toServer, toClient) => a.start(cfd, sfd, toServer, toClient, mirror !== null, reuse !== null, reuse?.reset, reuse?.resetMs));
}

/**
 * `tls_engine: native`: turns the TLS door `door` (whose socketpair end is `client`) into the
 * session's native relay, the TLS connection as its client side. Null when it cannot (the caller
 * relays over the socketpair in JavaScript). The door grows its buffers for any head.
 */
export function attachNativeTls(
  door: number, client: Duplex, server: Duplex, clientHead: Buffer, counters: SessionCounters, mirror: MirrorConsumer | null = null,
  reuse: NativeReuse | null = null,
): NativeRelayHandle | null {
  // A failed attach: the door had ended (or was out of memory and is ending); the JavaScript relay sees its end.
  return handOver(client, server, clientHead, counters, mirror, Infinity, (a, dfd, sfd, toServer, toClient) => {
    a.attach(door, sfd, dfd, toServer, toClient, mirror !== null, reuse !== null, reuse?.reset, reuse?.resetMs);
    watchDoor(door, null);
    return door;
  });
}

/**
 * The hand-over both start the same way: Node's sockets paused, what Node read and nobody consumed
 * passed on as heads, then `take` (the addon call; it throws when it cannot) and Node's sockets
 * released. On a throw the heads go back to Node's sockets and the result is null.
 */
function handOver(
  client: Duplex, server: Duplex, clientHead: Buffer, counters: SessionCounters, mirror: MirrorConsumer | null, maxHead: number,
  take: (a: Addon, clientFd: number, serverFd: number, toServer: Buffer | undefined, toClient: Buffer | undefined) => number,
): NativeRelayHandle | null {
  const a = load();
  if (!a) return null;
  const cfd = plainFd(client);
  const sfd = plainFd(server);
  if (cfd < 0 || sfd < 0) return null;
  const c = client as Socket;
  const s = server as Socket;
  if (clientHead.length + c.readableLength > maxHead || s.readableLength > maxHead) return null;
  c.pause();
  s.pause();
  const toServer = Buffer.concat([clientHead, takeBuffered(c)]);
  const toClient = takeBuffered(s);
  let id: number;
  try {
    id = take(a, cfd, sfd, toServer.length ? toServer : undefined, toClient.length ? toClient : undefined);
  } catch {
    if (toServer.length > clientHead.length) c.unshift(toServer.subarray(clientHead.length));
    if (toClient.length) s.unshift(toClient);
    return null;
  }
  const closeListeners = [...releaseSocket(c), ...releaseSocket(s)];
  nativeRelayTotals.started++;
  return nativeHandle(a, id, counters, closeListeners, mirror);
}

function nativeHandle(
  a: Addon, id: number, counters: SessionCounters, closeListeners: Array<(hadError: boolean) => void>, mirror: MirrorConsumer | null,
): NativeRelayHandle {
  const buf = new Float64Array(STATS_LEN);
  const apply = (v: Float64Array): void => load_(counters, v);
  let ended = false;
  counters.attachSource({
    pullCounters: () => {
      if (!ended && a.stats(id, buf)) apply(buf);
    },
  });
  const stats: RelayStats = {
    get bytesIn() { counters.sync(); return counters.bytesIn; },
    get bytesOut() { counters.sync(); return counters.bytesOut; },
  };
  let resolveDone!: (r: string) => void;
  const done = new Promise<string>((r) => (resolveDone = r));
  let keptServerFd = -1;
  let keptReply: Buffer | undefined;
  // Better no session than an unrecorded one: PostgreSQL's own words for an internal failure.
  const fail = (): void => void a.close(id, errorResponse(wire.internal()));
  mirror?.attach({ hold: (on) => void a.hold(id, on), fail });
  running.set(id, {
    counters,
    mirror,
    fail,
    end(reason, final, reply) {
      ended = true;
      if (final) {
        apply(final);
        keptServerFd = final[STATS_LEN - 1] ?? -1;
        keptReply = keptServerFd >= 0 ? reply : undefined;
      }
      counters.attachSource(null);
      nativeRelayTotals.ended++;
      // What listened for the sockets closing (the guard's per-source count) hears it now.
      for (const l of closeListeners) l(false);
      // A mirrored session ends once its last statements are recorded (before its disconnection record).
      if (mirror) void mirror.ended().then(() => resolveDone(reason));
      else resolveDone(reason);
    },
  });
  return {
    stats,
    done,
    close(toClient?: Buffer) {
      a.close(id, toClient);
    },
    get keptServerFd() {
      return keptServerFd;
    },
    get keptReply() {
      return keptReply;
    },
  };
}

/** Copies the addon's counter layout (native/relay.c fill_stats) into the session's counters. */
function load_(c: SessionCounters, v: Float64Array): void {
  c.bytesIn = v[0] ?? 0;
  c.bytesOut = v[1] ?? 0;
  c.queries = v[2] ?? 0;
  c.xacts = v[3] ?? 0;
  c.queryTime = v[4] ?? 0;
  c.xactTime = v[5] ?? 0;
  c.lastRequest = v[6] ?? 0;
  const q = 7;
  const x = q + NB + 3;
  c.loadDurations('query', v.subarray(q + 2, q + 2 + NB + 1), v[q] ?? 0, v[q + 1] ?? 0);
  c.loadDurations('xact', v.subarray(x + 2, x + 2 + NB + 1), v[x] ?? 0, v[x + 1] ?? 0);
}
