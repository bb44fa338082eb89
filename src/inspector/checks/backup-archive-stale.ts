/**
 * GH-BAK-004: archive_mode is on but nothing was archived in the last day (or ever). A busy server
 * archives all the time; an idle one archives nothing unless archive_timeout forces a segment switch,
 * so this is "possible": check that the archive really receives WAL.
 */
import type { Check } from '../types.js';
import { cis, factNeeds, found, isOn, setting, settingNeeds, skip, SEED_PATCHING } from './finding.js';

const ID = 'GH-BAK-004';
const TITLE = 'no recent WAL archived';
const DAY_MS = 86_400_000;

export const archiveStale: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const mode = setting(facts, 'archive_mode', 'off');
    if (mode === null) return skip(ID, TITLE, settingNeeds(facts));
    if (!(isOn(mode.value) || mode.value === 'always')) return found([]);
    const a = facts.catalog?.archiver;
    if (!a) return skip(ID, TITLE, factNeeds(facts, 'archiver'));
    const now = Date.parse(facts.now ?? '');
    const last = a.lastArchivedTime === null ? null : Date.parse(a.lastArchivedTime);
    if (last !== null && now - last <= DAY_MS) return found([]);
    return found([{
      id: ID, title: last === null ? `${TITLE}: no WAL segment has been archived since the statistics were reset` : `${TITLE}: the last segment was archived at ${a.lastArchivedTime}`,
      severity: 'medium', confidence: 'possible',
      evidence: [{ kind: 'row', query: 'pg_stat_archiver', row: { archived_count: a.archivedCount, last_archived_time: a.lastArchivedTime } }],
      remediation: "Set archive_timeout = '15min' so an idle server still archives, check SELECT pg_switch_wal(); makes pg_stat_archiver.last_archived_time move, and check the archive itself (e.g. pgbackrest check).",
      references: [SEED_PATCHING, cis('7.4'), 'https://www.postgresql.org/docs/current/runtime-config-wal.html#GUC-ARCHIVE-TIMEOUT'],
    }]);
  },
};
