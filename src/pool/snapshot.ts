/**
 * A point-in-time view of the pools for the admin console and metrics, in PgBouncer's terms
 * (SHOW POOLS, SHOW CLIENTS, SHOW SERVERS, SHOW STATS column names). Plain data: the console
 * formats it, the pools never see a console.
 *
 * Session-mode clients relay on a dedicated server connection and are not in any pool; they are
 * counted in `clientCount` only (the gateway's live sessions list them).
 */
import type { PoolCounters } from './pool.js';
import { hazardNames } from './hazards.js';
import type { PoolManager } from './manager.js';

export interface PoolRow {
  database: string;
  user: string;
  /** Clients linked to a server, or idle between transactions (PgBouncer counts both as cl_active). */
  cl_active: number;
  cl_waiting: number;
  sv_active: number;
  sv_idle: number;
  /** Servers being reset (server_reset_query) — PgBouncer's "used" state. */
  sv_used: number;
  /** Servers running server_check_query. */
  sv_tested: number;
  sv_login: number;
  /** Oldest wait, seconds and the microsecond remainder. */
  maxwait: number;
  maxwait_us: number;
  pool_mode: 'session' | 'transaction' | 'statement';
}

export interface ClientRow {
  type: 'C';
  user: string;
  database: string;
  state: 'active' | 'waiting' | 'login' | 'idle';
  addr: string;
  port: number;
  connect_time: Date;
  request_time: Date;
  /** Seconds waited so far (0 unless waiting), and the microsecond remainder. */
  wait: number;
  wait_us: number;
  /** The server id it holds, or null. */
  link: number | null;
  application_name: string;
  prepared_statements: number;
  /** Session state pinning it to its server (hazard names), empty when none. */
  pinned: string;
  id: number;
}

export interface ServerRow {
  type: 'S';
  user: string;
  database: string;
  state: 'active' | 'idle' | 'used' | 'tested' | 'login';
  addr: string;
  port: number;
  connect_time: Date;
  request_time: Date;
  /** The client id it serves, or null. */
  link: number | null;
  remote_pid: number;
  application_name: string;
  prepared_statements: number;
  id: number;
}

export interface StatsRow extends PoolCounters {
  database: string;
  user: string;
}

export interface PoolSnapshot {
  at: Date;
  /** Authenticated clients in every mode (max_client_conn counts these). */
  clientCount: number;
  pools: PoolRow[];
  clients: ClientRow[];
  servers: ServerRow[];
  stats: StatsRow[];
  /** Distinct statement texts prepared through the pools. */
  preparedStatements: number;
}

export function snapshotOf(m: PoolManager, now: number): PoolSnapshot {
  const out: PoolSnapshot = { at: new Date(now), clientCount: m.clientCount, pools: [], clients: [], servers: [], stats: [], preparedStatements: m.statements.size };
  for (const p of m.pools.values()) {
    // Clients and servers the native transaction plane carries: their state is the plane's.
    const native = p.plane && (p.lent.size > 0 || p.nativeClients > 0) ? p.plane.info(p) : null;
    const byNativeId = new Map<number, number>();
    let maxwait = p.maxWait(now);
    let waiting = 0;
    let active = 0;
    for (const c of p.clients) {
      const row = c.nativeId >= 0 ? native?.clients.get(c.nativeId) : undefined;
      if (row) byNativeId.set(c.nativeId, c.info.id);
      const isWaiting = row ? row.state === 'waiting' : c.waiting;
      const state = isWaiting ? 'waiting' : c.state === 'login' ? 'login' : 'active';
      if (state === 'waiting') waiting++;
      else if (state === 'active') active++;
      const wait = isWaiting ? now - (row ? row.waitSince : c.waitSince) : 0;
      if (wait > maxwait) maxwait = wait;
      const link = row ? (row.server ?? null) : c.server?.id ?? null;
      out.clients.push({
        type: 'C', user: c.info.user, database: c.info.database, state, addr: c.info.address, port: c.info.port ?? 0,
        connect_time: new Date(c.connectTime), request_time: new Date(row && row.requestTime > 0 ? row.requestTime : c.requestTime),
        wait: Math.floor(wait / 1000), wait_us: (wait % 1000) * 1000,
        link, application_name: c.vars.get('application_name') ?? '',
        prepared_statements: c.statements.size, pinned: hazardNames(c.hazards).join(', '), id: c.info.id,
      });
    }
    let used = 0;
    let tested = 0;
    let nativeActive = 0;
    for (const s of p.lent.values()) {
      const row = native?.servers.get(s.id);
      const client = row?.client ?? null;
      if (client !== null) nativeActive++;
      out.servers.push({
        type: 'S', user: p.user, database: p.database, state: client !== null ? 'active' : 'idle', addr: s.addr.host, port: s.addr.port,
        connect_time: new Date(s.connectTime), request_time: new Date(s.requestTime), link: client === null ? null : byNativeId.get(client) ?? null,
        remote_pid: s.backendKey?.pid ?? 0, application_name: s.vars.get('application_name') ?? '',
        prepared_statements: s.statements.size, id: s.id,
      });
    }
    for (const s of [...p.active, ...p.idle, ...p.tested]) {
      const state = s.state === 'login' ? 'login' : s.state;
      if (state === 'used') used++;
      if (state === 'tested') tested++;
      const linked = s.client as { info?: { id: number } } | null;
      out.servers.push({
        type: 'S', user: p.user, database: p.database, state, addr: s.addr.host, port: s.addr.port,
        connect_time: new Date(s.connectTime), request_time: new Date(s.requestTime), link: linked?.info?.id ?? null,
        remote_pid: s.backendKey?.pid ?? 0, application_name: s.vars.get('application_name') ?? '',
        prepared_statements: s.statements.size, id: s.id,
      });
    }
    out.pools.push({
      database: p.database, user: p.user, cl_active: active, cl_waiting: waiting,
      sv_active: p.active.size + nativeActive, sv_idle: p.idle.length + p.lent.size - nativeActive, sv_used: used, sv_tested: tested, sv_login: p.logins,
      maxwait: Math.floor(maxwait / 1000), maxwait_us: (maxwait % 1000) * 1000, pool_mode: p.settings.mode,
    });
    const n = native?.counters;
    const c = p.counters;
    out.stats.push(n ? {
      database: p.database, user: p.user, ...c, xact_count: c.xact_count + n[0]!, query_count: c.query_count + n[1]!,
      bytes_received: c.bytes_received + n[2]!, bytes_sent: c.bytes_sent + n[3]!, xact_time: c.xact_time + n[4]!,
      query_time: c.query_time + n[5]!, wait_time: c.wait_time + n[6]!,
    } : { database: p.database, user: p.user, ...c });
  }
  return out;
}
