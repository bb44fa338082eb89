/**
 * SHUTDOWN [WAIT_FOR_SERVERS|WAIT_FOR_CLIENTS]. Plain SHUTDOWN ends every session now (this one
 * too, so it gets no CommandComplete, as with PgBouncer); the WAIT_FOR_ forms stop accepting and
 * answer SHUTDOWN, and the process exits once the sessions have ended.
 */
import { InvalidCommand, type ConsoleCommand } from './types.js';

export const shutdown: ConsoleCommand = {
  access: 'admin',
  run(ctx, arg) {
    const mode = arg === '' ? 'immediate' : arg.toLowerCase();
    if (mode !== 'immediate' && mode !== 'wait_for_servers' && mode !== 'wait_for_clients') throw new InvalidCommand();
    ctx.view.shutdown(mode);
    return { tag: 'SHUTDOWN' };
  },
};
