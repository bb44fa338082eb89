/**
 * GH-CONF-001: postgresql.conf lines PostgreSQL refuses (guc-file.l). At start the server does not
 * start; on reload (pg_reload_conf) the whole file is ignored and the old settings stay, so the file
 * on disk no longer says what the server runs (pg_file_settings.error shows the same).
 */
import type { Check } from '../types.js';
import { found, NEEDS_CONF, skip } from './finding.js';

const ID = 'GH-CONF-001';
const TITLE = 'postgresql.conf error';

export const confErrors: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    if (!facts.confErrors) return skip(ID, TITLE, facts.unavailable?.['confErrors'] ?? NEEDS_CONF);
    return found(facts.confErrors.map((e) => ({
      id: ID, title: `${TITLE}: ${e.message}`, severity: 'high', confidence: 'certain',
      evidence: [{ kind: 'file', file: e.file, line: e.line, text: e.message }],
      remediation: 'Fix the line, then check with SELECT sourcefile, sourceline, error FROM pg_file_settings WHERE error IS NOT NULL before reloading.',
      references: ['https://www.postgresql.org/docs/current/config-setting.html', 'https://www.postgresql.org/docs/current/view-pg-file-settings.html'],
    })));
  },
};
