/**
 * GH-LOG-003: log_statement = ddl, mod or all writes statements to the log verbatim, including
 * CREATE/ALTER ROLE ... PASSWORD '...' in clear text (runtime-config-logging.html, log_statement note).
 */
import type { Check } from '../types.js';
import { cis, found, settingNeeds, setting, skip } from './finding.js';

const ID = 'GH-LOG-003';
const TITLE = 'log_statement can log passwords';

export const logStatement: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const s = setting(facts, 'log_statement', 'none');
    if (s === null) return skip(ID, TITLE, settingNeeds(facts));
    if (!['ddl', 'mod', 'all'].includes(s.value.trim().toLowerCase())) return found([]);
    return found([{
      id: ID, title: `${TITLE}: log_statement = '${s.value}' logs ALTER ROLE ... PASSWORD in clear text`, severity: 'low', confidence: 'certain',
      evidence: [s.evidence],
      remediation: "Set passwords with \\password in psql (it sends a SCRAM hash, never the cleartext), restrict the log files (log_file_mode = 0600), or use pgaudit instead of log_statement.",
      references: [cis('3.1.25'), 'https://www.postgresql.org/docs/current/runtime-config-logging.html#GUC-LOG-STATEMENT'],
    }]);
  },
};
