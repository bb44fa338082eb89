/**
 * `--format sarif`: valid against the SARIF 2.1.0 JSON schema, and shaped the way GitHub code
 * scanning reads it (rules with security-severity, results with levels, relative file locations,
 * stable fingerprints).
 *
 * The schema is the SARIF 2.1.0 (rtm.5) JSON schema that Microsoft's @microsoft/jest-sarif npm
 * package ships (lib/schemas/sarif-2.1.0-rtm.5.json, a copy of schemastore's
 * sarif-2.1.0-rtm.5.json); it is a draft-04 schema, hence ajv-draft-04. Its `language` pattern is
 * not a valid Unicode-mode regex, so ajv compiles patterns without the `u` flag.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import AjvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';
import { render } from '../../../src/inspector/report/index.js';
import { REPO_ROOT, richReport, weakReport } from './report-sample.js';
import { docsUrlFrom } from '../../../src/inspector/report/common.js';

const require = createRequire(import.meta.url);
const schema = JSON.parse(readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8')) as object;
// CommonJS packages: under NodeNext the default import is module.exports, whose .default is the export.
const ajv = new AjvDraft04.default({ allErrors: true, strict: false, unicodeRegExp: false });
ajvFormats.default(ajv);
const validate = ajv.compile(schema);

interface SarifLocation { physicalLocation?: { artifactLocation: { uri: string }; region?: { startLine: number } }; logicalLocations?: { name: string; kind: string }[] }
interface SarifResult { ruleId: string; ruleIndex: number; level: string; message: { text: string }; locations: SarifLocation[]; partialFingerprints: Record<string, string> }
interface SarifRule { id: string; name: string; help: { text: string; markdown: string }; helpUri?: string; defaultConfiguration: { level: string }; properties: { tags: string[]; 'security-severity': string } }
interface SarifLog {
  $schema: string; version: string;
  runs: { tool: { driver: { name: string; semanticVersion: string; informationUri?: string; rules: SarifRule[] } }; results: SarifResult[]; invocations: { toolExecutionNotifications: { level: string; message: { text: string } }[] }[] }[];
}

const sarif = (report = richReport()): SarifLog => JSON.parse(render('sarif', report, { color: false, baseDir: REPO_ROOT })) as SarifLog;

function schemaErrors(doc: unknown): string {
  return validate(doc) ? '' : JSON.stringify(validate.errors?.slice(0, 5), null, 1);
}

describe('SARIF report', () => {
  test('valid against the SARIF 2.1.0 schema (weak fixture, and every evidence kind with tables and skips)', () => {
    assert.equal(schemaErrors(sarif(weakReport())), '');
    assert.equal(schemaErrors(sarif()), '');
  });

  test('the schema check can fail: a made-up level is refused', () => {
    const log = sarif();
    log.runs[0]!.results[0]!.level = 'critical';
    assert.match(schemaErrors(log), /level/);
  });

  test('one run, tool gatehouse with version, one rule per finding id with GitHub security-severity', () => {
    const log = sarif();
    assert.equal(log.version, '2.1.0');
    assert.equal(log.runs.length, 1);
    const run = log.runs[0]!;
    assert.equal(run.tool.driver.name, 'gatehouse');
    assert.match(run.tool.driver.semanticVersion, /^\d+\.\d+\.\d+/);
    const ids = run.tool.driver.rules.map((r) => r.id);
    assert.deepEqual(ids, [...new Set(run.results.map((r) => r.ruleId))]);
    const byId = new Map(run.tool.driver.rules.map((r) => [r.id, r]));
    assert.equal(byId.get('GH-HBA-003')?.properties['security-severity'], '9.5');
    assert.equal(byId.get('GH-HBA-003')?.defaultConfiguration.level, 'error');
    assert.equal(byId.get('GH-SSL-001')?.properties['security-severity'], '8.0');
    assert.equal(byId.get('GH-LOG-002')?.properties['security-severity'], '5.5');
    assert.equal(byId.get('GH-LOG-002')?.defaultConfiguration.level, 'warning');
    assert.equal(byId.get('GH-LOG-003')?.properties['security-severity'], '3.0');
    assert.equal(byId.get('GH-LOG-003')?.defaultConfiguration.level, 'note');
    assert.deepEqual(byId.get('GH-HBA-003')?.properties.tags, ['security', 'postgresql', 'hba']);
    // package.json declares no homepage: no invented address, the help text stands alone.
    assert.equal(byId.get('GH-HBA-003')?.helpUri, undefined);
    assert.equal(run.tool.driver.informationUri, undefined);
    assert.match(byId.get('GH-HBA-003')?.help.text ?? '', /Fix:\n- Replace the line with: hostssl all all 10\.0\.0\.0\/8 scram-sha-256/);
    assert.match(byId.get('GH-HBA-003')?.help.markdown ?? '', /```\nReplace the line with: hostssl all all 10\.0\.0\.0\/8 scram-sha-256\n```/);
    assert.equal(byId.get('GH-HBA-003')?.name, 'GHHBA003TrustOnATcpLine');
  });

  test('results: ruleIndex points at the rule, file evidence is a relative path with a start line', () => {
    const run = sarif().runs[0]!;
    for (const r of run.results) assert.equal(run.tool.driver.rules[r.ruleIndex]?.id, r.ruleId);
    const trust = run.results.find((r) => r.ruleId === 'GH-HBA-003')!;
    assert.equal(trust.level, 'error');
    assert.deepEqual(trust.locations[0]?.physicalLocation, {
      artifactLocation: { uri: 'test/spec/inspector/fixtures/weak/pg_hba.conf' }, region: { startLine: 3 },
    });
    assert.match(trust.message.text, /^trust on a TCP line: .*\. Fix: Replace the line with: hostssl all all 10\.0\.0\.0\/8 scram-sha-256$/);
    const ssl = run.results.find((r) => r.ruleId === 'GH-SSL-001')!;
    assert.deepEqual(ssl.locations[0]?.physicalLocation?.region, { startLine: 5 });
  });

  test('no file: a setting at its default, a catalog row and a probe get a logical location, anchored at the postgresql.conf read', () => {
    const run = sarif().runs[0]!;
    const anchored = (id: string): SarifLocation | undefined => run.results.find((r) => r.ruleId === id)?.locations[0];
    const conf = { artifactLocation: { uri: 'test/spec/inspector/fixtures/weak/postgresql.conf' } };
    assert.deepEqual(anchored('GH-BAK-001'), { physicalLocation: conf, logicalLocations: [{ name: 'archive_mode', kind: 'variable' }], message: { text: "(default) archive_mode = 'off'" } });
    assert.deepEqual(anchored('GH-ROLE-001')?.logicalLocations, [{ name: 'pg_roles WHERE rolsuper AND rolcanlogin', kind: 'resource' }]);
    assert.deepEqual(anchored('GH-ROLE-001')?.physicalLocation, conf);
    assert.deepEqual(anchored('GH-PROBE-004')?.logicalLocations, [{ name: 'db.example.com:5432', kind: 'resource' }]);
    assert.equal(anchored('GH-HBA-002')?.physicalLocation?.artifactLocation.uri, 'file:///etc/postgresql/18/main/pg_hba.conf');
  });

  test('GitHub refuses an upload where any location lacks a physical location: every one has it', () => {
    for (const report of [richReport(), weakReport()]) {
      for (const r of sarif(report).runs[0]!.results) {
        assert.ok(r.locations.length > 0, r.ruleId);
        for (const l of r.locations) assert.ok(l.physicalLocation?.artifactLocation.uri, `${r.ruleId}: ${JSON.stringify(l)}`);
      }
    }
    // A probe-only audit read no file: its results are anchored at postgresql.conf.
    const probeOnly = richReport();
    probeOnly.result.findings = probeOnly.result.findings.filter((f) => f.id === 'GH-PROBE-004');
    assert.deepEqual(sarif(probeOnly).runs[0]!.results[0]!.locations[0]!.physicalLocation, { artifactLocation: { uri: 'postgresql.conf' } });
  });

  test('fingerprints are stable across runs and line moves, and differ between findings', () => {
    const a = sarif().runs[0]!.results;
    const b = sarif().runs[0]!.results;
    assert.deepEqual(a.map((r) => r.partialFingerprints), b.map((r) => r.partialFingerprints));
    const moved = richReport();
    const hba2 = moved.result.findings.find((f) => f.id === 'GH-HBA-002')!;
    hba2.evidence = hba2.evidence.map((e) => (e.kind === 'file' ? { ...e, line: e.line + 7 } : e));
    const c = sarif(moved).runs[0]!.results;
    assert.deepEqual(c.map((r) => r.partialFingerprints), a.map((r) => r.partialFingerprints));
    assert.equal(new Set(a.map((r) => r.partialFingerprints['gatehouseFinding/v1'])).size, a.length);
  });

  test('skipped checks and reading problems are tool execution notifications', () => {
    const notes = sarif().runs[0]!.invocations[0]!.toolExecutionNotifications;
    assert.deepEqual(notes.map((n) => n.level), ['warning', 'note', 'note']);
    assert.equal(notes[1]?.message.text, 'skipped GH-AUTH-002 roles with md5 password hashes: needs superuser (pg_authid) in live mode');
  });
});

test('docs links come from package.json homepage, and only from it', () => {
  assert.equal(docsUrlFrom(undefined), undefined);
  assert.equal(docsUrlFrom('not a url'), undefined);
  assert.equal(docsUrlFrom('https://example.org/gatehouse'), 'https://example.org/gatehouse/docs/audit.md');
  assert.equal(docsUrlFrom('https://example.org/gatehouse/'), 'https://example.org/gatehouse/docs/audit.md');
});
