/** GH-LOG-002: log_line_prefix without %h (client host) or %u (user) cannot attribute log lines (CIS 3.1.24). */
import type { Check } from '../types.js';
import { cis, found, settingNeeds, setting, skip } from './finding.js';

const ID = 'GH-LOG-002';
const TITLE = 'log_line_prefix lacks client host or user';

export const logLinePrefix: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    // Default '%m [%p] ' since PostgreSQL 10.
    const s = setting(facts, 'log_line_prefix', '%m [%p] ');
    if (s === null) return skip(ID, TITLE, settingNeeds(facts));
    const missing = ['%h', '%u'].filter((esc) => !s.value.includes(esc) && !(esc === '%h' && s.value.includes('%r')));
    if (missing.length === 0) return found([]);
    return found([{
      id: ID, title: `${TITLE}: missing ${missing.join(' and ')}`, severity: 'medium', confidence: 'certain',
      evidence: [s.evidence],
      remediation: "Set log_line_prefix = '%m [%p] %q%u@%d from %h app=%a ' and reload.",
      references: [cis('3.1.24'), 'https://www.postgresql.org/docs/current/runtime-config-logging.html#GUC-LOG-LINE-PREFIX'],
    }]);
  },
};
