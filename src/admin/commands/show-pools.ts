/** SHOW POOLS: one row per (database, user) pool. */
import { resultSet } from '../result.js';
import type { PoolRow } from '../view.js';
import type { ShowCommand } from './types.js';

const NAMES = ['database', 'user', 'cl_active', 'cl_waiting', 'cl_active_cancel_req', 'cl_waiting_cancel_req',
  'sv_active', 'sv_active_cancel', 'sv_being_canceled', 'sv_idle', 'sv_used', 'sv_tested', 'sv_login',
  'maxwait', 'maxwait_us', 'pool_mode', 'load_balance_hosts'] as const satisfies readonly (keyof PoolRow)[];

export const showPools: ShowCommand = (ctx) => ({
  tag: 'SHOW',
  result: resultSet('ssiiiiiiiiiiiiiss', NAMES, ctx.view.pools().map((r) => NAMES.map((n) => r[n]))),
});
