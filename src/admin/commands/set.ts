/**
 * SET key = value. Only the parameters drivers set on connect are accepted, with PgBouncer's
 * NOTICE "SET ignored"; gatehouse's configuration changes through the file and RELOAD, so any other
 * key is "admin access needed" for a stats user and "SET failed" for an admin.
 */
import { ConsoleError } from '../view.js';
import type { CommandResult } from '../result.js';
import type { ConsoleContext } from './types.js';
import { FAKE_PARAMS } from './show.js';

export function runSet(ctx: ConsoleContext, key: string): CommandResult {
  if (FAKE_PARAMS.has(key.toLowerCase())) {
    return { tag: 'SET', notices: [{ severity: 'NOTICE', code: '00000', message: 'SET ignored' }] };
  }
  if (ctx.access !== 'admin') throw new ConsoleError('admin access needed');
  throw new ConsoleError('SET failed');
}
