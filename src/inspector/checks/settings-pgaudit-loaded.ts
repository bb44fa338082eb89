/** GH-AUD-001: pgaudit is not in shared_preload_libraries, so no session or object audit log (CIS 3.2, STIG). */
import type { Check } from '../types.js';
import { cis, found, settingNeeds, setting, skip } from './finding.js';

const ID = 'GH-AUD-001';
const TITLE = 'pgaudit not loaded';

/** shared_preload_libraries as a list (SplitDirectoriesString: commas, optional double quotes). */
export function preloadLibraries(value: string): string[] {
  return value.split(',').map((v) => v.trim().replace(/^"(.*)"$/, '$1').trim()).filter((v) => v !== '');
}

export const pgauditLoaded: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const s = setting(facts, 'shared_preload_libraries', '');
    if (s === null) return skip(ID, TITLE, settingNeeds(facts));
    if (preloadLibraries(s.value).some((l) => l.toLowerCase() === 'pgaudit')) return found([]);
    return found([{
      id: ID, title: `${TITLE}: shared_preload_libraries does not include pgaudit`, severity: 'medium', confidence: 'certain',
      evidence: [s.evidence],
      remediation: `Install pgaudit, set shared_preload_libraries = '${[...preloadLibraries(s.value), 'pgaudit'].join(',')}', restart, then run CREATE EXTENSION pgaudit; and set pgaudit.log = 'ddl,write,role'.`,
      references: [cis('3.2'), 'STIG CD16-00-000700', 'https://github.com/pgaudit/pgaudit#settings'],
    }]);
  },
};
