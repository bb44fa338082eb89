/**
 * Differential test: our pg_hba.conf engine against real PostgreSQL 15 and 18.
 *
 * 1. Parse: every corpus file (the spec tables, hand-written traps in test/spec/hba/corpus/, and
 *    generated files) is written as the server's pg_hba.conf and read back through
 *    pg_hba_file_rules, which re-reads the file on every query. Each row (rule number, file, line,
 *    type, databases, users, address, netmask, method, options, error) must equal what
 *    hbaFileRules() derives from our parse.
 * 2. Decide: decision files (every line `password` or `reject`) are loaded with pg_reload_conf(),
 *    then real connections from 127.0.0.1, 127.0.0.2, ::1 and the Unix socket ask for many
 *    database/user/replication combinations. The server's answer (no entry, reject, or a password
 *    request whose failure the server log ties to "Connection matched … line N") must equal the
 *    rule evaluateHba() picks.
 * The server's build (GSSAPI, LDAP, PAM…) is probed first and given to our parser, as the inspector does.
 */
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  compileHbaText, compileIdentText, evaluateHba, hbaFileRules, identFileMappings, resolveClientHostname, type HbaAttempt,
  type HbaBuildFeatures, type HbaParseOptions,
} from '../../src/hba/index.js';
import { giveToServer } from '../harness/pg-process.js';
import { availableVersions, HARNESS_HBA_LINE, startCluster, type Cluster, type PgVersion } from '../harness/pg.js';
import { generateHbaFile, prng, startupAnswer, type Target } from './hba-differential-support.js';

const SPEC_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'spec', 'hba');
const CORPUS_DIR = join(SPEC_DIR, 'corpus');
const versions = await availableVersions();

interface CorpusFile { name: string; text: string }

/** Spec tables, hand-written corpus files and generated ones: at least 100 files. */
function parseCorpus(): CorpusFile[] {
  const read = (dir: string, ext: string): CorpusFile[] => readdirSync(dir).filter((f) => f.endsWith(ext)).sort()
    .map((f) => ({ name: f, text: readFileSync(join(dir, f), 'utf8') }));
  const generated = Array.from({ length: 90 }, (_, i) => ({ name: `generated-${i + 1}`, text: generateHbaFile(prng(i + 1)) }));
  return [...read(SPEC_DIR, '.rules'), ...read(CORPUS_DIR, '.conf'), ...generated];
}

/** Decision files: hand-written ones plus generated ones that use only password and reject. */
function decisionCorpus(): CorpusFile[] {
  const hand = readdirSync(CORPUS_DIR).filter((f) => f.startsWith('decide-')).sort()
    .map((f) => ({ name: f, text: readFileSync(join(CORPUS_DIR, f), 'utf8') }));
  return [...hand, ...Array.from({ length: 4 }, (_, i) => ({ name: `generated-decision-${i + 1}`, text: generateDecisionFile(prng(1000 + i)) }))];
}

function generateDecisionFile(rand: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const dbs = ['all', 'sameuser', 'samerole', 'replication', 'app', 'finance', '/^db', 'postgres', '"all"'];
  const users = ['all', '+admins', '+staff', 'alice', 'bob', '/^c', '"+admins"', 'repl'];
  const addrs = ['all', 'samehost', 'samenet', '127.0.0.1/32', '127.0.0.2/32', '127.0.0.0/8', '::1/128', '::/0', '0.0.0.0/0', 'localhost'];
  const lines = Array.from({ length: 6 + Math.floor(rand() * 6) }, () => {
    const type = pick(['local', 'host', 'host', 'hostnossl', 'hostssl']);
    const list = (pool: readonly string[]): string => (rand() < 0.7 ? pick(pool) : `${pick(pool)},${pick(pool)}`);
    const method = rand() < 0.25 ? 'reject' : 'password';
    return [type, list(dbs), list(users), ...(type === 'local' ? [] : [pick(addrs)]), method].join(' ');
  });
  return `${lines.join('\n')}\nhost all all all password\nlocal all all password\n`;
}

/** Which optional parts this server was built with, from its own "not supported by this build" errors. */
async function probeBuild(cluster: Cluster): Promise<HbaBuildFeatures> {
  const probe = ['host all all all gss', 'host all all all sspi', 'host all all all pam', 'host all all all bsd',
    'host all all all ldap ldapbasedn=x', 'hostssl all all all cert', 'hostgssenc all all all trust'];
  await cluster.writeFile('pg_hba.conf', `${probe.join('\n')}\n`);
  const rows = await cluster.query<{ line_number: number; error: string | null }>('SELECT line_number, error FROM pg_hba_file_rules');
  const ok = (line: number): boolean => !/not supported by this build/.test(rows.find((r) => r.line_number === line)?.error ?? '');
  return { gssapi: ok(1) && ok(7), sspi: ok(2), pam: ok(3), bsd: ok(4), ldap: ok(5), ssl: ok(6) };
}

type Row = Record<string, unknown>;

function ourRows(text: string, hbaPath: string, opts: HbaParseOptions, version: PgVersion): Row[] {
  return hbaFileRules(compileHbaText(text, hbaPath, opts)).map((r) => ({
    ...(version >= 16 ? { rule_number: r.ruleNumber, file_name: r.fileName } : {}),
    line_number: r.lineNumber, type: r.type, database: r.database, user_name: r.userName, address: r.address,
    netmask: r.netmask, auth_method: r.authMethod, options: r.options, error: r.error,
  }));
}

async function serverRows(cluster: Cluster, version: PgVersion): Promise<Row[]> {
  const cols = `${version >= 16 ? 'rule_number, file_name, ' : ''}line_number, type, database, user_name, address, netmask, auth_method, options, error`;
  return (await cluster.query<Row>(`SELECT ${cols} FROM pg_hba_file_rules`)).map((r) => ({ ...r }));
}

/** pg_ident.conf files, compared with pg_ident_file_mappings. */
function identCorpus(): CorpusFile[] {
  const dir = join(CORPUS_DIR, 'ident');
  return readdirSync(dir).filter((f) => f.endsWith('.conf')).sort().map((f) => ({ name: f, text: readFileSync(join(dir, f), 'utf8') }));
}

async function compareIdent(cluster: Cluster, version: PgVersion, f: CorpusFile): Promise<string | null> {
  const identPath = join(cluster.dataDir, 'pg_ident.conf');
  await cluster.writeFile('pg_ident.conf', f.text);
  const cols = `${version >= 16 ? 'map_number, file_name, ' : ''}line_number, map_name, sys_name, pg_username, error`;
  const theirs = (await cluster.query<Row>(`SELECT ${cols} FROM pg_ident_file_mappings`)).map((r) => ({ ...r }));
  const ours = identFileMappings(compileIdentText(f.text, identPath, { pgVersion: version })).map((r) => ({
    ...(version >= 16 ? { map_number: r.mapNumber, file_name: r.fileName } : {}),
    line_number: r.lineNumber, map_name: r.mapName, sys_name: r.sysName, pg_username: r.pgUsername, error: r.error,
  }));
  try {
    assert.deepStrictEqual(ours, theirs);
    return null;
  } catch {
    return `${f.name}:\n  ours:   ${JSON.stringify(ours)}\n  server: ${JSON.stringify(theirs)}`;
  }
}

/** Roles for decisions: bob is in admins through staff; carol directly; alice is in finance. */
const MEMBER_OF: Readonly<Record<string, readonly string[]>> = {
  alice: ['alice', 'finance'], bob: ['bob', 'staff', 'admins'], carol: ['carol', 'admins'], repl: ['repl'],
};

async function createRoles(cluster: Cluster): Promise<void> {
  for (const r of ['admins', 'staff', 'finance']) await cluster.createRole(r, { login: false });
  await cluster.query('GRANT admins TO staff');
  await cluster.createRole('alice', { inRoles: ['finance'] });
  await cluster.createRole('bob', { inRoles: ['staff'] });
  await cluster.createRole('carol', { inRoles: ['admins'] });
  await cluster.query('CREATE ROLE repl LOGIN REPLICATION');
}

interface Source { name: string; target: Target; address?: string }

async function sources(cluster: Cluster): Promise<Source[]> {
  const tcp = (from: string, to: string): Source => ({ name: from, target: { host: to, port: cluster.port, localAddress: from }, address: from });
  const list = [tcp('127.0.0.1', '127.0.0.1'), tcp('127.0.0.2', '127.0.0.1'), tcp('::1', '::1')];
  const usable: Source[] = [{ name: 'unix', target: { path: join(cluster.socketDir, `.s.PGSQL.${cluster.port}`) } }];
  for (const s of list) {
    const answer = await startupAnswer(s.target, { user: 'postgres', database: 'postgres' }).catch(() => null);
    if (answer !== null) usable.push(s);
  }
  return usable;
}

interface Probe { user: string; database: string; replication: HbaAttempt['replication'] }

const PROBES: Probe[] = [
  ...['alice', 'bob', 'carol', 'repl', 'ghost'].flatMap((user) => ['app', 'finance', 'alice', 'db12'].map((database) => ({ user, database, replication: 'none' as const }))),
  ...['repl', 'alice'].flatMap((user) => ['app', 'replication'].flatMap((database) =>
    (['physical', 'logical'] as const).map((replication) => ({ user, database, replication })))),
];

/** What the server did, as `none`, `reject`, or `line FILE:N` (from the password-failure log DETAIL). */
async function serverDecision(cluster: Cluster, src: Source, p: Probe, hbaPath: string): Promise<string> {
  const before = statSync(cluster.logFile).size;
  const params: Record<string, string> = { user: p.user, database: p.database };
  if (p.replication !== 'none') params.replication = p.replication === 'physical' ? 'true' : 'database';
  const answers = await startupAnswer(src.target, params, 'wrong-password');
  const last = answers.at(-1);
  if (last?.kind === 'error' && last.message.startsWith('no pg_hba.conf entry')) return 'none';
  if (last?.kind === 'error' && last.message.startsWith('pg_hba.conf rejects')) return 'reject';
  if (answers[0]?.kind === 'auth' && answers[0].code === 3) {
    const log = (await readFile(cluster.logFile)).subarray(before).toString();
    const m = /Connection matched (?:file "([^"]+)" line|pg_hba\.conf line) (\d+):/.exec(log);
    if (m) return `line ${m[1] ?? hbaPath}:${m[2] ?? ''}`;
  }
  return `unexpected ${JSON.stringify(answers)}`;
}

async function ourDecision(set: ReturnType<typeof compileHbaText>['ruleSet'], src: Source, p: Probe): Promise<string> {
  const exists = MEMBER_OF[p.user] !== undefined;
  const attempt: HbaAttempt = {
    socket: src.address === undefined ? 'local' : 'host', ssl: false, database: p.database, user: p.user, replication: p.replication,
    isMember: (role) => exists && (MEMBER_OF[p.user] ?? []).includes(role),
    ...(src.address !== undefined ? { address: src.address } : {}),
  };
  if (set.needsHostname && src.address !== undefined) attempt.hostname = await resolveClientHostname(src.address);
  const rule = evaluateHba(set, attempt);
  if (rule === null) return 'none';
  return rule.method === 'reject' ? 'reject' : `line ${rule.file}:${rule.line}`;
}

for (const version of [15, 18] as const) {
  describe(`pg_hba.conf differential against PostgreSQL ${version}`, { skip: versions.includes(version) ? false : 'not installed', timeout: 120_000 }, () => {
    let cluster: Cluster;
    let hbaPath: string;
    let opts: HbaParseOptions;

    before(async () => {
      cluster = await startCluster({ version });
      hbaPath = join(cluster.dataDir, 'pg_hba.conf');
      // The spec tables and corpus refer to include files by paths relative to pg_hba.conf.
      for (const entry of readdirSync(SPEC_DIR)) cpSync(join(SPEC_DIR, entry), join(cluster.dataDir, entry), { recursive: true });
      await giveToServer(cluster.dataDir);
      await createRoles(cluster);
      opts = { pgVersion: version, sslEnabled: false, build: await probeBuild(cluster) };
    });
    after(async () => { await cluster?.stop(); });

    it('parses every corpus file exactly as pg_hba_file_rules reports it', async (t) => {
      const corpus = [...parseCorpus(), ...decisionCorpus()];
      assert.ok(corpus.length >= 100, `corpus has only ${corpus.length} files`);
      const mismatches: string[] = [];
      for (const f of corpus) {
        await cluster.writeFile('pg_hba.conf', f.text);
        const theirs = await serverRows(cluster, version);
        const ours = ourRows(f.text, hbaPath, opts, version);
        try {
          assert.deepStrictEqual(ours, theirs);
        } catch {
          mismatches.push(`${f.name}:\n  ours:   ${JSON.stringify(ours)}\n  server: ${JSON.stringify(theirs)}`);
        }
      }
      t.diagnostic(`${corpus.length} files, build ${JSON.stringify(opts.build)}`);
      assert.deepEqual(mismatches, [], `${mismatches.length} of ${corpus.length} files differ`);
    });

    it('parses pg_ident.conf files exactly as pg_ident_file_mappings reports them', async () => {
      const mismatches: string[] = [];
      for (const f of identCorpus()) {
        const m = await compareIdent(cluster, version, f);
        if (m !== null) mismatches.push(m);
      }
      await cluster.writeFile('pg_ident.conf', '');
      assert.deepEqual(mismatches, []);
    });

    it('decides real connections as the server does', async (t) => {
      const srcs = await sources(cluster);
      const mismatches: string[] = [];
      const outcomes = new Map<string, number>();
      let compared = 0;
      for (const f of decisionCorpus()) {
        const text = `${HARNESS_HBA_LINE}\n${f.text}`;
        const compiled = compileHbaText(text, hbaPath, opts);
        if (compiled.errors.length > 0) continue; // e.g. include_dir on 15: the parse test covers it
        await cluster.setHba(f.text);
        for (const src of srcs) {
          for (const p of PROBES) {
            const [theirs, ours] = [await serverDecision(cluster, src, p, hbaPath), await ourDecision(compiled.ruleSet, src, p)];
            compared++;
            const kind = theirs.startsWith('line') ? (theirs.includes('/corpus/') ? 'included line' : 'line') : theirs.split(' ')[0] ?? '';
            outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
            if (theirs !== ours) mismatches.push(`${f.name} from ${src.name} ${JSON.stringify(p)}: ours ${ours}, server ${theirs}`);
          }
        }
      }
      t.diagnostic(`${compared} decisions from ${srcs.map((x) => x.name).join(', ')}: ${JSON.stringify(Object.fromEntries(outcomes))}`);
      assert.ok(compared >= 500, `only ${compared} decisions compared`);
      for (const kind of ['none', 'reject', 'line', ...(version >= 16 ? ['included line'] : [])]) assert.ok((outcomes.get(kind) ?? 0) > 0, `no "${kind}" outcome`);
      assert.deepEqual(mismatches, []);
    });
  });
}
