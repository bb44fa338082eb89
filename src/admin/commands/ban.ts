/**
 * BAN source [duration]: ban an address (or lock `role:<name>`) for `duration` (PostgreSQL-style:
 * `600`, `10min`, `1h`; default guard.bantime). With a Redis store the ban reaches every instance.
 */
import { duration } from '../../config/schema.js';
import { ConsoleError } from '../view.js';
import type { ConsoleCommand } from './types.js';

export const ban: ConsoleCommand = {
  access: 'admin',
  run(ctx, arg) {
    const [source, time, extra] = arg.split(' ').filter(Boolean);
    if (!source || extra !== undefined) throw new ConsoleError('BAN needs a source address and an optional duration: BAN 192.0.2.7 [10min]');
    let ms: number | undefined;
    if (time !== undefined) {
      const d = duration.safeParse(time);
      if (!d.success || d.data <= 0) throw new ConsoleError(`invalid duration "${time}": use a number of seconds or a value such as 10min, 1h, 1d`);
      ms = d.data;
    }
    try {
      ctx.view.guard().ban(source, ms);
    } catch (e) {
      throw new ConsoleError((e as Error).message);
    }
    return { tag: 'BAN' };
  },
};
