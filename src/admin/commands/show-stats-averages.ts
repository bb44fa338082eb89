/**
 * SHOW STATS_AVERAGES: the averages of SHOW STATS. PgBouncer names the three prepared-statement
 * columns avg_client_parse_count, avg_server_parse_count and avg_bind_count here, and the others
 * without a prefix; so does gatehouse.
 */
import { resultSet } from '../result.js';
import type { ShowCommand } from './types.js';
import { STATS_FIELDS, statsCells } from './show-stats.js';

const PREFIXED = new Set<string>(['client_parse_count', 'server_parse_count', 'bind_count']);
const NAMES = ['database', ...STATS_FIELDS.map((f) => (PREFIXED.has(f) ? `avg_${f}` : f))];

export const showStatsAverages: ShowCommand = (ctx) => ({
  tag: 'SHOW',
  result: resultSet(`s${'N'.repeat(STATS_FIELDS.length)}`, NAMES, ctx.view.stats().map((r) => [r.database, ...statsCells(r.averages)])),
});
