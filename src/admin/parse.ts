/**
 * The console's grammar, as PgBouncer's admin.c reads it: `WORD [WORD] [;]` and `SET key = value`,
 * case-insensitive, where a WORD is `[0-9a-z_]+` or a double-quoted name (`""` inside stands for
 * `"`). Whitespace is space, tab, CR and LF.
 */

const WS0 = '[ \\t\\n\\r]*';
const WS1 = '[ \\t\\n\\r]+';
const WORD = '("(?:[^"]|"")+"|[0-9a-z_]+)';
const STRING = "('(?:[^']|'')*')";

const normalRx = new RegExp(`^${WS0}${WORD}(?:${WS1}${WORD})?${WS0}(?:;${WS0})?$`, 'i');
/**
 * gatehouse's BAN/UNBAN take an address (dots and colons are not WORD characters) and a duration:
 * `BAN 192.0.2.7 10min`, `UNBAN 2001:db8::7`, `UNBAN "role:alice"`.
 */
const banRx = new RegExp(`^${WS0}(ban|unban)${WS1}("(?:[^"]|"")+"|[0-9a-f.:]+)(?:${WS1}([0-9]+(?:\\.[0-9]+)?[a-z]*))?${WS0}(?:;${WS0})?$`, 'i');
const setWordRx = new RegExp(`^${WS0}set${WS1}${WORD}${WS0}(?:=|to)${WS0}${WORD}${WS0}(?:;${WS0})?$`, 'i');
const setStringRx = new RegExp(`^${WS0}set${WS1}${WORD}${WS0}(?:=|to)${WS0}${STRING}${WS0}(?:;${WS0})?$`, 'i');

/** PgBouncer's buffers: a command name under 16 bytes, an argument under 64, a SET value under 256. */
const MAX_CMD = 16;
const MAX_ARG = 64;
const MAX_VAL = 256;

export type ParsedCommand =
  | { kind: 'command'; name: string; arg: string }
  | { kind: 'set'; key: string; value: string }
  /** The text matched no form: PgBouncer's "invalid command". */
  | { kind: 'invalid' }
  /** A part was too long or empty: PgBouncer's "bad arguments". */
  | { kind: 'bad-arguments' };

/** copy_arg(): strips the quotes and undoubles the quote character; null when too long. */
function unquote(raw: string | undefined, quote: string, max: number): string | null {
  if (raw === undefined) return '';
  if (Buffer.byteLength(raw) >= max) return null;
  if (!raw.startsWith(quote)) return raw;
  return raw.slice(1, -1).replaceAll(quote + quote, quote);
}

export function parseCommand(query: string): ParsedCommand {
  const guard = banRx.exec(query);
  if (guard) {
    const source = unquote(guard[2], '"', MAX_ARG);
    if (source === null) return { kind: 'bad-arguments' };
    return { kind: 'command', name: guard[1]!, arg: guard[3] ? `${source} ${guard[3]}` : source };
  }
  const normal = normalRx.exec(query);
  if (normal) {
    const name = unquote(normal[1], '"', MAX_CMD);
    const arg = unquote(normal[2], '"', MAX_ARG);
    if (name === null || arg === null) return { kind: 'bad-arguments' };
    return { kind: 'command', name, arg };
  }
  const set = setStringRx.exec(query) ?? setWordRx.exec(query);
  if (set) {
    const key = unquote(set[1], '"', MAX_ARG);
    const value = unquote(set[2], set[2]?.startsWith("'") ? "'" : '"', MAX_VAL);
    if (!key || value === null) return { kind: 'bad-arguments' };
    return { kind: 'set', key, value };
  }
  return { kind: 'invalid' };
}
