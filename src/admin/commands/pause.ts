/**
 * PAUSE [db]: new clients of the database (of all, without an argument) wait, and the command
 * returns once no server of it is linked to a client. In session mode that is once every session
 * of it has ended: PgBouncer's meaning ("in session pooling mode the client must disconnect").
 */
import type { ConsoleCommand } from './types.js';
import { databaseArg } from './db-arg.js';

export const pause: ConsoleCommand = {
  access: 'admin',
  async run(ctx, arg) {
    await ctx.view.pause(databaseArg(ctx, arg, 'pause'));
    return { tag: 'PAUSE' };
  },
};
