/**
 * GH-BAK-005: when a backup was last restored. Nothing inside the server records it, so this check is
 * always reported as skipped, to say plainly that the report cannot vouch for the backups.
 */
import type { Check } from '../types.js';
import { skip } from './finding.js';

const ID = 'GH-BAK-005';
const TITLE = 'last tested restore';

export const restoreTest: Check = {
  id: ID,
  title: TITLE,
  run: () => skip(ID, TITLE, 'evidence from outside the server: the last tested restore cannot be known from inside it (restore the latest base backup and WAL on a scratch host on a schedule, and keep the record)'),
};
