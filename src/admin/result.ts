/**
 * Console result sets, described as PgBouncer describes them: a type letter per column
 * (pktbuf_write_RowDescription: 's' text, 'i' int4, 'q' int8, 'N' numeric, 'T' a time shown as
 * text). Encoding gives RowDescription, the DataRows and CommandComplete; the console adds
 * ReadyForQuery.
 */
import * as be from '../protocol/backend/encode.js';
import type { Notice } from '../protocol/backend/encode.js';

/** 's' text, 'i' int4, 'q' int8, 'N' numeric, 'T' epoch milliseconds shown as text. */
export type TypeLetter = 's' | 'i' | 'q' | 'N' | 'T';
export type Cell = string | number | null;

export interface ResultSet {
  /** One letter per column, e.g. 'ssii'. */
  types: string;
  names: readonly string[];
  rows: Cell[][];
}

/** What a command answers: an optional result set, notices, and the CommandComplete tag. */
export interface CommandResult {
  tag: string;
  result?: ResultSet;
  notices?: Notice[];
}

/** pg_type OIDs and typlen: text 25, int4 23, int8 20, numeric 1700. */
const TYPES: Record<TypeLetter, { typeOid: number; typeSize: number }> = {
  s: { typeOid: 25, typeSize: -1 },
  T: { typeOid: 25, typeSize: -1 },
  i: { typeOid: 23, typeSize: 4 },
  q: { typeOid: 20, typeSize: 8 },
  N: { typeOid: 1700, typeSize: -1 },
};

/** A result set; throws when the letters and names disagree (a programming error). */
export function resultSet(types: string, names: readonly string[], rows: Cell[][]): ResultSet {
  if (types.length !== names.length || /[^siqNT]/.test(types)) throw new Error(`bad column description ${types}`);
  return { types, names, rows };
}

/** format_time_s(): `YYYY-MM-DD HH:MM:SS UTC` (gatehouse always prints UTC). */
export function formatTime(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function cellText(type: TypeLetter, v: Cell): string | null {
  if (v === null) return null;
  if (type === 'T') return typeof v === 'number' ? formatTime(v) : v;
  if (typeof v === 'number') return type === 's' ? String(v) : String(Math.trunc(v));
  return v;
}

/** RowDescription, DataRows and CommandComplete, in one buffer. */
export function encodeResult(r: CommandResult): Buffer {
  const parts: Buffer[] = [];
  for (const n of r.notices ?? []) parts.push(be.noticeResponse(n));
  if (r.result) {
    const { types, names, rows } = r.result;
    const letters = [...types] as TypeLetter[];
    parts.push(be.typedRowDescription(names.map((name, i) => ({ name, ...TYPES[letters[i]!] }))));
    for (const row of rows) parts.push(be.dataRow(row.map((v, i) => cellText(letters[i]!, v))));
  }
  parts.push(be.commandComplete(r.tag));
  return Buffer.concat(parts);
}
