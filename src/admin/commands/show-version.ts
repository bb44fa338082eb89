/** SHOW VERSION: one row, one `version` column (pgbouncer_exporter requires exactly that shape). */
import { resultSet } from '../result.js';
import { GATEHOUSE_VERSION } from '../version.js';
import type { ShowCommand } from './types.js';

export const showVersion: ShowCommand = () => ({
  tag: 'SHOW',
  result: resultSet('s', ['version'], [[`gatehouse ${GATEHOUSE_VERSION}`]]),
});
