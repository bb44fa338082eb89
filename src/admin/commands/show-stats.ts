/**
 * SHOW STATS: per database, totals since start then averages over the last stats period
 * (PgBouncer's admin_database_stats; numeric columns).
 */
import { resultSet, type Cell } from '../result.js';
import type { StatsTotals } from '../view.js';
import type { ShowCommand } from './types.js';

/** The counters in PgBouncer's order. */
export const STATS_FIELDS = ['server_assignment_count', 'xact_count', 'query_count', 'bytes_received', 'bytes_sent',
  'xact_time', 'query_time', 'wait_time', 'client_parse_count', 'server_parse_count', 'bind_count',
  'client_connect_count'] as const satisfies readonly (keyof StatsTotals)[];

export const statsCells = (t: StatsTotals): Cell[] => STATS_FIELDS.map((f) => Math.trunc(t[f]));

/** SHOW STATS names the byte columns total_received/total_sent and avg_recv/avg_sent. */
const statName = (prefix: 'total' | 'avg', f: string): string =>
  f === 'bytes_received' ? (prefix === 'total' ? 'total_received' : 'avg_recv')
    : f === 'bytes_sent' ? `${prefix}_sent` : `${prefix}_${f}`;

const NAMES = ['database', ...STATS_FIELDS.map((f) => statName('total', f)), ...STATS_FIELDS.map((f) => statName('avg', f))];

export const showStats: ShowCommand = (ctx) => ({
  tag: 'SHOW',
  result: resultSet(`s${'N'.repeat(STATS_FIELDS.length * 2)}`, NAMES,
    ctx.view.stats().map((r) => [r.database, ...statsCells(r.totals), ...statsCells(r.averages)])),
});
