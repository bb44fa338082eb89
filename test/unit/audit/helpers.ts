/** Shared by the audit unit tests: a logger that keeps its lines, and a statement record. */
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/log.js';
import type { StatementRecord } from '../../../src/audit/types.js';

export const quietLogger = (lines: string[] = []): ReturnType<typeof createLogger> =>
  createLogger('debug', new Writable({ write(c: Buffer, _e, cb) { lines.push(...c.toString().split('\n').filter(Boolean)); cb(); } }));

export const stmt = (n: number, text = `select ${n}`): StatementRecord => ({
  kind: 'statement', session: 1, user: 'app', database: 'shop', client: { address: '127.0.0.1', port: 5000 },
  statement_id: n, substatement_id: 1, class: 'READ', command: 'SELECT', objects: [], statement: text,
});

