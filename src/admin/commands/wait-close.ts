/** WAIT_CLOSE [db]: returns once no server of the database is waiting to be closed (after RECONNECT or RELOAD). */
import type { ConsoleCommand } from './types.js';
import { databaseArg } from './db-arg.js';

export const waitClose: ConsoleCommand = {
  access: 'admin',
  async run(ctx, arg) {
    await ctx.view.waitClose(databaseArg(ctx, arg, 'wait in'));
    return { tag: 'WAIT_CLOSE' };
  },
};
