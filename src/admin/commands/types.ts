/** The shape of a console command (PgBouncer's cmd_lookup entries). */
import type { CommandResult } from '../result.js';
import type { GatewayView } from '../view.js';

export type ConsoleAccess = 'admin' | 'stats';

/** What a command sees of the console session that runs it. */
export interface ConsoleContext {
  view: GatewayView;
  /** The console database the client connected to (`gatehouse` or `pgbouncer`). */
  database: string;
  user: string;
  /** Re-checked against the current config before every command. */
  access: ConsoleAccess;
}

export interface ConsoleCommand {
  /** `show`: any console role (admin.users and admin.stats_users); `admin`: admin.users only. */
  access: 'show' | 'admin';
  /** Runs with the argument ('' when none); throws ConsoleError to refuse. */
  run(ctx: ConsoleContext, arg: string): CommandResult | Promise<CommandResult>;
}

/** A SHOW subcommand: any console role may run it. */
export type ShowCommand = (ctx: ConsoleContext) => CommandResult;

/** Thrown for a malformed command; the console answers PgBouncer's "invalid command '…', use SHOW HELP;". */
export class InvalidCommand extends Error {
  constructor() {
    super('invalid command');
    this.name = 'InvalidCommand';
  }
}
