/** Builders for the inspector's facts in check tests (not a test file itself). */
import { compileHbaText } from '../../../src/hba/index.js';
import type { CatalogFacts, Facts, RoleFact } from '../../../src/inspector/types.js';

export const role = (name: string, o: Partial<RoleFact> = {}): RoleFact => ({
  name, superuser: false, createrole: false, createdb: false, canLogin: true, replication: false, bypassrls: false,
  validUntil: null, memberOf: [], bootstrap: false, ...o,
});

export const hbaFact = (text: string): NonNullable<Facts['hba']> => ({ path: 'pg_hba.conf', result: compileHbaText(text, 'pg_hba.conf') });

/** Live-mode facts: settings from the server, a catalog, a fixed clock. */
export function liveFacts(o: { settings?: Record<string, string>; catalog?: Partial<CatalogFacts>; hba?: string; now?: string } = {}): Facts {
  const facts: Facts = {
    settingsFrom: 'server',
    settings: new Map(Object.entries(o.settings ?? {}).map(([k, v]) => [k, { value: v, source: 'configuration file' }])),
    catalog: { database: 'app', ...o.catalog },
    now: o.now ?? '2026-11-22T00:00:00.000Z',
    unavailable: {},
  };
  if (o.hba !== undefined) facts.hba = hbaFact(o.hba);
  return facts;
}
