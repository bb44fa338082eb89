/**
 * `gatehouse audit-log verify`: recomputes the chain over JSON audit files given in order and
 * reports the first record that is broken or missing (docs/audit-log.md "Verifying").
 *
 * What each check catches: a changed record no longer hashes to the next record's `prev` (and,
 * with the key, its own `hmac` fails); a deleted line or a missing file is a gap in `seq`; a
 * reordered pair is a `seq` that goes back. A torn line (a crash cut a record short) is accepted
 * only when the writer acknowledged it with a `chain` record naming its SHA-256.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { GENESIS, checkLine, sha256Hex } from './chain.js';

export interface Where {
  file: string;
  line: number;
}

export interface VerifyProblem extends Where {
  message: string;
  expected?: string;
  found?: string;
}

export interface VerifyResult {
  records: number;
  firstSeq?: number;
  lastSeq?: number;
  /** The first problem; absent when the chain is intact. */
  problem?: VerifyProblem;
  /** Things to know that do not break the chain (a first file that does not start at seq 1, an acknowledged torn line). */
  notes: string[];
}

interface State {
  result: VerifyResult;
  /** seq and hash of the last good record, and where it was. */
  last: { seq: number; hash: string; at: Where } | null;
  /** A line that is not a record, waiting for the writer's acknowledgement on the next line. */
  torn: { at: Where; sha256: string; problem: string } | null;
}

/** Reads each file line by line (files of any size). Rejects only when a file cannot be read. */
export async function verifyFiles(files: readonly string[], key?: Buffer): Promise<VerifyResult> {
  const st: State = { result: { records: 0, notes: [] }, last: null, torn: null };
  for (const file of files) {
    let line = 0;
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    for await (const text of lines) {
      line++;
      if (st.result.problem) continue;
      const problem = step(st, text, { file, line }, key);
      if (problem) st.result.problem = problem;
    }
    if (st.result.problem) return st.result;
  }
  if (st.torn) st.result.problem = { ...st.torn.at, message: `${st.torn.problem}; no later record acknowledges it (if gatehouse is writing this file now, run again)` };
  return st.result;
}

function step(st: State, text: string, at: Where, key?: Buffer): VerifyProblem | undefined {
  const c = checkLine(text, key);
  if (!c.ok) {
    if (st.torn) return { ...st.torn.at, message: st.torn.problem };
    // Maybe a torn record: the next line decides.
    if (!c.problem.startsWith('seq ')) {
      st.torn = { at, sha256: sha256Hex(text), problem: c.problem };
      return undefined;
    }
    return { ...at, message: c.problem };
  }
  if (st.torn) {
    const torn = st.torn;
    st.torn = null;
    if (!acknowledges(c.record, torn.sha256)) return { ...torn.at, message: torn.problem };
    st.result.notes.push(`${torn.at.file}:${torn.at.line}: a torn record (cut short by a crash or a full disk), acknowledged by seq ${c.seq}`);
  }
  const broken = link(st, c.seq, c.prev, at);
  if (broken) return broken;
  st.last = { seq: c.seq, hash: c.hash, at };
  st.result.records++;
  st.result.firstSeq ??= c.seq;
  st.result.lastSeq = c.seq;
  return undefined;
}

/** Checks that a record continues the chain: the next seq, and prev = the previous line's hash. */
function link(st: State, seq: number, prev: string, at: Where): VerifyProblem | undefined {
  if (!st.last) {
    if (seq === 1 && prev !== GENESIS) return { ...at, message: 'seq 1 does not start from the genesis value', expected: `prev ${GENESIS}`, found: `prev ${prev}` };
    if (seq > 1) st.result.notes.push(`${at.file}:${at.line}: the chain starts at seq ${seq}; earlier records were not given, so this first link is not checked`);
    return undefined;
  }
  const expected = st.last.seq + 1;
  if (seq > expected) {
    return { ...at, message: `missing record${seq - expected > 1 ? 's' : ''}: seq ${expected}${seq - expected > 1 ? `..${seq - 1}` : ''} (deleted lines, a missing file, or records out of order)`,
      expected: `seq ${expected}`, found: `seq ${seq}` };
  }
  if (seq < expected) return { ...at, message: `seq ${seq} is out of order or repeated`, expected: `seq ${expected}`, found: `seq ${seq}` };
  if (prev !== st.last.hash) {
    // The previous line no longer hashes to what its successor recorded: it was changed (or this prev was).
    return { ...st.last.at, message: `record seq ${st.last.seq} was changed after it was written: its SHA-256 is not the prev of seq ${seq} (${at.file}:${at.line})`,
      expected: `sha256 ${prev}`, found: `sha256 ${st.last.hash}` };
  }
  return undefined;
}

function acknowledges(rec: Record<string, unknown>, sha: string): boolean {
  if (rec.kind !== 'chain' || rec.event !== 'torn_tail' || !Array.isArray(rec.torn)) return false;
  return (rec.torn as { sha256?: unknown }[]).some((t) => t.sha256 === sha);
}
