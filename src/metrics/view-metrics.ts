/**
 * Metrics read from the {@link GatewayView} at scrape time: clients and servers by state per pool,
 * per-database totals (queries, transactions, bytes) and duration histograms.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { DurationHistogram, GatewayView, PoolRow } from '../admin/view.js';

const CLIENT_STATES = [['active', 'cl_active'], ['waiting', 'cl_waiting'], ['active_cancel_req', 'cl_active_cancel_req'],
  ['waiting_cancel_req', 'cl_waiting_cancel_req']] as const satisfies readonly (readonly [string, keyof PoolRow])[];
const SERVER_STATES = [['active', 'sv_active'], ['idle', 'sv_idle'], ['used', 'sv_used'], ['tested', 'sv_tested'],
  ['login', 'sv_login'], ['active_cancel', 'sv_active_cancel'], ['being_canceled', 'sv_being_canceled']] as const satisfies readonly (readonly [string, keyof PoolRow])[];

export function addViewMetrics(registry: Registry, view: GatewayView): void {
  const poolGauge = (name: string, help: string, states: readonly (readonly [string, keyof PoolRow])[]): void => {
    new Gauge({
      name, help, labelNames: ['database', 'user', 'state'] as const, registers: [registry],
      collect() {
        this.reset();
        for (const p of view.pools()) for (const [state, col] of states) this.set({ database: p.database, user: p.user, state }, Number(p[col]));
      },
    });
  };
  poolGauge('gatehouse_clients', 'Client connections per pool (database, user) by state, as SHOW POOLS counts them.', CLIENT_STATES);
  poolGauge('gatehouse_servers', 'Server connections per pool (database, user) by state, as SHOW POOLS counts them.', SERVER_STATES);
  new Gauge({
    name: 'gatehouse_client_maxwait_seconds', help: 'How long the oldest waiting client of each pool has waited.',
    labelNames: ['database', 'user'] as const, registers: [registry],
    collect() {
      this.reset();
      for (const p of view.pools()) this.set({ database: p.database, user: p.user }, p.maxwait + p.maxwait_us / 1e6);
    },
  });
  const totalCounter = (name: string, help: string, pick: (t: ReturnType<GatewayView['stats']>[number]['totals']) => number): void => {
    new Counter({
      name, help, labelNames: ['database'] as const, registers: [registry],
      collect() {
        this.reset();
        for (const s of view.stats()) this.inc({ database: s.database }, pick(s.totals));
      },
    });
  };
  totalCounter('gatehouse_queries_total', 'Queries (server ReadyForQuery messages) per database, as SHOW STATS total_query_count.', (t) => t.query_count);
  totalCounter('gatehouse_transactions_total', 'Transactions per database, as SHOW STATS total_xact_count.', (t) => t.xact_count);
  totalCounter('gatehouse_received_bytes_total', 'Bytes received from clients per database.', (t) => t.bytes_received);
  totalCounter('gatehouse_sent_bytes_total', 'Bytes sent to clients per database.', (t) => t.bytes_sent);
  totalCounter('gatehouse_server_assignments_total', 'Times a server was linked to a client, per database.', (t) => t.server_assignment_count);
  totalCounter('gatehouse_client_logins_total', 'Successful client logins per database (SHOW STATS total_client_connect_count).', (t) => t.client_connect_count);
  histogram(registry, 'gatehouse_query_duration_seconds', 'Query duration, from the client\'s request to the server\'s ReadyForQuery.', view, (d) => d.query);
  histogram(registry, 'gatehouse_transaction_duration_seconds', 'Transaction duration, from its first query to ReadyForQuery idle.', view, (d) => d.xact);
  histogram(registry, 'gatehouse_client_wait_seconds', 'Time clients waited for a server after authentication (PAUSE, server login).', view, (d) => d.wait);
}

/** A histogram whose buckets the view already holds: exposed as Prometheus buckets, sum and count. */
function histogram(registry: Registry, name: string, help: string, view: GatewayView,
  pick: (d: ReturnType<GatewayView['durations']>[number]) => DurationHistogram): void {
  const metric = {
    name, help, type: 'histogram', aggregator: 'sum',
    get() {
      const values: { value: number; labels: Record<string, string | number>; metricName: string }[] = [];
      for (const d of view.durations()) {
        const h = pick(d);
        let cumulative = 0;
        h.buckets.forEach((le, i) => {
          cumulative += h.counts[i] ?? 0;
          values.push({ metricName: `${name}_bucket`, labels: { database: d.database, le }, value: cumulative });
        });
        values.push({ metricName: `${name}_bucket`, labels: { database: d.database, le: '+Inf' }, value: h.count });
        values.push({ metricName: `${name}_sum`, labels: { database: d.database }, value: h.sum });
        values.push({ metricName: `${name}_count`, labels: { database: d.database }, value: h.count });
      }
      return { name, help, type: 'histogram', values, aggregator: 'sum' };
    },
  };
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
}
