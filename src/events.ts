/**
 * The core emits typed events; the logger, metrics and audit sinks subscribe (DESIGN.md, "every
 * step emits a typed event"). The core never imports a sink.
 */
import { EventEmitter } from 'node:events';
import type { MemoryReleaseEvent } from './gateway/memory.js';
import type { SessionCounters } from './session/counters.js';

/** Where a client came from. `address` is `[local]` for the Unix socket, as PostgreSQL prints it. */
export interface ClientOrigin {
  socket: 'tcp' | 'unix';
  address: string;
  port?: number;
}

/** One connection attempt's outcome: what the connection log records. Never carries a secret. */
export interface ConnectionEvent {
  session: number;
  client: ClientOrigin;
  tls?: { version: string; cipher: string; direct: boolean };
  user?: string;
  database?: string;
  application_name?: string;
  replication?: 'physical' | 'logical';
  hba?: { file: string; line: number };
  method?: string;
  /** The client's authentication succeeded (a later step, such as the server login, may still fail). */
  authenticated?: boolean;
  /** `abandoned`: the client hung up before its authentication finished (not a failure). */
  outcome: 'success' | 'failure' | 'abandoned' | 'cancel';
  sqlstate?: string;
  reason?: string;
  duration_ms: number;
}

export interface SessionEndEvent {
  session: number;
  client: ClientOrigin;
  user: string;
  database: string;
  duration_ms: number;
  bytes_in: number;
  bytes_out: number;
  reason: string;
  /** The session's statistics, final (folded into the per-database totals). */
  counters?: SessionCounters;
}

/** An ErrorResponse a server relayed to a client (counted by SQLSTATE class). */
export interface ServerErrorEvent {
  session: number;
  sqlstate: string;
}

export interface ReloadEvent {
  ok: boolean;
  error?: string;
  changed?: string[];
}

export interface CancelEvent {
  client: ClientOrigin;
  forwarded: boolean;
}

/** A pooled server connection opened, closed, failed to log in, or refused a parameter SET. */
export interface PoolServerEvent {
  database: string;
  user: string;
  /** Server id (0 when none was opened). */
  server: number;
  event: 'login' | 'close' | 'login_failed' | 'set_failed';
  reason: string;
}

/** A transaction-mode client created session state (on_session_state decides the action). */
export interface SessionStateEvent {
  session: number;
  user: string;
  database: string;
  hazards: string[];
  action: 'pin' | 'warn' | 'reject';
}

/** A statement the door's policy refused (never its text: it may hold a secret). */
export interface PolicyRefusedEvent {
  session: number;
  user: string;
  database: string;
  rule: string;
  class: string;
  command: string;
  statement_id: number;
}

export interface GatewayEventMap {
  'pool.server': [PoolServerEvent];
  'pool.session_state': [SessionStateEvent];
  connection: [ConnectionEvent];
  'session.end': [SessionEndEvent];
  reload: [ReloadEvent];
  cancel: [CancelEvent];
  'server.error': [ServerErrorEvent];
  'policy.refused': [PolicyRefusedEvent];
  /** The admin console refused a command or a message (an ERROR or FATAL it sent). */
  'console.error': [{ session: number; sqlstate: string; message: string }];
  /** A connection closed at accept time by the guard (a list, a ban or a cap), before any byte was read. */
  guard: [GuardRejectEvent];
  /** A source (or `role:<name>`) was banned: by its failures, or by an admin. */
  'guard.ban': [GuardBanEvent];
  'guard.unban': [{ source: string; by: 'admin' | 'store' }];
  /** The shared store (Redis) or the state file: `down` / `up` on transitions, `error` per failed operation. */
  'guard.store': [{ state: 'up' | 'down' | 'error'; store: 'redis' | 'state_file'; error?: string }];
  /** An audit sink: records written or dropped (per batch), a failed write, and `down` / `up` on transitions. */
  'audit.sink': [AuditSinkEvent];
  /** Memory given back after a burst of connections (src/gateway/memory.ts). */
  'memory.release': [MemoryReleaseEvent];
}

export interface AuditSinkEvent {
  /** The sink's name (`file:<path>`, `stdout`, `syslog:<host>:<port>` or its `name`). */
  sink: string;
  event: 'written' | 'dropped' | 'error' | 'down' | 'up';
  /** Records written or dropped. */
  count?: number;
  error?: string;
}

export interface GuardRejectEvent {
  client: string;
  /** denied, not allowed, banned, rate, connections, handshakes, global handshakes */
  reason: string;
  limit?: number;
}

export interface GuardBanEvent {
  source: string;
  reason: string;
  failures: number;
  /** epoch ms */
  until: number;
  /** 1 for a first ban, 2 for the next … */
  offense: number;
  by: 'failures' | 'admin' | 'store';
}

/** A typed EventEmitter. */
export class GatewayEvents extends EventEmitter<GatewayEventMap> {}
