/** KILL [db]: end every client and server of the database now; new clients wait for RESUME. */
import type { ConsoleCommand } from './types.js';
import { databaseArg } from './db-arg.js';

export const kill: ConsoleCommand = {
  access: 'admin',
  run(ctx, arg) {
    ctx.view.kill(databaseArg(ctx, arg, 'kill'));
    return { tag: 'KILL' };
  },
};
