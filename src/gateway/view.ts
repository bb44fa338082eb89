/**
 * The admin console's view of today's session-mode gateway. Each relaying session is one active
 * client linked to one active server, so a pool (database, user) has cl_active = sv_active and no
 * idle, used, tested or login servers; clients held by PAUSE or KILL are `waiting`. Numbers that
 * only a pooled mode has (pool sizes, limits) are 0; the pooled mode replaces this view.
 *
 * Control semantics in session mode (docs/admin.md):
 * - PAUSE [db]: new clients wait after authentication; the command returns when the database's
 *   sessions have all ended (a session's server is released only when its client leaves).
 * - RECONNECT [db]: marks the linked servers close_needed; they close when their client leaves,
 *   which is when a session-mode server is closed anyway. WAIT_CLOSE waits for that.
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
    const live = this.sessions().map((s): SocketRow => ({
      type: 'C', user: s.user, database: s.database, replication: s.replication, state: 'active',
      ...this.clientAddr(s), local_addr: s.local.address, local_port: s.local.port || this.cfg.listen.port,
      connect_time: s.startedAt, request_time: s.counters.lastRequest, wait: 0, wait_us: 0, close_needed: 0,
      ptr: clientPtr(s.id), link: s.server ? serverPtr(s.id) : '', remote_pid: 0, tls: s.tls,
      application_name: s.applicationName, prepared_statements: 0, id: s.id,
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
    for (const s of this.sessions()) {
      const r = pool(s.database, s.user);
      r.cl_active++;
      if (s.server) r.sv_active++;
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
    return this.databaseNames().map((name): DatabaseRow => {
      const consoleDb = CONSOLE_DATABASES.has(name);
      const entry = consoleDb ? undefined : (this.cfg.databases[name] ?? this.cfg.databases['*']);
      return {
        name, host: entry?.host ?? null, port: entry?.port ?? this.cfg.listen.port, database: entry?.dbname ?? name,
        force_user: entry?.user ?? null, pool_size: 0, min_pool_size: 0, reserve_pool_size: 0, server_lifetime: 0,
        pool_mode: consoleDb ? 'statement' : null, load_balance_hosts: null, max_connections: 0,
        current_connections: sessions.filter((s) => s.database === name && s.server).length, max_client_connections: 0,
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
      name, pool_size: '', reserve_pool_size: '', pool_mode: null, max_user_connections: 0,
      current_connections: sessions.filter((s) => s.user === name && s.server).length, max_user_client_connections: 0,
      current_client_connections: sessions.filter((s) => s.user === name).length,
    }));
  }

  lists(): ListRow[] {
    const relays = this.relays().length;
    const counts: [string, number][] = [
      ['databases', this.databaseNames().length], ['users', this.users().length], ['peers', 0], ['pools', this.pools().length],
      ['peer_pools', 0], ['free_clients', 0], ['used_clients', this.gw.live.size + this.gw.gate.waiters().length],
      ['login_clients', this.gw.handshakeCount], ['free_servers', 0], ['used_servers', relays], ['dns_names', 0],
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
    await this.until(() => this.relays(db).length === 0);
  }

  resume(db?: string): void {
    const gate = this.gw.gate;
    if (db === undefined) {
      if (!gate.allPaused && gate.pausedDatabases().size === 0) throw new ConsoleError('pooler is not paused/suspended');
      for (const name of [...gate.pausedDatabases()]) gate.resume(name);
      gate.resume();
      return;
    }
    if (!gate.pausedDatabases().has(db)) throw new ConsoleError(`database ${db} is not paused`);
    gate.resume(db);
  }

  reconnect(db?: string): void {
    for (const s of this.relays(db)) if (s.server) s.server.closeNeeded = true;
  }

  kill(db?: string): void {
    if (this.gw.gate.allPaused) throw new ConsoleError('already suspended/paused');
    this.gw.gate.pause(db);
    for (const s of this.relays(db)) s.terminate(wire.databaseRemoved());
    this.gw.gate.reject(wire.databaseRemoved(), db);
  }

  killClient(id: number): void {
    const s = this.sessions().find((x) => x.id === id);
    if (s) return s.terminate(wire.adminForcedDisconnect());
    if (!this.gw.gate.rejectClient(id, wire.adminForcedDisconnect())) throw new ConsoleError('client not found');
  }

  async waitClose(db?: string): Promise<void> {
    await this.until(() => !this.relays(db).some((s) => s.server?.closeNeeded));
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

  /** Resolves once `done()` holds, re-checked whenever a session ends. */
  private until(done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        // session.end is emitted just before the session leaves the live set.
        setImmediate(() => {
          if (!done()) return;
          this.gw.events.off('session.end', check);
          resolve();
        });
      };
      this.gw.events.on('session.end', check);
    });
  }
}
