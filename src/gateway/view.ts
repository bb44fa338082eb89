/**
 * The admin console's view of today's session-mode gateway. Each relaying session is one active
 * client linked to one active server, so a pool (database, user) has cl_active = sv_active; its
 * idle servers are those kept for the next client (src/pool/session-servers.ts), and it has no
 * used, tested or login servers; clients held by PAUSE or KILL are `waiting`. Numbers that
 * only a pooled mode has (pool sizes, limits) are 0; the pooled mode replaces this view.
 *
 * Control semantics in session mode (docs/admin.md):
 * - PAUSE [db]: new clients wait after authentication; the command returns when the database's
 *   sessions have all ended (a session's server is released only when its client leaves).
 * - RECONNECT [db]: marks the linked servers close_needed; they close when their client leaves
 *   (instead of being kept for the next one), and the kept ones close now. WAIT_CLOSE waits for that.
 * - KILL [db]: ends the database's sessions and waiting clients with "database removed" and
 *   pauses it until RESUME.
 */
import type {
  ConfigRow, DatabaseRow, DurationHistogram, DurationRow, GatewayView, GuardControl, ListRow, PoolRow, SocketRow, StatsRow, UserRow,
} from '../admin/view.js';
import { ConsoleError } from '../admin/view.js';
import { CONSOLE_DATABASES } from '../admin/access.js';
import { wire } from '../errors.js';
import { configRows } from '../config/show.js';
import type { Config } from '../config/schema.js';
import { DURATION_BUCKETS, type Histogram } from '../session/counters.js';
import type { LiveSession } from '../session/session.js';
import type { Gateway } from './gateway.js';
import type { PoolSnapshot } from '../pool/snapshot.js';
import { effectivePoolSettings } from '../pool/settings.js';

/** Pool servers nobody holds get pointers of their own (linked ones print as their client's session). */
const poolServerPtr = (id: number): string => `0x${(0x40000000 + id * 2 + 1).toString(16)}`;

/** Session-mode servers kept for the next client (src/pool/session-servers.ts), likewise. */
const keptServerPtr = (id: number): string => `0x${(0x20000000 + id * 2 + 1).toString(16)}`;

const clientPtr = (id: number): string => `0x${(id * 2).toString(16)}`;
const serverPtr = (id: number): string => `0x${(id * 2 + 1).toString(16)}`;
const splitWait = (ms: number): { wait: number; wait_us: number } =>
  ({ wait: Math.floor(ms / 1000), wait_us: Math.floor((ms % 1000) * 1000) });

export class SessionModeView implements GatewayView {
  constructor(private readonly gw: Gateway) {}

  private get cfg(): Config {
    return this.gw.state.config;
  }

  private sessions(): LiveSession[] {
    return [...this.gw.live];
  }

  private relays(db?: string): LiveSession[] {
    return this.sessions().filter((s) => s.kind === 'relay' && (db === undefined || s.database === db));
  }

  private clientAddr(s: { origin: LiveSession['origin'] }): { addr: string; port: number } {
    if (s.origin.socket === 'unix') return { addr: 'unix', port: this.cfg.listen.port };
    return { addr: s.origin.address, port: s.origin.port ?? 0 };
  }

  clients(): SocketRow[] {
    const now = Date.now();
    const pooled = new Map(this.gw.pools.snapshot().clients.map((c) => [c.id, c]));
    const live = this.sessions().map((s): SocketRow => ({
      type: 'C', user: s.user, database: s.database, replication: s.replication,
      state: pooled.get(s.id)?.state === 'waiting' ? 'waiting' : 'active',
      ...this.clientAddr(s), local_addr: s.local.address, local_port: s.local.port || this.cfg.listen.port,
      connect_time: s.startedAt, request_time: s.counters.lastRequest, wait: pooled.get(s.id)?.wait ?? 0,
      wait_us: pooled.get(s.id)?.wait_us ?? 0, close_needed: 0,
      ptr: clientPtr(s.id), link: s.server ? serverPtr(s.id) : '', remote_pid: 0, tls: s.tls,
      application_name: s.applicationName, prepared_statements: pooled.get(s.id)?.prepared_statements ?? 0, id: s.id,
    }));
    const waiting = this.gw.gate.waiters().map((w): SocketRow => ({
      type: 'C', user: w.user, database: w.database, replication: w.replication, state: 'waiting',
      ...this.clientAddr(w), local_addr: w.local.address, local_port: w.local.port || this.cfg.listen.port,
      connect_time: w.connectedAt, request_time: w.since, ...splitWait(now - w.since), close_needed: 0,
      ptr: clientPtr(w.id), link: '', remote_pid: 0, tls: w.tls, application_name: w.applicationName,
      prepared_statements: 0, id: w.id,
    }));
    return [...live, ...waiting];
  }

  servers(): SocketRow[] {
    return [...this.linkedServers(), ...this.keptServers(), ...this.poolServers(this.gw.pools.snapshot())];
  }

  /** Session-mode servers idle since their client left, waiting for the next one. */
  private keptServers(): SocketRow[] {
    return this.gw.pools.sessionServers.idle().map((v): SocketRow => ({
      type: 'S', user: v.serverUser, database: v.database, replication: 'none', state: 'idle',
      addr: v.host.startsWith('/') ? 'unix' : v.host, port: v.port, local_addr: '', local_port: 0,
      connect_time: v.connectedAt, request_time: v.idleSince, wait: 0, wait_us: 0, close_needed: 0,
      ptr: keptServerPtr(v.id), link: '', remote_pid: v.pid, tls: '', application_name: v.applicationName,
      prepared_statements: 0, id: 0x20000000 + v.id,
    }));
  }

  /** Idle and tested servers of the transaction- and statement-mode pools. */
  private poolServers(snap: PoolSnapshot): SocketRow[] {
    return snap.servers.filter((v) => v.link === null).map((v): SocketRow => ({
      type: 'S', user: v.user, database: v.database, replication: 'none', state: v.state,
      addr: v.addr.startsWith('/') ? 'unix' : v.addr, port: v.port, local_addr: '', local_port: 0,
      connect_time: v.connect_time.getTime(), request_time: v.request_time.getTime(), wait: 0, wait_us: 0,
      close_needed: 0, ptr: poolServerPtr(v.id), link: '', remote_pid: v.remote_pid, tls: '',
      application_name: v.application_name, prepared_statements: v.prepared_statements, id: 0x40000000 + v.id,
    }));
  }

  private linkedServers(): SocketRow[] {
    return this.relays().flatMap((s): SocketRow[] => {
      const v = s.server;
      if (!v) return [];
      return [{
        type: 'S', user: v.user, database: s.database, replication: s.replication, state: 'active',
        addr: v.host.startsWith('/') ? 'unix' : v.host, port: v.port, local_addr: v.local.address, local_port: v.local.port,
        connect_time: v.connectedAt, request_time: s.counters.lastRequest, wait: 0, wait_us: 0,
        close_needed: v.closeNeeded ? 1 : 0, ptr: serverPtr(s.id), link: clientPtr(s.id), remote_pid: v.pid, tls: v.tls,
        application_name: s.applicationName, prepared_statements: 0, id: s.id,
      }];
    });
  }

  pools(): PoolRow[] {
    const now = Date.now();
    const rows = new Map<string, PoolRow>();
    const pool = (database: string, user: string): PoolRow => {
      const key = `${database}\0${user}`;
      let r = rows.get(key);
      if (!r) {
        r = {
          database, user, cl_active: 0, cl_waiting: 0, cl_active_cancel_req: 0, cl_waiting_cancel_req: 0, sv_active: 0,
          sv_active_cancel: 0, sv_being_canceled: 0, sv_idle: 0, sv_used: 0, sv_tested: 0, sv_login: 0, maxwait: 0,
          maxwait_us: 0, pool_mode: CONSOLE_DATABASES.has(database) ? 'statement' : 'session', load_balance_hosts: null,
        };
        rows.set(key, r);
      }
      return r;
    };
    for (const p of this.gw.stats.pools.values()) pool(p.database, p.user);
    const snap = this.gw.pools.snapshot();
    const waitingIds = new Set(snap.clients.filter((c) => c.state === 'waiting').map((c) => c.id));
    for (const s of this.sessions()) {
      const r = pool(s.database, s.user);
      if (waitingIds.has(s.id)) r.cl_waiting++;
      else r.cl_active++;
      if (s.server) r.sv_active++;
    }
    for (const v of this.gw.pools.sessionServers.idle()) pool(v.database, v.user).sv_idle++;
    for (const p of snap.pools) {
      const r = pool(p.database, p.user);
      Object.assign(r, { sv_idle: r.sv_idle + p.sv_idle, sv_used: p.sv_used, sv_tested: p.sv_tested, sv_login: p.sv_login, pool_mode: p.pool_mode });
      if (p.maxwait * 1e6 + p.maxwait_us > r.maxwait * 1e6 + r.maxwait_us) Object.assign(r, { maxwait: p.maxwait, maxwait_us: p.maxwait_us });
    }
    for (const w of this.gw.gate.waiters()) {
      const r = pool(w.database, w.user);
      r.cl_waiting++;
      const waited = now - w.since;
      if (waited > r.maxwait * 1000 + r.maxwait_us / 1000) Object.assign(r, { maxwait: splitWait(waited).wait, maxwait_us: splitWait(waited).wait_us });
    }
    return [...rows.values()];
  }

  stats(): StatsRow[] {
    const current = this.gw.stats.current(this.sessions());
    return [...current].map(([database, d]) => ({ database, totals: d.totals, averages: this.gw.stats.averagesFor(database, d.totals) }));
  }

  durations(): DurationRow[] {
    const hist = (h: Histogram): DurationHistogram => ({ buckets: DURATION_BUCKETS, counts: [...h.counts], sum: h.sum, count: h.count });
    return [...this.gw.stats.current(this.sessions())].map(([database, d]) =>
      ({ database, query: hist(d.query), xact: hist(d.xact), wait: hist(d.wait) }));
  }

  /** Configured entries (not "*"), names served through "*", then the console's databases. */
  private databaseNames(): string[] {
    const names = new Set(Object.keys(this.cfg.databases).filter((n) => n !== '*'));
    for (const p of this.gw.stats.pools.values()) if (!CONSOLE_DATABASES.has(p.database) && this.hasDatabase(p.database)) names.add(p.database);
    return [...names, ...CONSOLE_DATABASES];
  }

  databases(): DatabaseRow[] {
    const sessions = this.sessions();
    const waiters = this.gw.gate.waiters();
    const kept = this.gw.pools.sessionServers.idle();
    return this.databaseNames().map((name): DatabaseRow => {
      const consoleDb = CONSOLE_DATABASES.has(name);
      const entry = consoleDb ? undefined : (this.cfg.databases[name] ?? this.cfg.databases['*']);
      const st = effectivePoolSettings(this.cfg, name, '');
      const pooledIdle = [...this.gw.pools.pools.values()].filter((p) => p.database === name).reduce((n, p) => n + p.idle.length + p.tested.size, 0) +
        kept.filter((v) => v.database === name).length;
      return {
        name, host: entry?.host ?? null, port: entry?.port ?? this.cfg.listen.port, database: entry?.dbname ?? name,
        force_user: entry?.user ?? null, pool_size: consoleDb ? 0 : st.default_pool_size, min_pool_size: consoleDb ? 0 : st.min_pool_size,
        reserve_pool_size: consoleDb ? 0 : st.reserve_pool_size, server_lifetime: consoleDb ? 0 : Math.floor(st.server_lifetime / 1000),
        pool_mode: consoleDb ? 'statement' : st.mode, load_balance_hosts: null, max_connections: consoleDb ? 0 : st.max_db_connections,
        current_connections: sessions.filter((s) => s.database === name && s.server).length + pooledIdle, max_client_connections: 0,
        current_client_connections: sessions.filter((s) => s.database === name).length + waiters.filter((w) => w.database === name).length,
        paused: !consoleDb && this.gw.gate.isPaused(name) ? 1 : 0, disabled: 0,
      };
    });
  }

  users(): UserRow[] {
    const names = new Set<string>(this.gw.state.users?.keys() ?? []);
    for (const p of this.gw.stats.pools.values()) names.add(p.user);
    const sessions = this.sessions();
    return [...names].map((name) => ({
      name, pool_size: String(this.cfg.users[name]?.pool?.default_pool_size ?? ''),
      reserve_pool_size: String(this.cfg.users[name]?.pool?.reserve_pool_size ?? ''), pool_mode: this.cfg.users[name]?.pool?.mode ?? null,
      max_user_connections: this.cfg.users[name]?.pool?.max_user_connections ?? 0,
      current_connections: sessions.filter((s) => s.user === name && s.server).length, max_user_client_connections: 0,
      current_client_connections: sessions.filter((s) => s.user === name).length,
    }));
  }

  lists(): ListRow[] {
    const counts: [string, number][] = [
      ['databases', this.databaseNames().length], ['users', this.users().length], ['peers', 0], ['pools', this.pools().length],
      ['peer_pools', 0], ['free_clients', 0], ['used_clients', this.gw.live.size + this.gw.gate.waiters().length],
      ['login_clients', this.gw.handshakeCount], ['free_servers', this.poolServers(this.gw.pools.snapshot()).length],
      ['used_servers', this.relays().filter((s) => s.server).length], ['dns_names', 0],
      ['dns_zones', 0], ['dns_queries', 0], ['dns_pending', 0],
    ];
    return counts.map(([list, items]) => ({ list, items }));
  }

  config(): ConfigRow[] {
    return configRows(this.cfg);
  }

  hasDatabase(db: string): boolean {
    return this.cfg.databases[db] !== undefined || this.cfg.databases['*'] !== undefined;
  }

  async pause(db?: string): Promise<void> {
    if (this.gw.gate.allPaused) throw new ConsoleError('already suspended/paused');
    this.gw.gate.pause(db);
    // Pooled clients stay connected while paused; what must end is their hold on a server.
    await this.until(() => !this.relays(db).some((s) => s.server), true);
  }

  resume(db?: string): void {
    const gate = this.gw.gate;
    if (db === undefined) {
      if (!gate.allPaused && gate.pausedDatabases().size === 0) throw new ConsoleError('pooler is not paused/suspended');
      for (const name of [...gate.pausedDatabases()]) gate.resume(name);
      gate.resume();
      this.gw.pools.kickAll();
      return;
    }
    if (!gate.pausedDatabases().has(db)) throw new ConsoleError(`database ${db} is not paused`);
    gate.resume(db);
    this.gw.pools.kickAll();
  }

  reconnect(db?: string): void {
    for (const s of this.relays(db)) if (s.server) s.server.closeNeeded = true;
    this.gw.pools.reconnect(db);
  }

  kill(db?: string): void {
    if (this.gw.gate.allPaused) throw new ConsoleError('already suspended/paused');
    this.gw.gate.pause(db);
    for (const s of this.relays(db)) s.terminate(wire.databaseRemoved());
    this.gw.gate.reject(wire.databaseRemoved(), db);
    this.gw.pools.reconnect(db);
  }

  killClient(id: number): void {
    const s = this.sessions().find((x) => x.id === id);
    if (s) return s.terminate(wire.adminForcedDisconnect());
    if (!this.gw.gate.rejectClient(id, wire.adminForcedDisconnect())) throw new ConsoleError('client not found');
  }

  async waitClose(db?: string): Promise<void> {
    await this.until(() => !this.relays(db).some((s) => s.server?.closeNeeded) && this.gw.pools.closeNeeded(db) === 0, true);
  }

  guard(): GuardControl {
    return this.gw.guard;
  }

  reload(): void {
    const r = this.gw.reload();
    if (!r.ok) throw new ConsoleError('RELOAD failed, see logs for additional details', 'F0000');
    // PgBouncer closes servers whose connection settings changed once they are released.
    this.reconnectChanged();
  }

  shutdown(mode: 'immediate' | 'wait_for_servers' | 'wait_for_clients'): void {
    void this.gw.shutdown(mode === 'immediate' ? 'fast' : 'smart');
  }

  /** After a reload, servers whose `databases` entry changed are marked close_needed. */
  private reconnectChanged(): void {
    for (const s of this.relays()) {
      const entry = this.cfg.databases[s.database] ?? this.cfg.databases['*'];
      if (s.server && (!entry || entry.host !== s.server.host || entry.port !== s.server.port)) s.server.closeNeeded = true;
    }
  }

  /**
   * Resolves once `done()` holds, re-checked whenever a session ends, and with `poll` also every
   * 100 ms (a pooled server is released at a transaction's end, which emits nothing).
   */
  private until(done: () => boolean, poll = false): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        this.gw.events.off('session.end', check);
        if (timer) clearInterval(timer);
        resolve();
      };
      const check = (): void => {
        // session.end is emitted just before the session leaves the live set.
        setImmediate(() => {
          if (done()) finish();
        });
      };
      this.gw.events.on('session.end', check);
      if (poll) timer = setInterval(() => done() && finish(), 100);
    });
  }
}
