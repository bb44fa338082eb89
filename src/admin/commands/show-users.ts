/** SHOW USERS: one row per known user. */
import { resultSet } from '../result.js';
import type { UserRow } from '../view.js';
import type { ShowCommand } from './types.js';

const NAMES = ['name', 'pool_size', 'reserve_pool_size', 'pool_mode', 'max_user_connections', 'current_connections',
  'max_user_client_connections', 'current_client_connections'] as const satisfies readonly (keyof UserRow)[];

export const showUsers: ShowCommand = (ctx) => ({
  tag: 'SHOW',
  result: resultSet('ssssiiii', NAMES, ctx.view.users().map((r) => NAMES.map((n) => r[n]))),
});
