/** KILL_CLIENT id: end one client (the id column of SHOW CLIENTS) with "admin forced disconnect". */
import { ConsoleError } from '../view.js';
import type { ConsoleCommand } from './types.js';

export const killClient: ConsoleCommand = {
  access: 'admin',
  run(ctx, arg) {
    // sscanf("%llu") takes leading digits; PgBouncer refuses anything that does not start with one.
    const m = /^\d+/.exec(arg);
    if (!m) throw new ConsoleError('invalid client pointer supplied');
    ctx.view.killClient(Number(m[0]));
    return { tag: 'KILL_CLIENT' };
  },
};
