/**
 * Session-state hazards in transaction mode (PgBouncer's "features" page lists what breaks):
 * plain SET/RESET, session advisory locks, SQL PREPARE, LISTEN, temp tables without ON COMMIT
 * DROP (and anything created in `pg_temp`), WITH HOLD cursors and LOAD. A cheap lexical pass over
 * the statement bytes (no string copies): quotes, dollar quotes and comments are skipped, each
 * statement's leading keywords are read, and advisory-lock function names are looked for anywhere.
 * Where it cannot tell, it pins: a CREATE that names `pg_temp.x` anywhere (`CREATE TABLE t AS
 * SELECT * FROM pg_temp.x` makes a permanent table) pins all the same.
 *
 * The result packs the hazards a text creates (low byte) and those it clears (next byte).
 */

export const Hazard = {
  Set: 1,
  AdvisoryLock: 2,
  Prepare: 4,
  Listen: 8,
  TempTable: 16,
  HoldCursor: 32,
  Load: 64,
} as const;
export const ALL_HAZARDS = 127;

/** Names for logs and events. */
export function hazardNames(mask: number): string[] {
  const out: string[] = [];
  if (mask & Hazard.Set) out.push('SET');
  if (mask & Hazard.AdvisoryLock) out.push('advisory lock');
  if (mask & Hazard.Prepare) out.push('PREPARE');
  if (mask & Hazard.Listen) out.push('LISTEN');
  if (mask & Hazard.TempTable) out.push('temporary table');
  if (mask & Hazard.HoldCursor) out.push('WITH HOLD cursor');
  if (mask & Hazard.Load) out.push('LOAD');
  return out;
}

const lower = (c: number): number => (c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
const isWordStart = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c >= 0x80;
const isWordChar = (c: number): boolean => isWordStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x24;

/** Tokens: words (lowercased on compare), ';', '*' and anything else as one "other". */
const T_EOF = 0, T_WORD = 1, T_SEMI = 2, T_STAR = 3, T_OTHER = 4;

let text: Buffer = Buffer.alloc(0);
let pos = 0;
let end = 0;
let tokStart = 0;
let tokEnd = 0;

function next(): number {
  for (;;) {
    while (pos < end && (text[pos] as number) <= 0x20) pos++;
    if (pos >= end) return T_EOF;
    const c = text[pos] as number;
    const d = pos + 1 < end ? (text[pos + 1] as number) : 0;
    if (c === 0x2d && d === 0x2d) { // -- comment
      while (pos < end && text[pos] !== 0x0a) pos++;
      continue;
    }
    if (c === 0x2f && d === 0x2a) { // /* nested */ comment
      let depth = 0;
      while (pos < end) {
        if (text[pos] === 0x2f && text[pos + 1] === 0x2a) { depth++; pos += 2; }
        else if (text[pos] === 0x2a && text[pos + 1] === 0x2f) { depth--; pos += 2; if (depth === 0) break; }
        else pos++;
      }
      continue;
    }
    tokStart = pos;
    if (c === 0x27 || c === 0x22) { // 'string' or "identifier" ('' doubles; E'' backslashes are close enough)
      pos++;
      while (pos < end) {
        if (text[pos] === 0x5c && c === 0x27) { pos += 2; continue; }
        if (text[pos] === c) {
          if (text[pos + 1] === c) { pos += 2; continue; }
          break;
        }
        pos++;
      }
      pos++;
      tokEnd = pos;
      return T_OTHER;
    }
    if (c === 0x24 && (d === 0x24 || isWordStart(d))) { // $tag$ … $tag$
      let q = pos + 1;
      while (q < end && text[q] !== 0x24 && isWordChar(text[q] as number)) q++;
      if (text[q] === 0x24) {
        const tag = text.subarray(pos, q + 1);
        const close = text.indexOf(tag, q + 1);
        pos = close < 0 || close >= end ? end : close + tag.length;
        tokEnd = pos;
        return T_OTHER;
      }
    }
    if (isWordStart(c)) {
      pos++;
      while (pos < end && isWordChar(text[pos] as number)) pos++;
      tokEnd = pos;
      return T_WORD;
    }
    pos++;
    tokEnd = pos;
    return c === 0x3b ? T_SEMI : c === 0x2a ? T_STAR : T_OTHER;
  }
}

/** Is the current word `w` (lowercase ASCII)? */
function is(w: string): boolean {
  if (tokEnd - tokStart !== w.length) return false;
  for (let i = 0; i < w.length; i++) if (lower(text[tokStart + i] as number) !== w.charCodeAt(i)) return false;
  return true;
}

function word(): string {
  return text.toString('latin1', tokStart, tokEnd).toLowerCase();
}

const ADVISORY = new Set(['pg_advisory_lock', 'pg_advisory_lock_shared', 'pg_try_advisory_lock', 'pg_try_advisory_lock_shared']);

/**
 * Set by detectHazards() when a statement begins with SELECT or WITH: its `INTO TEMP t` (or `INTO
 * pg_temp.t`) creates a temporary table (SELECT INTO has no ON COMMIT clause, so the table outlives
 * the transaction). A WITH … INSERT INTO a table named "temp" counts too: pinning is the safe side.
 */
let selectLike = false;

/**
 * Is the current token (a word or a quoted name; any other token is not) the temporary schema as
 * a qualifier: `pg_temp.` (or `pg_temp_3.`, or `"pg_temp".`)? PostgreSQL makes anything created there temporary, whatever the statement says
 * (`CREATE TABLE pg_temp.t`, `CREATE FUNCTION pg_temp.f()`, `SELECT … INTO pg_temp.t`).
 */
function tempQualifier(): boolean {
  const s = tokStart;
  const e = tokEnd;
  if (text[s] === 0x22) {
    // A quoted name is exact: "pg_temp" only.
    if (e - s !== 9 || text[e - 1] !== 0x22) return false;
    for (let i = 0; i < 7; i++) if (text[s + 1 + i] !== PG_TEMP.charCodeAt(i)) return false;
  } else {
    if (e - s < 7) return false;
    for (let i = 0; i < 7; i++) if (lower(text[s + i] as number) !== PG_TEMP.charCodeAt(i)) return false;
    if (e - s > 7) {
      if (text[s + 7] !== 0x5f || e - s === 8) return false;
      for (let i = s + 8; i < e; i++) if ((text[i] as number) < 0x30 || (text[i] as number) > 0x39) return false;
    }
  }
  let q = e;
  while (q < end && (text[q] as number) <= 0x20) q++;
  return text[q] === 0x2e;
}
const PG_TEMP = 'pg_temp';

/** Checks the rest of a statement for advisory-lock calls and SELECT … INTO TEMP; returns the token that ended it. */
function restOfStatement(state: { set: number; clear: number }): number {
  let afterInto = false;
  for (;;) {
    const t = next();
    if (t === T_EOF || t === T_SEMI) return t;
    if (selectLike && afterInto && ((t === T_WORD && (is('temp') || is('temporary'))) || tempQualifier())) state.set |= Hazard.TempTable;
    if (t !== T_WORD) {
      afterInto = false;
      continue;
    }
    if (selectLike) afterInto = is('into') || (afterInto && (is('local') || is('global')));
    advisoryCall(state);
  }
}

/** The current word is a session advisory-lock call (a hazard) or pg_advisory_unlock_all (which clears it). */
function advisoryCall(state: { set: number; clear: number }): void {
  const n = tokEnd - tokStart;
  if (n >= 16 && n <= 27 && lower(text[tokStart] as number) === 0x70 && lower(text[tokStart + 1] as number) === 0x67) {
    const w = word();
    if (ADVISORY.has(w)) state.set |= Hazard.AdvisoryLock;
    else if (w === 'pg_advisory_unlock_all') state.clear |= Hazard.AdvisoryLock;
  }
}

const result = { set: 0, clear: 0 };

/**
 * The hazards created and cleared by the SQL in `buf[start, stop)`: `set | clear << 8`.
 * `tracked(name)` says whether SET of that parameter is tracked (reported by the server and
 * re-applied), which makes it harmless.
 */
export function detectHazards(buf: Buffer, start: number, stop: number, tracked: (lowerName: string) => boolean): number {
  text = buf;
  pos = start;
  end = stop;
  result.set = result.clear = 0;
  for (;;) {
    let t = next();
    if (t === T_EOF) break;
    if (t === T_SEMI) continue;
    selectLike = t === T_WORD && (is('select') || is('with'));
    if (t === T_WORD) t = statement(tracked);
    if (t === T_EOF) break;
    if (t !== T_SEMI && restOfStatement(result) === T_EOF) break;
  }
  text = EMPTY;
  return result.set | (result.clear << 8);
}
const EMPTY = Buffer.alloc(0);

/** Reads one statement from its first word; returns the token it stopped at (maybe mid-statement). */
function statement(tracked: (lowerName: string) => boolean): number {
  if (is('set')) return setStatement(tracked);
  if (is('reset')) {
    const t = next();
    if (t === T_WORD && is('all')) result.clear |= Hazard.Set;
    else if (t === T_WORD && !tracked(word())) result.set |= Hazard.Set;
    return t;
  }
  if (is('prepare')) {
    const t = next();
    if (!(t === T_WORD && is('transaction'))) result.set |= Hazard.Prepare;
    return t;
  }
  if (is('deallocate')) {
    let t = next();
    if (t === T_WORD && is('prepare')) t = next();
    if (t === T_WORD && is('all')) result.clear |= Hazard.Prepare;
    return t;
  }
  if (is('listen')) {
    result.set |= Hazard.Listen;
    return T_OTHER;
  }
  if (is('unlisten')) {
    const t = next();
    if (t === T_STAR) result.clear |= Hazard.Listen;
    return t;
  }
  if (is('load')) {
    result.set |= Hazard.Load;
    return T_OTHER;
  }
  if (is('discard')) {
    const t = next();
    if (t === T_WORD && is('all')) result.clear |= 127;
    else if (t === T_WORD && (is('temp') || is('temporary'))) result.clear |= Hazard.TempTable;
    return t;
  }
  if (is('close')) {
    const t = next();
    if (t === T_WORD && is('all')) result.clear |= Hazard.HoldCursor;
    return t;
  }
  if (is('create')) return createStatement();
  if (is('declare')) return declareStatement();
  return T_OTHER;
}

function setStatement(tracked: (lowerName: string) => boolean): number {
  const t = next();
  if (t !== T_WORD) return t;
  if (is('local') || is('transaction') || is('constraints')) return T_OTHER;
  if (is('session')) {
    result.set |= Hazard.Set;
    return T_OTHER;
  }
  if (!tracked(word())) result.set |= Hazard.Set;
  return T_OTHER;
}

function createStatement(): number {
  let t = next();
  if (t === T_WORD && is('or')) { next(); t = next(); } // OR REPLACE
  if (t === T_WORD && (is('global') || is('local'))) t = next();
  let temp = t === T_WORD && (is('temp') || is('temporary'));
  if (temp) t = next();
  if (t === T_WORD && is('unlogged')) t = next();
  const isTable = t === T_WORD && is('table');
  // ON COMMIT DROP makes a temp table transaction-scoped; anything else outlives the transaction.
  let state = 0; // 1: after ON, 2: after ON COMMIT
  let dropOnCommit = false;
  for (;;) {
    t = next();
    if (t === T_EOF || t === T_SEMI) break;
    if (!temp && tempQualifier()) temp = true;
    if (t !== T_WORD) {
      state = 0;
      continue;
    }
    if (isTable && state === 2 && is('drop')) dropOnCommit = true;
    state = is('on') ? 1 : state === 1 && is('commit') ? 2 : 0;
    advisoryCall(result);
  }
  if (temp && !dropOnCommit) result.set |= Hazard.TempTable;
  return t;
}

function declareStatement(): number {
  let t: number;
  let afterWith = false;
  for (;;) {
    t = next();
    if (t === T_EOF || t === T_SEMI) return t;
    if (t !== T_WORD) { afterWith = false; continue; }
    if (afterWith && is('hold')) {
      result.set |= Hazard.HoldCursor;
      return T_OTHER;
    }
    if (is('for')) return T_OTHER;
    afterWith = is('with');
  }
}
