/**
 * Helpers for the admin console tests: psql with its header row (to check PgBouncer's column names
 * exactly as psql shows them), and a pg client that speaks the simple protocol to the console.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { clientBin } from '../../harness/pg.js';

export interface Table {
  code: number;
  columns: string[];
  rows: string[][];
  stderr: string;
}

function psqlEnv(password: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, LC_ALL: 'C', PGCONNECT_TIMEOUT: '10', PGPASSWORD: password };
}

/** psql -A (unaligned, with the header line, no footer), one command. */
export function psqlTable(conninfo: string, sql: string, password: string): Promise<Table> {
  return new Promise((resolve) => {
    const child = spawn(clientBin('psql'), [conninfo, '-X', '-A', '-F', '\t', '-P', 'footer=off', '-v', 'ON_ERROR_STOP=1', '-c', sql],
      { env: psqlEnv(password), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const lines = stdout.split('\n').filter((l) => l !== '');
      resolve({ code: code ?? -1, columns: lines[0]?.split('\t') ?? [], rows: lines.slice(1).map((l) => l.split('\t')), stderr: stderr.trim() });
    });
  });
}

/** A psql that runs `sql` in the background; `done` resolves with its exit code and output. */
export function psqlBackground(conninfo: string, sql: string, password: string): { child: ChildProcess; done: Promise<{ code: number; stdout: string; stderr: string }> } {
  const child = spawn(clientBin('psql'), [conninfo, '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql],
    { env: psqlEnv(password), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d));
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const done = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: stdout.trim(), stderr: stderr.trim() })));
  return { child, done };
}

/** A pg client on the console; queries without parameters go out as simple Query messages. */
export async function consoleClient(port: number, user: string, password: string, database = 'gatehouse'): Promise<pg.Client> {
  const c = new pg.Client({ host: '127.0.0.1', port, user, password, database, ssl: false });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

/** Polls `check` every 50 ms until it returns true (at most `ms`). */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The rows of a result as objects keyed by column name. */
export const byName = (t: Table): Record<string, string>[] =>
  t.rows.map((r) => Object.fromEntries(t.columns.map((c, i) => [c, r[i] ?? ''])));
