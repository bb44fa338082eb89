/** SHOW STATS_TOTALS: the totals of SHOW STATS, with PgBouncer's unprefixed names. */
import { resultSet } from '../result.js';
import type { ShowCommand } from './types.js';
import { STATS_FIELDS, statsCells } from './show-stats.js';

export const showStatsTotals: ShowCommand = (ctx) => ({
  tag: 'SHOW',
  result: resultSet(`s${'N'.repeat(STATS_FIELDS.length)}`, ['database', ...STATS_FIELDS],
    ctx.view.stats().map((r) => [r.database, ...statsCells(r.totals)])),
});
