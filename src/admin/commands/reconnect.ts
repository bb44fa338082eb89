/** RECONNECT [db]: close each server connection of the database once it is released. */
import type { ConsoleCommand } from './types.js';
import { databaseArg } from './db-arg.js';

export const reconnect: ConsoleCommand = {
  access: 'admin',
  run(ctx, arg) {
    ctx.view.reconnect(databaseArg(ctx, arg, 'reconnect'));
    return { tag: 'RECONNECT' };
  },
};
