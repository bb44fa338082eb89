/**
 * The console's command tables (PgBouncer's cmd_list and show_map): lookups by lower-case name.
 * Other modules add their commands with {@link registerConsoleCommand} / {@link registerShowCommand}
 * (the guard's BAN, UNBAN and SHOW BANS, for instance).
 */
import type { ConsoleCommand, ShowCommand } from './types.js';
import { showCommandFor } from './show.js';
import { showClients } from './show-clients.js';
import { showServers } from './show-servers.js';
import { showPools } from './show-pools.js';
import { showStats } from './show-stats.js';
import { showStatsTotals } from './show-stats-totals.js';
import { showStatsAverages } from './show-stats-averages.js';
import { showDatabases } from './show-databases.js';
import { showUsers } from './show-users.js';
import { showConfig } from './show-config.js';
import { showLists } from './show-lists.js';
import { showVersion } from './show-version.js';
import { showHelp } from './show-help.js';
import { pause } from './pause.js';
import { resume } from './resume.js';
import { reconnect } from './reconnect.js';
import { kill } from './kill.js';
import { killClient } from './kill-client.js';
import { waitClose } from './wait-close.js';
import { reload } from './reload.js';
import { shutdown } from './shutdown.js';
import { showBans } from './show-bans.js';
import { ban } from './ban.js';
import { unban } from './unban.js';

const showTable = new Map<string, ShowCommand>([
  ['bans', showBans],
  ['clients', showClients],
  ['config', showConfig],
  ['databases', showDatabases],
  ['help', showHelp],
  ['lists', showLists],
  ['pools', showPools],
  ['servers', showServers],
  ['stats', showStats],
  ['stats_totals', showStatsTotals],
  ['stats_averages', showStatsAverages],
  ['users', showUsers],
  ['version', showVersion],
]);

const show = showCommandFor(showTable);

const commandTable = new Map<string, ConsoleCommand>([
  ['ban', ban],
  ['kill', kill],
  ['kill_client', killClient],
  ['pause', pause],
  ['reconnect', reconnect],
  ['reload', reload],
  ['resume', resume],
  ['select', show],
  ['show', show],
  ['shutdown', shutdown],
  ['unban', unban],
  ['wait_close', waitClose],
]);

/** The command for a name, case-insensitive. */
export function lookupCommand(name: string): ConsoleCommand | undefined {
  return commandTable.get(name.toLowerCase());
}

/** Adds a top-level command (e.g. BAN). Names are case-insensitive; an existing name is an error. */
export function registerConsoleCommand(name: string, command: ConsoleCommand): void {
  const key = name.toLowerCase();
  if (commandTable.has(key)) throw new Error(`console command ${name} is already registered`);
  commandTable.set(key, command);
}

/** Adds a SHOW subcommand (e.g. SHOW BANS); any console role may run it. */
export function registerShowCommand(name: string, command: ShowCommand): void {
  const key = name.toLowerCase();
  if (showTable.has(key)) throw new Error(`SHOW ${name} is already registered`);
  showTable.set(key, command);
}
