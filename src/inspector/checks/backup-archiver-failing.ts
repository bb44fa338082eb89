/**
 * GH-BAK-003: WAL archiving fails (pg_stat_archiver). High when the last failure is newer than the
 * last success: segments pile up in pg_wal and point-in-time recovery stops at the last archived one.
 * Low when failures happened but archiving has succeeded since.
 */
import type { Check } from '../types.js';
import { cis, factNeeds, found, isOn, setting, settingNeeds, skip, SEED_PATCHING } from './finding.js';

const ID = 'GH-BAK-003';
const TITLE = 'WAL archiving fails';

export const archiverFailing: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const mode = setting(facts, 'archive_mode', 'off');
    if (mode === null) return skip(ID, TITLE, settingNeeds(facts));
    if (!(isOn(mode.value) || mode.value === 'always')) return found([]); // GH-BAK-001 says it
    const a = facts.catalog?.archiver;
    if (!a) return skip(ID, TITLE, factNeeds(facts, 'archiver'));
    if (a.failedCount === 0) return found([]);
    const current = a.lastFailedTime !== null && (a.lastArchivedTime === null || a.lastFailedTime > a.lastArchivedTime);
    const command = setting(facts, 'archive_command', '');
    return found([{
      id: ID,
      title: current ? `${TITLE}: the last attempt failed (${a.lastFailedWal ?? '?'} at ${a.lastFailedTime})` : `${TITLE}: ${a.failedCount} failures since the statistics were reset (archiving has succeeded since)`,
      severity: current ? 'high' : 'low', confidence: 'certain',
      evidence: [{ kind: 'row', query: 'pg_stat_archiver', row: { failed_count: a.failedCount, last_failed_wal: a.lastFailedWal, last_failed_time: a.lastFailedTime, last_archived_time: a.lastArchivedTime } },
        ...(command ? [command.evidence] : [])],
      remediation: 'Read the server log for "archive command failed", run the archive_command by hand as the postgres user on the failing segment, fix it, and watch pg_stat_archiver.last_archived_time move.',
      references: [SEED_PATCHING, cis('7.4'), 'https://www.postgresql.org/docs/current/continuous-archiving.html'],
    }]);
  },
};
