/**
 * Who may use the admin console (invariant 7: closed to non-admin roles). The role is looked up
 * in the current config at login and again before every command, so a RELOAD that removes a role
 * takes effect on its open console sessions too.
 */
import type { Config } from '../config/schema.js';
import { CONSOLE_DATABASES } from './commands/db-arg.js';
import type { ConsoleAccess } from './commands/types.js';

export { CONSOLE_DATABASES };

export const isConsoleDatabase = (database: string): boolean => CONSOLE_DATABASES.has(database);

/** 'admin' for admin.users, 'stats' for admin.stats_users, null for anyone else (PgBouncer's admin_post_login order). */
export function consoleAccess(config: Config, user: string): ConsoleAccess | null {
  if (config.admin.users.includes(user)) return 'admin';
  if (config.admin.stats_users.includes(user)) return 'stats';
  return null;
}
