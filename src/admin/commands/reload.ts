/** RELOAD: re-read the configuration and every file it names, all or nothing (invariant 6). */
import { InvalidCommand, type ConsoleCommand } from './types.js';

export const reload: ConsoleCommand = {
  access: 'admin',
  run(ctx, arg) {
    if (arg !== '') throw new InvalidCommand();
    ctx.view.reload();
    return { tag: 'RELOAD' };
  },
};
