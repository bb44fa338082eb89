/** UNBAN source: lift a ban (or unlock `role:<name>`); with a Redis store, on every instance. */
import { ConsoleError } from '../view.js';
import type { ConsoleCommand } from './types.js';

export const unban: ConsoleCommand = {
  access: 'admin',
  run(ctx, arg) {
    const source = arg.trim();
    if (!source || source.includes(' ')) throw new ConsoleError('UNBAN needs one source address: UNBAN 192.0.2.7');
    let lifted: boolean;
    try {
      lifted = ctx.view.guard().unban(source);
    } catch (e) {
      throw new ConsoleError((e as Error).message);
    }
    if (!lifted) throw new ConsoleError(`"${source}" is not banned`);
    return { tag: 'UNBAN' };
  },
};
