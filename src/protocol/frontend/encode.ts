/**
 * Encoders for the messages gatehouse sends to a server as a client (protocol-message-formats).
 * Messages that never change are built once at module load and shared: never mutate them.
 */
import { FrontendCode as F, MAX_CANCEL_KEY, MIN_CANCEL_KEY, StartupCode } from '../codes.js';
import { writer as w } from '../writer.js';

/** StartupMessage: Int32 PG_PROTOCOL(3, minor), name/value pairs, a final zero byte. */
export function startupMessage(params: ReadonlyMap<string, string> | Readonly<Record<string, string>>, minor = 0): Buffer {
  w.begin().int32(StartupCode.Protocol30 | minor);
  const entries = params instanceof Map ? params.entries() : Object.entries(params);
  for (const [name, value] of entries) w.cstring(name).cstring(value);
  return w.byte(0).end();
}

/** SSLRequest: Int32 8, Int32 80877103. */
export const sslRequest: Buffer = w.begin().int32(StartupCode.SSLRequest).end();

/** GSSENCRequest: Int32 8, Int32 80877104. */
export const gssencRequest: Buffer = w.begin().int32(StartupCode.GSSENCRequest).end();

/** CancelRequest: Int32 80877102, Int32 pid, the key (4 bytes in 3.0; 4..256 in 3.2). */
export function cancelRequest(pid: number, key: Buffer): Buffer {
  if (key.length < MIN_CANCEL_KEY || key.length > MAX_CANCEL_KEY) throw new RangeError('a cancel key is 4 to 256 bytes');
  return w.begin().int32(StartupCode.CancelRequest).int32(pid).bytes(key).end();
}

/** PasswordMessage ('p'): the password (or MD5 answer) as a string. */
export const passwordMessage = (password: string): Buffer => w.begin(F.PasswordMessage).cstring(password).end();

/** SASLInitialResponse ('p'): mechanism, Int32 length (-1 when there is no data), data. */
export function saslInitialResponse(mechanism: string, data: Buffer | null): Buffer {
  w.begin(F.PasswordMessage).cstring(mechanism);
  if (data === null) return w.int32(-1).end();
  return w.int32(data.length).bytes(data).end();
}

/** SASLResponse ('p'): the mechanism data. */
export const saslResponse = (data: Buffer): Buffer => w.begin(F.PasswordMessage).bytes(data).end();

/** Query ('Q'): the SQL text. */
export const query = (text: string): Buffer => w.begin(F.Query).cstring(text).end();

/** Parse ('P'): statement name, query, Int16 count, Int32 parameter type OIDs. */
export function parse(name: string, text: string, paramTypes: readonly number[] = []): Buffer {
  w.begin(F.Parse).cstring(name).cstring(text).count(paramTypes.length);
  for (const oid of paramTypes) w.int32(oid);
  return w.end();
}

/** Bind ('B'): portal, statement, parameter formats, values (null: SQL NULL), result formats. */
export function bind(
  portal: string, statement: string, params: readonly (Buffer | null)[],
  paramFormats: readonly number[] = [], resultFormats: readonly number[] = [],
): Buffer {
  w.begin(F.Bind).cstring(portal).cstring(statement);
  int16s(paramFormats);
  nullableValues(params);
  int16s(resultFormats);
  return w.end();
}

/** Describe ('D'): 'S' statement or 'P' portal, and its name. */
export const describe = (kind: 'S' | 'P', name: string): Buffer =>
  w.begin(F.Describe).byte(kind.charCodeAt(0)).cstring(name).end();

/** Close ('C'): 'S' statement or 'P' portal, and its name. */
export const close = (kind: 'S' | 'P', name: string): Buffer =>
  w.begin(F.Close).byte(kind.charCodeAt(0)).cstring(name).end();

/** Execute ('E'): portal and row limit (0: all rows). */
export const execute = (portal = '', maxRows = 0): Buffer => w.begin(F.Execute).cstring(portal).int32(maxRows).end();

/** CopyFail ('f'): why the client gives up. */
export const copyFail = (reason: string): Buffer => w.begin(F.CopyFail).cstring(reason).end();

/** FunctionCall ('F'): function OID, argument formats, arguments, result format. */
export function functionCall(oid: number, args: readonly (Buffer | null)[], argFormats: readonly number[] = [], resultFormat = 0): Buffer {
  w.begin(F.FunctionCall).int32(oid);
  int16s(argFormats);
  nullableValues(args);
  return w.int16(resultFormat).end();
}

/** Sync ('S'). */
export const sync: Buffer = w.begin(F.Sync).end();

/** Flush ('H'). */
export const flush: Buffer = w.begin(F.Flush).end();

/** Terminate ('X'). */
export const terminate: Buffer = w.begin(F.Terminate).end();

function int16s(list: readonly number[]): void {
  w.count(list.length);
  for (const n of list) w.int16(n);
}

function nullableValues(list: readonly (Buffer | null)[]): void {
  w.count(list.length);
  for (const v of list) {
    if (v === null) w.int32(-1);
    else w.int32(v.length).bytes(v);
  }
}
