/** SHOW HELP: a NOTICE listing the commands (PgBouncer's admin_show_help), then SHOW. */
import type { ShowCommand } from './types.js';

const USAGE = [
  '',
  '\tSHOW HELP|CONFIG|DATABASES|POOLS|CLIENTS|SERVERS|USERS|VERSION',
  '\tSHOW LISTS',
  '\tSHOW STATS|STATS_TOTALS|STATS_AVERAGES',
  '\tRELOAD',
  '\tPAUSE [<db>]',
  '\tRESUME [<db>]',
  '\tRECONNECT [<db>]',
  '\tKILL [<db>]',
  '\tKILL_CLIENT <client_id>',
  '\tSHUTDOWN',
  '\tSHUTDOWN WAIT_FOR_SERVERS|WAIT_FOR_CLIENTS',
  '\tWAIT_CLOSE [<db>]',
  '\tSHOW BANS',
  '\tBAN <address> [<duration>]',
  '\tUNBAN <address>',
].join('\n');

export const showHelp: ShowCommand = () => ({
  tag: 'SHOW',
  notices: [{ severity: 'NOTICE', code: '00000', message: 'Console usage', detail: USAGE }],
});
