/**
 * Encoders for the messages gatehouse sends to clients as a server (protocol-message-formats).
 * Messages that never change are built once at module load and shared: never mutate them.
 */
import { AuthCode, BackendCode as B, MAX_CANCEL_KEY, MIN_CANCEL_KEY, StartupCode, type TransactionStatus } from '../codes.js';
import { writer as w } from '../writer.js';

const authentication = (code: number): Buffer => w.begin(B.Authentication).int32(code).end();

/** AuthenticationOk: Int32 0. */
export const authenticationOk: Buffer = authentication(AuthCode.Ok);

/** AuthenticationCleartextPassword: Int32 3. */
export const authenticationCleartextPassword: Buffer = authentication(AuthCode.CleartextPassword);

/** AuthenticationMD5Password: Int32 5, Byte4 salt. */
export function authenticationMD5Password(salt: Buffer): Buffer {
  if (salt.length !== 4) throw new RangeError('an MD5 salt is 4 bytes');
  return w.begin(B.Authentication).int32(AuthCode.MD5Password).bytes(salt).end();
}

/** AuthenticationSASL: Int32 10, the mechanism names, then an empty string. */
export function authenticationSASL(mechanisms: readonly string[]): Buffer {
  w.begin(B.Authentication).int32(AuthCode.SASL);
  for (const name of mechanisms) w.cstring(name);
  return w.byte(0).end();
}

/** AuthenticationSASLContinue: Int32 11, the server-first-message. */
export const authenticationSASLContinue = (data: Buffer): Buffer =>
  w.begin(B.Authentication).int32(AuthCode.SASLContinue).bytes(data).end();

/** AuthenticationSASLFinal: Int32 12, the server-final-message. */
export const authenticationSASLFinal = (data: Buffer): Buffer =>
  w.begin(B.Authentication).int32(AuthCode.SASLFinal).bytes(data).end();

/** What an ErrorResponse or NoticeResponse carries; a WireError fits. */
export interface Notice {
  severity: string;
  code: string;
  message: string;
  detail?: string | undefined;
  hint?: string | undefined;
}

/**
 * ErrorResponse / NoticeResponse fields S, V, C, M, D, H, in PostgreSQL's order (elog.c
 * send_message_to_frontend()). S and V are the same: gatehouse does not localize. No F/L/R: the
 * gateway's source locations are not the client's business.
 */
function notice(type: number, n: Notice): Buffer {
  w.begin(type).byte(0x53).cstring(n.severity).byte(0x56).cstring(n.severity)
    .byte(0x43).cstring(n.code).byte(0x4d).cstring(n.message);
  if (n.detail !== undefined) w.byte(0x44).cstring(n.detail);
  if (n.hint !== undefined) w.byte(0x48).cstring(n.hint);
  return w.byte(0).end();
}

/** ErrorResponse ('E'). */
export const errorResponse = (e: Notice): Buffer => notice(B.ErrorResponse, e);

/** NoticeResponse ('N'). */
export const noticeResponse = (n: Notice): Buffer => notice(B.NoticeResponse, n);

/** ParameterStatus ('S'): name, value. */
export const parameterStatus = (name: string, value: string): Buffer =>
  w.begin(B.ParameterStatus).cstring(name).cstring(value).end();

/** BackendKeyData ('K'): Int32 pid, then the key (4 bytes in 3.0; 4..256 in 3.2). A number is a 4-byte key, as a signed 32-bit integer. */
export function backendKeyData(pid: number, key: Buffer | number): Buffer {
  if (typeof key === 'number') return w.begin(B.BackendKeyData).int32(pid).int32(key).end();
  if (key.length < MIN_CANCEL_KEY || key.length > MAX_CANCEL_KEY) throw new RangeError('a cancel key is 4 to 256 bytes');
  return w.begin(B.BackendKeyData).int32(pid).bytes(key).end();
}

const ready = (status: TransactionStatus): Buffer => w.begin(B.ReadyForQuery).byte(status.charCodeAt(0)).end();
/** ReadyForQuery 'I': idle. */
export const readyForQueryIdle: Buffer = ready('I');
const readyInTransaction = ready('T');
const readyFailed = ready('E');

/** ReadyForQuery ('Z'): 'I' idle, 'T' in a transaction block, 'E' in a failed one. */
export const readyForQuery = (status: TransactionStatus): Buffer =>
  status === 'I' ? readyForQueryIdle : status === 'T' ? readyInTransaction : readyFailed;

/** NegotiateProtocolVersion ('v'): Int32 PG_PROTOCOL(3, newestMinor), Int32 count, option names. */
export function negotiateProtocolVersion(newestMinor: number, unsupported: readonly string[]): Buffer {
  w.begin(B.NegotiateProtocolVersion).int32(StartupCode.Protocol30 | newestMinor).int32(unsupported.length);
  for (const name of unsupported) w.cstring(name);
  return w.end();
}

/** Any message as type + body, e.g. a server's NoticeResponse forwarded unchanged. */
export const rawMessage = (type: number, body: Uint8Array): Buffer => w.begin(type).bytes(body).end();

/** The single unframed byte that answers SSLRequest: 'S' go ahead with TLS. */
export const sslYes: Buffer = Buffer.from('S');
/** The single unframed byte that answers SSLRequest or GSSENCRequest: 'N' no. */
export const sslNo: Buffer = Buffer.from('N');

/** CommandComplete ('C'): the command tag. */
export const commandComplete = (tag: string): Buffer => w.begin(B.CommandComplete).cstring(tag).end();

const TEXT_OID = 25;
/** RowDescription ('T') for text columns: name, no table (0, 0), type text, size -1, modifier -1, text format. */
export function rowDescription(columns: readonly string[]): Buffer {
  return typedRowDescription(columns.map((name) => ({ name, typeOid: TEXT_OID, typeSize: -1 })));
}

/** One column of a {@link typedRowDescription}: its type OID (pg_type.oid) and typlen (-1: varlena). */
export interface ColumnType {
  name: string;
  typeOid: number;
  typeSize: number;
}

/** RowDescription ('T') with a type per column; no table (0, 0), modifier -1, text format. */
export function typedRowDescription(columns: readonly ColumnType[]): Buffer {
  w.begin(B.RowDescription).count(columns.length);
  for (const c of columns) w.cstring(c.name).int32(0).int16(0).int32(c.typeOid).int16(c.typeSize).int32(-1).int16(0);
  return w.end();
}

/** DataRow ('D'): Int16 count, then per column Int32 length (-1: NULL) and the UTF-8 text. */
export function dataRow(values: readonly (string | null)[]): Buffer {
  w.begin(B.DataRow).count(values.length);
  for (const v of values) {
    if (v === null) w.int32(-1);
    else w.int32(Buffer.byteLength(v)).bytes(Buffer.from(v));
  }
  return w.end();
}

/** EmptyQueryResponse ('I'): the answer to an empty query string. */
export const emptyQueryResponse: Buffer = w.begin(B.EmptyQueryResponse).end();
