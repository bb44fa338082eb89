/**
 * SHOW <what> (and PgBouncer's alias SELECT <what>): a few session parameters that drivers ask
 * for get PgBouncer's fake answers (admin.c fake_param_list); the rest are looked up in the SHOW table.
 */
import { resultSet, type CommandResult } from '../result.js';
import { InvalidCommand, type ConsoleCommand, type ShowCommand } from './types.js';

/** Parameters some clients SHOW or SET on connect, answered without a server. */
export const FAKE_PARAMS: ReadonlyMap<string, string> = new Map([
  ['client_encoding', 'UTF-8'],
  ['default_transaction_isolation', 'read committed'],
  ['standard_conforming_strings', 'on'],
  ['datestyle', 'ISO'],
  ['timezone', 'GMT'],
  ['extra_float_digits', '2'],
]);

export function showCommandFor(table: ReadonlyMap<string, ShowCommand>): ConsoleCommand {
  return {
    access: 'show',
    run(ctx, arg): CommandResult {
      const what = arg.toLowerCase();
      const fake = FAKE_PARAMS.get(what);
      if (fake !== undefined) {
        const name = [...FAKE_PARAMS.keys()].find((k) => k === what)!;
        return { tag: 'SHOW', result: resultSet('s', [name], [[fake]]) };
      }
      const show = table.get(what);
      if (!show) throw new InvalidCommand();
      return show(ctx);
    },
  };
}
