/**
 * The offline audit over two fixture servers: a weak one that must produce each expected finding, and
 * a hardened one that must produce no critical or high finding.
 */
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runChecks } from '../../../src/inspector/checks/index.js';
import { collectOffline } from '../../../src/inspector/collect/offline.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

function audit(name: string): ReturnType<typeof runChecks> {
  const dir = join(FIXTURES, name);
  const c = collectOffline({ conf: join(dir, 'postgresql.conf'), hba: join(dir, 'pg_hba.conf') });
  assert.deepEqual(c.loadErrors, []);
  assert.deepEqual(c.warnings, []);
  return runChecks(c.facts);
}

describe('weak fixture', () => {
  const r = audit('weak');
  const at = (id: string): string[] => r.findings.filter((f) => f.id === id)
    .map((f) => `${f.severity} ${f.confidence} ${f.evidence.map((e) => ('line' in e ? e.line ?? 0 : 0)).join(',')}`);
  // id → `severity confidence evidence-lines` for each finding
  const EXPECTED: Record<string, string[]> = {
    'GH-HBA-003': ['critical certain 3'],
    'GH-HBA-010': ['high certain 2'],
    'GH-HBA-004': ['high certain 6'],
    'GH-HBA-005': ['medium certain 4'],
    'GH-HBA-006': ['high certain 4'],
    'GH-HBA-012': ['medium certain 3'],
    'GH-HBA-013': ['high possible 3', 'high possible 4', 'high certain 6'],
    'GH-HBA-001': ['medium certain 5'],
    'GH-HBA-011': ['medium certain 5,4'],
    'GH-HBA-008': ['low certain 5'],
    'GH-AUTH-001': ['high certain 4'],
    'GH-SSL-001': ['high certain 5'],
    'GH-NET-001': ['high certain 2,3,4'],
    'GH-NET-002': ['info certain 3,3,4'],
    'GH-LOG-001': ['medium certain 6,0'],
    'GH-LOG-002': ['medium certain 7'],
    'GH-LOG-003': ['low certain 9'],
    'GH-AUD-001': ['medium certain 8'],
    'GH-BAK-001': ['medium certain 0'],
    'GH-BAK-002': ['medium certain 10'],
  };
  for (const [id, want] of Object.entries(EXPECTED)) {
    test(`${id} is reported`, () => assert.deepEqual(at(id), want));
  }
  test('nothing else is reported, and nothing is skipped', () => {
    assert.deepEqual([...new Set(r.findings.map((f) => f.id))].sort(), Object.keys(EXPECTED).sort());
    assert.deepEqual(r.skipped, []);
  });
  test('every finding has a remediation and a reference', () => {
    for (const f of r.findings) {
      assert.ok(f.remediation.length > 20, f.id);
      assert.ok(f.references.length > 0, f.id);
    }
  });
  test('the trust host fix is an exact pg_hba.conf line', () => {
    assert.match(r.findings.find((f) => f.id === 'GH-HBA-003')?.remediation ?? '', /hostssl all all 10\.0\.0\.0\/8 scram-sha-256$/);
  });
});

describe('hardened fixture', () => {
  const r = audit('hardened');
  test('no critical or high finding', () => {
    assert.deepEqual(r.findings.filter((f) => f.severity === 'critical' || f.severity === 'high').map((f) => f.id), []);
  });
  test('settings from include_dir files count (pgaudit.log, archive_mode)', () => {
    assert.deepEqual(r.findings.filter((f) => f.id.startsWith('GH-AUD') || f.id.startsWith('GH-BAK')), []);
  });
});
