/** SHOW BANS: the guard's active bans and locked roles (docs/guard.md), soonest to end first. */
import { resultSet } from '../result.js';
import type { ShowCommand } from './types.js';

export const showBans: ShowCommand = (ctx) => ({
  tag: 'SHOW',
  result: resultSet('ssiT', ['source', 'reason', 'failures', 'banned_until'],
    ctx.view.guard().bans().map((b) => [b.source, b.reason, b.failures, b.banned_until])),
});
