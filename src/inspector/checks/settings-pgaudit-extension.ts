/**
 * GH-AUD-003: pgaudit is loaded (shared_preload_libraries) but `CREATE EXTENSION pgaudit` was not run in
 * the audited database, so its event triggers are missing and DDL records lack the object type and
 * name (pgaudit README "Settings"). Live only: pg_extension is per database.
 */
import type { Check } from '../types.js';
import { cis, factNeeds, found, setting, settingNeeds, skip } from './finding.js';
import { preloadLibraries } from './settings-pgaudit-loaded.js';

const ID = 'GH-AUD-003';
const TITLE = 'pgaudit extension not created';

export const pgauditExtension: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const libs = setting(facts, 'shared_preload_libraries', '');
    if (libs === null) return skip(ID, TITLE, settingNeeds(facts));
    if (!preloadLibraries(libs.value).some((l) => l.toLowerCase() === 'pgaudit')) return found([]); // GH-AUD-001 says it
    const ext = facts.catalog?.extensions;
    if (!ext) return skip(ID, TITLE, factNeeds(facts, 'extensions'));
    if (ext.includes('pgaudit')) return found([]);
    const db = facts.catalog?.database ?? '?';
    return found([{
      id: ID, title: `${TITLE}: pgaudit is loaded but not created in database ${db}`, severity: 'medium', confidence: 'certain',
      evidence: [libs.evidence, { kind: 'row', query: `pg_extension (database ${db})`, row: { extname: 'pgaudit', installed: false } }],
      remediation: `In database ${db} (and every other one): CREATE EXTENSION pgaudit;`,
      references: [cis('3.2'), 'STIG CD16-00-000700', 'https://github.com/pgaudit/pgaudit#settings'],
    }]);
  },
};
