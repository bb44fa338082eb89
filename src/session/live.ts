/**
 * The gateway's record of a live client session (SHOW CLIENTS / SERVERS, KILL, metrics): relaying
 * to a dedicated server (session mode), holding pooled servers (transaction/statement mode), or on
 * the admin console. Built by session.ts; read by the admin view.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WireError } from '../errors.js';
import type { ClientOrigin } from '../events.js';
import type { ConsoleAccess } from '../admin/commands/types.js';
import type { ServerLogin, UpstreamTarget } from '../pool/server-login.js';
import type { Pool } from '../pool/pool.js';
import type { PooledClient } from '../pool/client.js';
import type { SessionCounters } from './counters.js';
import type { TlsInfo } from './negotiate.js';

/** An authenticated client of the virtual database `gatehouse` or `pgbouncer`. */
export interface ConsoleClient {
  socket: Duplex;
  /** Bytes the client sent after its authentication, not yet read. */
  leftover: Buffer;
  id: number;
  origin: ClientOrigin;
  user: string;
  database: string;
  access: ConsoleAccess;
  startedAt: number;
  tls: string;
  applicationName: string;
}

/** The server side of a relaying session (SHOW SERVERS). */
export interface LinkedServer {
  /** The role gatehouse logged in as upstream. */
  user: string;
  host: string;
  port: number;
  local: { address: string; port: number };
  /** Backend pid from BackendKeyData, 0 when the server sent none. */
  pid: number;
  tls: string;
  connectedAt: number;
  /** RECONNECT / RELOAD: close it when released (in session mode, when the client leaves). */
  closeNeeded: boolean;
}

/** A live client session, as the gateway sees it: relaying to a server, or on the admin console. */
export interface LiveSession {
  id: number;
  kind: 'relay' | 'console';
  origin: ClientOrigin;
  user: string;
  database: string;
  startedAt: number;
  replication: 'none' | 'logical' | 'physical';
  applicationName: string;
  /** TLS version and cipher, or ''. */
  tls: string;
  local: { address: string; port: number };
  counters: SessionCounters;
  /** Null on the admin console. */
  server: LinkedServer | null;
  /** Sends the error (if given) and closes the session. */
  terminate(error?: WireError): void;
}

export function tlsText(tls: TlsInfo | null): string {
  return tls ? `${tls.version}/${tls.cipher}` : '';
}

/** The gateway's end of a client socket; `unix` for the Unix socket, IPv4 without the ::ffff: prefix. */
export function localOf(raw: Socket, isUnix: boolean): { address: string; port: number } {
  if (isUnix) return { address: 'unix', port: 0 };
  const a = raw.localAddress ?? '';
  return { address: a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a, port: raw.localPort ?? 0 };
}

/** gatehouse's end of a server connection. */
function serverLocal(socket: Duplex, host: string): { address: string; port: number } {
  const sock = socket as Partial<Socket>;
  return { address: sock.localAddress ?? (host.startsWith('/') ? 'unix' : ''), port: sock.localPort ?? 0 };
}

/** A session-mode server, linked for the session's whole life (connected then, or at `connectedAt` when reused). */
export function linkedServer(t: UpstreamTarget, s: ServerLogin, connectedAt = Date.now()): LinkedServer {
  return {
    user: t.user, host: t.host, port: t.port, pid: s.backendKey?.pid ?? 0, tls: s.tls ? 'TLS' : '',
    local: serverLocal(s.socket, t.host), connectedAt, closeNeeded: false,
  };
}

/** A pooled client's server: whichever one it holds right now, or null between transactions. */
export function pooledServer(pool: Pool, c: PooledClient): LinkedServer | null {
  const srv = c.server;
  if (!srv) return null;
  return {
    user: pool.user, host: srv.addr.host, port: srv.addr.port, pid: srv.backendKey?.pid ?? 0, tls: srv.tls ? 'TLS' : '',
    local: serverLocal(srv.socket, srv.addr.host), connectedAt: srv.connectTime, closeNeeded: srv.generation !== pool.generation,
  };
}

export type SessionInfo = { id: number; origin: ClientOrigin; startedAt: number; tls: string; applicationName: string };

/**
 * A relaying session's record; the session sets `terminate` once its relay runs. A pooled session
 * passes a function for `server` (whichever server it holds when asked). A class, not an object
 * with a getter defined on it: that turned every client's record into a dictionary-mode object of
 * about 1 KB, a tenth of an idle client's whole cost (issue 4's idle-client row).
 */
export function liveSession(info: SessionInfo, s: { user: string; database: string; replication: LiveSession['replication'] },
  local: LiveSession['local'], counters: SessionCounters, server: LinkedServer | null | (() => LinkedServer | null)): LiveSession {
  return new RelaySession(info, s, local, counters, server);
}

class RelaySession implements LiveSession {
  readonly kind = 'relay';
  readonly id: number;
  readonly origin: ClientOrigin;
  readonly startedAt: number;
  readonly tls: string;
  readonly applicationName: string;
  readonly user: string;
  readonly database: string;
  readonly replication: LiveSession['replication'];
  terminate: (error?: WireError) => void = () => undefined;
  readonly #server: LinkedServer | null | (() => LinkedServer | null);

  constructor(info: SessionInfo, s: { user: string; database: string; replication: LiveSession['replication'] },
    readonly local: LiveSession['local'], readonly counters: SessionCounters, server: LinkedServer | null | (() => LinkedServer | null)) {
    this.id = info.id;
    this.origin = info.origin;
    this.startedAt = info.startedAt;
    this.tls = info.tls;
    this.applicationName = info.applicationName;
    this.user = s.user;
    this.database = s.database;
    this.replication = s.replication;
    this.#server = server;
  }

  get server(): LinkedServer | null {
    return typeof this.#server === 'function' ? this.#server() : this.#server;
  }
}
