/**
 * The few bytes the session taps read and write: where a refused statement goes instead of the
 * server (a DO block that fails on the server, so the refusal lands in order and fails an open
 * transaction block exactly as PostgreSQL would), and the small reads of ErrorResponse and
 * CommandComplete that a statement record needs. Messages here include their type byte and length.
 */
import { FrontendCode as F } from '../protocol/codes.js';
import * as fe from '../protocol/frontend/encode.js';
import { decodeBind } from '../protocol/frontend/decode.js';

/**
 * Runs in place of a refused statement. It carries no part of the refused text (which never
 * reaches the server) and no rule name: the tap replaces the server's error with its own.
 */
const REFUSAL_SQL = "DO $gatehouse$BEGIN RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'permission denied by gatehouse policy'; END$gatehouse$";

/** The simple Query sent instead of a refused one (or of a refused fastpath FunctionCall: both end with ReadyForQuery). */
export const refusalQuery: Buffer = fe.query(REFUSAL_SQL);

/** A Parse of the refusal under the client's statement name, with no parameters ({@link refusalBind} drops them). */
export function refusalParse(name: string): Buffer {
  return fe.parse(name, REFUSAL_SQL);
}

/**
 * The client's Bind to a refused statement, without its parameters and result formats (the
 * refusal has neither), so the server's only error is the refusal's own at Execute.
 */
export function refusalBind(m: Buffer): Buffer {
  const b = decodeBind(m.subarray(5));
  return fe.bind(b.portal, b.statement, []);
}

/** The SQLSTATE (field C) of an ErrorResponse, without decoding the other fields. */
export function errorCode(m: Buffer): string {
  let p = 5;
  while (p < m.length && m[p] !== 0) {
    const end = m.indexOf(0, p + 1);
    if (end < 0) break;
    if (m[p] === 0x43 /* C */) return m.toString('latin1', p + 1, end);
    p = end + 1;
  }
  return '';
}

/**
 * Rows from a CommandComplete tag (`SELECT 3`, `INSERT 0 3`, `COPY 3` → 3); -1 when the tag has no
 * count. The message is `m`, or the `len` bytes of it from `at`.
 */
export function tagRows(m: Buffer, at = 0, len = m.length - at): number {
  const end = at + len - 1;
  let p = end;
  let n = 0;
  let scale = 1;
  while (p > at + 5) {
    const c = m[p - 1] as number;
    if (c < 0x30 || c > 0x39) break;
    n += (c - 0x30) * scale;
    scale *= 10;
    p--;
  }
  return p < end && m[p - 1] === 0x20 ? n : -1;
}

/** The parameter values of a Bind as text (`null` for SQL NULL, `<binary>` for binary-format ones). */
export function bindParameters(m: Buffer): (string | null)[] {
  const b = decodeBind(m.subarray(5));
  return b.params.map((v, i) => {
    if (v === null) return null;
    const format = b.paramFormats.length === 1 ? b.paramFormats[0] : (b.paramFormats[i] ?? 0);
    return format === 1 ? '<binary>' : v.toString('utf8');
  });
}

/** The portal and statement names of a Bind (message offsets, no copies until asked). */
export function bindNames(m: Buffer): { portal: string; statement: string } {
  const portalEnd = m.indexOf(0, 5);
  const statementEnd = m.indexOf(0, portalEnd + 1);
  return { portal: m.toString('utf8', 5, portalEnd), statement: m.toString('utf8', portalEnd + 1, statementEnd) };
}

/** True for a message type that the client side of a tap reads. */
export const tapReads = (type: number): boolean =>
  type === F.Query || type === F.Parse || type === F.Bind || type === F.Execute || type === F.Close || type === F.FunctionCall;
