/**
 * Session mode's idle servers, as PgBouncer keeps them: when a client leaves its server idle (the
 * native relay sees to that, native/reuse.h), the server runs `server_reset_query` and waits here
 * for the next client with the same key, instead of a new backend being started for it.
 *
 * The key is the database entry, the upstream target and role, the client's role and its startup
 * parameters: after DISCARD ALL a reused session is what a fresh login with those parameters would
 * have given (RESET ALL goes back to the startup values), so no SET is needed and nothing of the
 * last client's session is left. Newest first (PgBouncer's LIFO). `server_idle_timeout`,
 * `server_lifetime` and `default_pool_size` (idle servers kept per key) bound the list; RECONNECT
 * and shutdown close what waits. One idle longer than `server_check_delay` runs
 * `server_check_query` before a client gets it.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { PoolSettings } from '../config/schema.js';
import { MessageFramer } from '../protocol/framer.js';
import { BackendCode, backendMessageCap } from '../protocol/codes.js';
import { decodeParameterStatus, decodeReadyForQuery } from '../protocol/backend/decode.js';
import * as fe from '../protocol/frontend/encode.js';
import type { ServerLogin, UpstreamTarget } from './server-login.js';
import { checkDue, lifetimeOver } from './settings.js';
import { adoptDescriptor } from '../session/native-relay.js';

/** Who a kept server belongs to: the client's database and role, and the server it is (and its role). */
export interface KeptOwner {
  database: string;
  user: string;
  serverUser: string;
  host: string;
  port: number;
}

/** An idle kept server, for SHOW SERVERS and SHOW POOLS. */
export interface KeptServer extends KeptOwner {
  id: number;
  pid: number;
  connectedAt: number;
  idleSince: number;
  applicationName: string;
}

interface Idle {
  id: number;
  owner: KeptOwner;
  login: ServerLogin;
  connectedAt: number;
  idleSince: number;
  settings: PoolSettings;
}

/** The key a session-mode server is kept under (see the file comment). */
export function sessionServerKey(database: string, clientUser: string, t: UpstreamTarget, params: ReadonlyMap<string, string>): string {
  const p = [...params].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).flat();
  return JSON.stringify([database, clientUser, t.host, t.port, t.database, t.user, t.sslmode, t.sslrootcert ?? '', p]);
}

/** Ends a server connection as a client would: Terminate, then the socket (at once if it cannot write). */
function terminate(socket: Duplex): void {
  if (socket.destroyed) return;
  socket.end(fe.terminate);
  setTimeout(() => socket.destroy(), 1000).unref();
}

export class SessionServers {
  readonly #idle = new Map<string, Idle[]>();
  /** Servers running their reset or check query, closed on shutdown as the idle ones are. */
  readonly #busy = new Set<Socket>();
  #closed = false;
  #seq = 0;

  /**
   * The newest idle server for `key`, or null. One idle longer than `server_check_delay` runs
   * `server_check_query` first and is closed (and the next one tried) when that fails. Its socket
   * reads nothing until the caller relays it.
   */
  async take(key: string): Promise<{ login: ServerLogin; connectedAt: number } | null> {
    for (;;) {
      const list = this.#idle.get(key);
      const s = list?.pop();
      if (!s) return null;
      if (list!.length === 0) this.#idle.delete(key);
      const socket = s.login.socket;
      socket.removeAllListeners('data').removeAllListeners('close');
      const now = Date.now();
      if (socket.destroyed || this.#expired(s, now)) {
        terminate(socket);
        continue;
      }
      const st = s.settings;
      if (checkDue(st, s.idleSince, now) &&
        !(await this.#run(socket as Socket, st.server_check_query, st.server_connect_timeout, s.login.params))) {
        socket.destroy();
        continue;
      }
      socket.pause();
      return { login: s.login, connectedAt: s.connectedAt };
    }
  }

  /**
   * A server the native relay kept (`fd`, now gatehouse's): reset, then kept under `key`. Closed
   * instead when it is too old, the reset fails or times out, or `default_pool_size` are waiting.
   * `reply`: the relay ran server_reset_query itself (native/reuse.h) and this is the server's
   * answer; without it (no reset query when the session started) the reset, if any, runs here.
   */
  give(key: string, owner: KeptOwner, fd: number, login: ServerLogin, connectedAt: number, settings: PoolSettings, close = false, reply?: Buffer): void {
    const socket = adoptDescriptor(fd);
    if (!socket) return;
    socket.on('error', () => socket.destroy());
    socket.setNoDelay(true);
    const kept: Idle = {
      id: ++this.#seq, owner, login: { ...login, socket, params: new Map(login.params), notices: [] }, connectedAt, idleSince: 0, settings,
    };
    if (close || this.#closed || this.#expired(kept, Date.now())) return terminate(socket);
    const settle = (ok: boolean): void => {
      if (!ok || this.#closed) return void socket.destroy();
      kept.idleSince = Date.now();
      const list = this.#idle.get(key) ?? [];
      if (list.length >= Math.max(settings.default_pool_size, 1)) return terminate(socket);
      list.push(kept);
      this.#idle.set(key, list);
      // Anything the server says while idle (a FATAL before it goes, say) makes it unusable.
      socket.on('data', () => socket.destroy());
      socket.once('close', () => this.#remove(key, kept));
    };
    if (reply) return settle(replyOf(reply, kept.login.params));
    if (!settings.server_reset_query) return settle(true);
    this.#run(socket, settings.server_reset_query, settings.server_connect_timeout, kept.login.params).then(settle, () => socket.destroy());
  }

  /** server_idle_timeout and server_lifetime, from the janitor. */
  janitor(now = Date.now()): void {
    for (const [key, list] of this.#idle) {
      for (const s of [...list]) {
        if (this.#expired(s, now)) {
          this.#remove(key, s);
          terminate(s.login.socket);
        }
      }
    }
  }

  /** RECONNECT [db]: what waits for the database (every database without one) closes now. */
  reconnect(database?: string): void {
    for (const [key, list] of this.#idle) {
      for (const s of [...list]) {
        if (database !== undefined && s.owner.database !== database) continue;
        this.#remove(key, s);
        terminate(s.login.socket);
      }
    }
  }

  /** Shutdown: everything closes, and nothing more is kept. */
  close(): void {
    this.#closed = true;
    this.reconnect();
    for (const s of this.#busy) s.destroy();
  }

  /** The idle servers, oldest first per key. */
  idle(): KeptServer[] {
    return [...this.#idle.values()].flat().map((s) => ({
      ...s.owner, id: s.id, pid: s.login.backendKey?.pid ?? 0, connectedAt: s.connectedAt, idleSince: s.idleSince,
      applicationName: s.login.params.get('application_name') ?? '',
    }));
  }

  #expired(s: Idle, now: number): boolean {
    const st = s.settings;
    return lifetimeOver(st, s.connectedAt, now) ||
      (s.idleSince > 0 && st.server_idle_timeout > 0 && now - s.idleSince > st.server_idle_timeout);
  }

  #remove(key: string, s: Idle): void {
    const list = this.#idle.get(key);
    const i = list?.indexOf(s) ?? -1;
    if (i < 0) return;
    list!.splice(i, 1);
    if (list!.length === 0) this.#idle.delete(key);
  }

  /**
   * Sends `sql` (the reset or check query) and reads to its ReadyForQuery: true when the server
   * answered without an error within `timeoutMs` and is idle again. The ParameterStatus values it
   * reports (DISCARD ALL puts changed ones back) update `params`.
   */
  #run(socket: Socket, sql: string, timeoutMs: number, params: Map<string, string>): Promise<boolean> {
    this.#busy.add(socket);
    return new Promise<boolean>((resolve) => {
      const framer = new MessageFramer(backendMessageCap);
      const seen = { failed: false };
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        socket.removeListener('data', onData).removeListener('close', onClose);
        this.#busy.delete(socket);
        resolve(ok);
      };
      const onClose = (): void => done(false);
      const onData = (chunk: Buffer): void => {
        try {
          framer.push(chunk);
          const ok = replyOutcome(framer, params, seen);
          if (ok !== null) done(ok);
        } catch {
          done(false);
        }
      };
      const timer = setTimeout(() => done(false), timeoutMs).unref();
      socket.on('data', onData).once('close', onClose);
      socket.resume();
      socket.write(fe.query(sql));
    });
  }
}

/**
 * Reads a reset or check query's reply from `framer`: null until its ReadyForQuery, then whether
 * the query succeeded with the server idle and nothing after. ParameterStatus values (DISCARD ALL
 * puts changed ones back) update `params`. Throws on a malformed message.
 */
function replyOutcome(framer: MessageFramer, params: Map<string, string>, seen: { failed: boolean }): boolean | null {
  for (let f = framer.next(); f; f = framer.next()) {
    if (f.type === BackendCode.ErrorResponse) seen.failed = true;
    else if (f.type === BackendCode.ParameterStatus) {
      const { name, value } = decodeParameterStatus(f.body);
      params.set(name, value);
    } else if (f.type === BackendCode.ReadyForQuery) {
      return !seen.failed && decodeReadyForQuery(f.body) === 'I' && framer.bufferedBytes === 0;
    }
  }
  return null;
}

/** The native relay's whole reply to server_reset_query (native/reuse.h): whether the server may be kept. */
function replyOf(reply: Buffer, params: Map<string, string>): boolean {
  try {
    const framer = new MessageFramer(backendMessageCap);
    framer.push(reply);
    return replyOutcome(framer, params, { failed: false }) === true;
  } catch {
    return false;
  }
}
