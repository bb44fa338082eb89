/** SHOW DATABASES: one row per database entry. */
import { resultSet } from '../result.js';
import type { DatabaseRow } from '../view.js';
import type { ShowCommand } from './types.js';

const NAMES = ['name', 'host', 'port', 'database', 'force_user', 'pool_size', 'min_pool_size', 'reserve_pool_size',
  'server_lifetime', 'pool_mode', 'load_balance_hosts', 'max_connections', 'current_connections',
  'max_client_connections', 'current_client_connections', 'paused', 'disabled'] as const satisfies readonly (keyof DatabaseRow)[];

export const showDatabases: ShowCommand = (ctx) => ({
  tag: 'SHOW',
  result: resultSet('ssissiiiissiiiiii', NAMES, ctx.view.databases().map((r) => NAMES.map((n) => r[n]))),
});
