/**
 * Per-database statistics since start (SHOW STATS and the metrics). Finished sessions are folded
 * in at their end; live sessions are added at read time, so nothing is counted on the hot path
 * beyond the session's own counters. Averages follow PgBouncer's calc_average(): the difference
 * between now and the snapshot taken one stats period (60 s) earlier, per second for counts and
 * bytes, per query/transaction/assignment for times.
 */
import type { StatsTotals } from '../admin/view.js';
import { Histogram, type SessionCounters } from '../session/counters.js';

/** PgBouncer's default stats_period. */
export const STATS_PERIOD_MS = 60_000;

export interface DatabaseTotals {
  totals: StatsTotals;
  query: Histogram;
  xact: Histogram;
  wait: Histogram;
}

export const zeroTotals = (): StatsTotals => ({
  server_assignment_count: 0, xact_count: 0, query_count: 0, bytes_received: 0, bytes_sent: 0, xact_time: 0,
  query_time: 0, wait_time: 0, client_parse_count: 0, server_parse_count: 0, bind_count: 0, client_connect_count: 0,
});

const emptyDatabase = (): DatabaseTotals => ({ totals: zeroTotals(), query: new Histogram(), xact: new Histogram(), wait: new Histogram() });

/** Adds one session's counters (and one server assignment) to a database's totals. */
export function addCounters(d: DatabaseTotals, c: SessionCounters): void {
  c.sync();
  const t = d.totals;
  t.server_assignment_count++;
  t.xact_count += c.xacts;
  t.query_count += c.queries;
  t.bytes_received += c.bytesIn;
  t.bytes_sent += c.bytesOut;
  t.xact_time += c.xactTime;
  t.query_time += c.queryTime;
  t.wait_time += c.waitTime;
  d.query.add(c.queryDurations);
  d.xact.add(c.xactDurations);
  d.wait.add(c.waitDurations);
}

export function copyDatabase(d: DatabaseTotals): DatabaseTotals {
  const out = emptyDatabase();
  Object.assign(out.totals, d.totals);
  out.query.add(d.query);
  out.xact.add(d.xact);
  out.wait.add(d.wait);
  return out;
}

/** calc_average(): rates per second over `seconds`; times per query, transaction or assignment. */
export function averages(cur: StatsTotals, old: StatsTotals, seconds: number): StatsTotals {
  const avg = zeroTotals();
  if (seconds <= 0) return avg;
  const d = (k: keyof StatsTotals): number => cur[k] - old[k];
  for (const k of ['server_assignment_count', 'xact_count', 'query_count', 'bytes_received', 'bytes_sent',
    'client_parse_count', 'server_parse_count', 'bind_count', 'client_connect_count'] as const) avg[k] = d(k) / seconds;
  if (d('query_count') > 0) avg.query_time = d('query_time') / d('query_count');
  if (d('xact_count') > 0) avg.xact_time = d('xact_time') / d('xact_count');
  if (d('server_assignment_count') > 0) avg.wait_time = d('wait_time') / d('server_assignment_count');
  return avg;
}

export class StatsBook {
  readonly #finished = new Map<string, DatabaseTotals>();
  /** Every (database, user) pool seen since start, in first-seen order. */
  readonly pools = new Map<string, { database: string; user: string }>();
  #older = new Map<string, StatsTotals>();
  #olderAt = Date.now();
  #newer = new Map<string, StatsTotals>();
  #newerAt = Date.now();

  #database(name: string): DatabaseTotals {
    let d = this.#finished.get(name);
    if (!d) this.#finished.set(name, (d = emptyDatabase()));
    return d;
  }

  /** A client logged in to `database` as `user`. */
  noteConnect(database: string, user: string): void {
    this.#database(database).totals.client_connect_count++;
    const key = `${database}\0${user}`;
    if (!this.pools.has(key)) this.pools.set(key, { database, user });
  }

  /** A relaying session ended. */
  fold(database: string, counters: SessionCounters): void {
    addCounters(this.#database(database), counters);
  }

  /** Finished totals plus the live sessions' counters, per database. */
  current(live: Iterable<{ database: string; counters: SessionCounters; kind: string }>): Map<string, DatabaseTotals> {
    const out = new Map<string, DatabaseTotals>();
    for (const [name, d] of this.#finished) out.set(name, copyDatabase(d));
    for (const s of live) {
      if (s.kind !== 'relay') continue;
      let d = out.get(s.database);
      if (!d) out.set(s.database, (d = emptyDatabase()));
      addCounters(d, s.counters);
    }
    return out;
  }

  /** Rolls the averaging window (called every stats period). */
  roll(now: Map<string, DatabaseTotals>): void {
    this.#older = this.#newer;
    this.#olderAt = this.#newerAt;
    this.#newer = new Map([...now].map(([k, v]) => [k, { ...v.totals }]));
    this.#newerAt = Date.now();
  }

  averagesFor(database: string, cur: StatsTotals): StatsTotals {
    return averages(cur, this.#older.get(database) ?? zeroTotals(), (Date.now() - this.#olderAt) / 1000);
  }
}
