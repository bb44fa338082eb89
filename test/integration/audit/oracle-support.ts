/**
 * Runs the oracle corpus (test/spec/audit/corpus.ts) against a server with pgAudit and reads back
 * what pgAudit printed for each entry.
 *
 * The target is pluggable: `runCorpus(cluster, target)` sends the entries on a session opened with
 * `target(cluster)` (the server itself, or gatehouse in front of it), while a control connection
 * straight to the server writes a marker before each entry. The server must log to one stderr file
 * (pg_ctl -l, no logging_collector): then lines appear in the order they were written, and every
 * AUDIT line from a backend other than the control connection between the markers of entries k and
 * k+1 belongs to entry k.
 */
import { readFile, stat } from 'node:fs/promises';
import pg from 'pg';
import postgres from 'postgres';
import type { Cluster } from '../../harness/pg.js';
import { SETUP_SQL, type CorpusEntry } from '../../spec/audit/corpus.js';

/** Where the audited session connects. */
export interface CorpusTarget { host: string; port: number; user: string; password: string; database: string }
export type TargetOf = (cluster: Cluster) => CorpusTarget;

/** The server itself, as superuser over its Unix socket (COPY … PROGRAM needs superuser). */
export const directTarget: TargetOf = (c) => ({ host: c.socketDir, port: c.port, user: 'postgres', password: c.superuserPassword, database: 'postgres' });

/** One `AUDIT:` line. */
export interface AuditLine {
  pid: number;
  type: string;
  statementId: number;
  substatementId: number;
  cls: string;
  command: string;
  objectType: string;
  objectName: string;
  statement: string;
}

export interface CorpusRun {
  /** pgAudit's lines for each entry id, in log order. */
  lines: Map<string, AuditLine[]>;
  /** The SQLSTATE each entry failed with (absent: it succeeded). */
  errors: Map<string, string>;
}

const MARKER = 'gh-corpus-marker:';

/**
 * Runs SETUP_SQL, then every entry in order on one audited session (COPY … STDIN/STDOUT on a second one).
 * `afterEntry` runs (and is awaited) once each entry's answer is in.
 */
export async function runCorpus(cluster: Cluster, corpus: readonly CorpusEntry[], target: TargetOf = directTarget,
  afterEntry?: (entry: CorpusEntry) => void | Promise<void>): Promise<CorpusRun> {
  const control = new pg.Client({ ...directTarget(cluster) });
  await control.connect();
  const t = target(cluster);
  const session = new pg.Client(t);
  const copier = postgres({ host: t.host, port: t.port, user: t.user, pass: t.password, database: t.database, max: 1, fetch_types: false, onnotice: () => undefined });
  const errors = new Map<string, string>();
  try {
    const controlPid = (await control.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid ?? -1;
    await control.query(SETUP_SQL);
    await session.connect();
    session.on('notice', () => undefined);
    const offset = (await stat(cluster.logFile)).size;
    for (const entry of corpus) {
      await control.query(`SELECT '${MARKER}${entry.id}'`);
      const code = await runEntry(session, copier, entry);
      if (code) errors.set(entry.id, code);
      await afterEntry?.(entry);
    }
    await control.query(`SELECT '${MARKER}end'`);
    const log = (await readFile(cluster.logFile)).subarray(offset).toString('utf8');
    return { lines: splitByMarker(parseAuditLines(log), controlPid), errors };
  } finally {
    await session.end().catch(() => undefined);
    await copier.end({ timeout: 5 }).catch(() => undefined);
    await control.end().catch(() => undefined);
  }
}

/** Sends one entry; returns the SQLSTATE when it failed. */
async function runEntry(session: pg.Client, copier: postgres.Sql, e: CorpusEntry): Promise<string | undefined> {
  try {
    switch (e.mode ?? 'simple') {
      case 'simple': await session.query(e.sql); break;
      case 'extended': await session.query({ text: e.sql, values: e.params ?? [], queryMode: 'extended' } as pg.QueryConfig); break;
      case 'copy-out': for await (const chunk of await copier.unsafe(e.sql).readable()) void chunk; break;
      case 'copy-in': {
        const w = await copier.unsafe(e.sql).writable();
        await new Promise<void>((resolve, reject) => { w.on('error', reject); w.on('finish', resolve); w.end(e.copyData ?? ''); });
        break;
      }
    }
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code ?? 'unknown';
  }
}

/** Log records (a record's continuation lines have no timestamp) that carry `AUDIT:`. */
export function parseAuditLines(log: string): AuditLine[] {
  const records: string[] = [];
  for (const line of log.split('\n')) {
    if (/^\d{4}-\d\d-\d\d /.test(line) || records.length === 0) records.push(line);
    else records[records.length - 1] += `\n${line}`;
  }
  const out: AuditLine[] = [];
  for (const r of records) {
    const m = /^\S+ \S+ \S+ \[(\d+)\] .*?LOG: {2}AUDIT: ([A-Z]+),(\d+),(\d+),([A-Z_]+),([\s\S]*)$/.exec(r);
    if (!m) continue;
    const [command = '', objectType = '', objectName = '', statement = ''] = parseCsv(m[6] ?? '');
    out.push({
      pid: Number(m[1]), type: m[2] ?? '', statementId: Number(m[3]), substatementId: Number(m[4]), cls: m[5] ?? '',
      command, objectType, objectName, statement,
    });
  }
  return out;
}

/** pgAudit's CSV: a field is quoted only when it holds `,`, `"` or a newline; `""` escapes a quote. */
function parseCsv(s: string): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i <= s.length) {
    if (s[i] === '"') {
      let v = '';
      for (i++; i < s.length; i++) {
        if (s[i] === '"' && s[i + 1] === '"') { v += '"'; i++; } else if (s[i] === '"') { i++; break; } else v += s[i];
      }
      fields.push(v);
      i++; // the comma
    } else {
      const comma = s.indexOf(',', i);
      const end = comma < 0 ? s.length : comma;
      fields.push(s.slice(i, end));
      i = end + 1;
    }
  }
  return fields;
}

function splitByMarker(lines: AuditLine[], controlPid: number): Map<string, AuditLine[]> {
  const out = new Map<string, AuditLine[]>();
  let current: string | undefined;
  for (const l of lines) {
    if (l.pid === controlPid) {
      const at = l.statement.indexOf(MARKER);
      if (at >= 0) current = /^[\w-]+/.exec(l.statement.slice(at + MARKER.length))?.[0];
      continue;
    }
    if (current === undefined || current === 'end') continue;
    const list = out.get(current) ?? [];
    list.push(l);
    out.set(current, list);
  }
  return out;
}

/** pgAudit logs these utility statements before running them; other utility statements are logged after their nested lines. */
const LOGGED_FIRST = new Set(['DO', 'CREATE EXTENSION', 'ALTER EXTENSION', 'CLOSE CURSOR', 'CLOSE CURSOR ALL']);
/** Lines the executor writes (at its permission check, before running): a nested query's lines inside a utility statement. */
const EXECUTOR_COMMANDS = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', '???']);

/**
 * The line of each top-level statement, one per statement id in order. pgAudit numbers nested work
 * (a function's EXECUTE line, the SELECT inside CREATE TABLE AS, EXPLAIN or DECLARE) with the same
 * statement id. The top-level line is the first of its id when the statement went through the
 * executor or is logged before it runs (DO), otherwise the last: a utility statement is logged after
 * standard_ProcessUtility returns, so its nested lines come first.
 */
export function topLevelLines(lines: readonly AuditLine[]): AuditLine[] {
  const groups = new Map<number, AuditLine[]>();
  for (const l of lines) {
    const g = groups.get(l.statementId) ?? [];
    g.push(l);
    groups.set(l.statementId, g);
  }
  return [...groups.values()].map((g) => {
    const first = g[0] as AuditLine;
    const last = g[g.length - 1] as AuditLine;
    if (LOGGED_FIRST.has(first.command)) return first;
    const nested = EXECUTOR_COMMANDS.has(last.command) || (last.cls === 'FUNCTION' && last.command === 'EXECUTE');
    return nested ? first : last;
  });
}
