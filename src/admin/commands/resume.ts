/** RESUME [db]: undoes PAUSE or KILL; waiting clients go on to their server. */
import { ConsoleError } from '../view.js';
import type { ConsoleCommand } from './types.js';

export const resume: ConsoleCommand = {
  access: 'admin',
  run(ctx, arg) {
    // PgBouncer's RESUME looks the name up without registering it: no "cannot … admin db" here.
    if (arg !== '' && !ctx.view.hasDatabase(arg)) throw new ConsoleError(`no such database: ${arg}`);
    ctx.view.resume(arg === '' ? undefined : arg);
    return { tag: 'RESUME' };
  },
};
