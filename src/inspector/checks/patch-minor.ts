/**
 * GH-PATCH-002: the server runs an older minor release than the latest of its major. Minor releases
 * carry only fixes (security ones included) and need no dump or pg_upgrade: install and restart.
 */
import type { Check } from '../types.js';
import { cis, found, skip, SEED_PATCHING } from './finding.js';
import { releaseRow, VERSIONING_DOC } from './patch-eol.js';

const ID = 'GH-PATCH-002';
const TITLE = 'old minor release';

export const patchMinor: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const r = releaseRow(facts);
    if ('needs' in r) return skip(ID, TITLE, r.needs);
    if (r.minor >= r.row.latestMinor) return found([]);
    const latest = `${r.major}.${r.row.latestMinor}`;
    return found([{
      id: ID, title: `${TITLE}: ${r.major}.${r.minor} is behind ${latest} (released ${r.row.latestReleased})`,
      severity: 'high', confidence: 'certain',
      evidence: [r.evidence, { kind: 'row', query: `release table of ${r.table.asOf}`, row: { major: r.major, latestMinor: latest, released: r.row.latestReleased } }],
      remediation: `Install ${latest} from your packages (e.g. apt-get install --only-upgrade postgresql-${r.major}) and restart the server; read the release notes at https://www.postgresql.org/docs/release/${latest}/ for any post-upgrade step.`,
      references: [SEED_PATCHING, cis('1.5'), VERSIONING_DOC],
    }]);
  },
};
