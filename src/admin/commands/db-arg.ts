/** The database argument of PAUSE, RESUME, RECONNECT, KILL and WAIT_CLOSE, checked as PgBouncer checks it. */
import { ConsoleError } from '../view.js';
import type { ConsoleContext } from './types.js';

/** The console's own databases: they are not pools and cannot be paused, killed or waited on. */
export const CONSOLE_DATABASES: ReadonlySet<string> = new Set(['gatehouse', 'pgbouncer']);

/**
 * `''` → undefined (all databases). Otherwise the name must be a database gatehouse serves
 * ("no such database: %s") and not a console database ("cannot <verb> admin db: %s").
 */
export function databaseArg(ctx: ConsoleContext, arg: string, verb: string): string | undefined {
  if (arg === '') return undefined;
  if (CONSOLE_DATABASES.has(arg)) throw new ConsoleError(`cannot ${verb} admin db: ${arg}`);
  if (!ctx.view.hasDatabase(arg)) throw new ConsoleError(`no such database: ${arg}`);
  return arg;
}
