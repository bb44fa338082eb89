/**
 * Decoders for the server messages gatehouse reads while it logs in to a server (and the few it
 * watches while relaying). One per message; each reads exactly its message, and a short body or
 * leftover bytes are 08P01 (pqformat.c wording). Layouts: protocol-message-formats.
 */
import { AuthCode, MAX_CANCEL_KEY, MIN_CANCEL_KEY, type TransactionStatus } from '../codes.js';
import { violation } from '../errors.js';
import { BodyReader } from '../reader.js';

const r = new BodyReader();

/** The Authentication ('R') requests gatehouse answers. Buffers are copies: they outlive the chunk. */
export type Authentication =
  | { code: typeof AuthCode.Ok }
  | { code: typeof AuthCode.CleartextPassword }
  | { code: typeof AuthCode.MD5Password; salt: Buffer }
  | { code: typeof AuthCode.SASL; mechanisms: string[] }
  | { code: typeof AuthCode.SASLContinue; data: Buffer }
  | { code: typeof AuthCode.SASLFinal; data: Buffer };

/** Authentication ('R'): Int32 code, then what that code carries. Other codes are refused. */
export function decodeAuthentication(body: Buffer): Authentication {
  r.reset(body);
  const code = r.int32();
  switch (code) {
    case AuthCode.Ok:
    case AuthCode.CleartextPassword:
      return ended({ code });
    case AuthCode.MD5Password:
      return ended({ code, salt: Buffer.from(r.bytes(4)) });
    case AuthCode.SASL:
      return ended({ code, mechanisms: mechanisms() });
    case AuthCode.SASLContinue:
    case AuthCode.SASLFinal:
      return { code, data: Buffer.from(r.rest()) };
    default:
      // libpq fe-auth.c pg_fe_sendauth()
      throw violation(`authentication method ${code} not supported`);
  }
}

/** AuthenticationSASL: mechanism names, each a string, ended by an empty string. */
function mechanisms(): string[] {
  const names: string[] = [];
  for (let name = r.cstring(); name !== ''; name = r.cstring()) names.push(name);
  return names;
}

/** ErrorResponse and NoticeResponse fields by name, with their one-byte codes (protocol-error-fields). */
export const ErrorField = {
  severity: 'S', // localized
  severityNonLocalized: 'V',
  code: 'C',
  message: 'M',
  detail: 'D',
  hint: 'H',
  position: 'P',
  internalPosition: 'p',
  internalQuery: 'q',
  where: 'W',
  schema: 's',
  table: 't',
  column: 'c',
  dataType: 'd',
  constraint: 'n',
  file: 'F',
  line: 'L',
  routine: 'R',
} as const;

/** The fields of an ErrorResponse or NoticeResponse. S, C and M are always present (protocol-error-fields). */
export type NoticeFields = { -readonly [K in keyof typeof ErrorField]?: string } & {
  severity: string;
  code: string;
  message: string;
};

const fieldName = new Map<number, keyof typeof ErrorField>(
  Object.entries(ErrorField).map(([name, code]) => [code.charCodeAt(0), name as keyof typeof ErrorField]),
);

/** ErrorResponse ('E'): Byte1 field code and a string, repeated, then a zero byte. */
export const decodeErrorResponse = (body: Buffer): NoticeFields => noticeFields(body);

/** NoticeResponse ('N'): the same layout as ErrorResponse. */
export const decodeNoticeResponse = (body: Buffer): NoticeFields => noticeFields(body);

/** Unknown field codes are skipped, as the protocol asks ("frontends should silently ignore"). */
function noticeFields(body: Buffer): NoticeFields {
  r.reset(body);
  const fields: Partial<NoticeFields> = {};
  for (let code = r.byte(); code !== 0; code = r.byte()) {
    const value = r.cstring();
    const name = fieldName.get(code);
    if (name) fields[name] = value;
  }
  r.end();
  if (fields.severity === undefined || fields.code === undefined || fields.message === undefined) {
    throw violation('ErrorResponse or NoticeResponse without severity, code or message');
  }
  return fields as NoticeFields;
}

/** ParameterStatus ('S'): name, value. */
export function decodeParameterStatus(body: Buffer): { name: string; value: string } {
  r.reset(body);
  const name = r.cstring();
  const value = r.cstring();
  r.end();
  return { name, value };
}

/**
 * BackendKeyData ('K'): Int32 pid, then the key to the end of the message: 4 bytes in 3.0,
 * 4..256 in 3.2. The key is copied (it is kept for the connection's life).
 */
export function decodeBackendKeyData(body: Buffer): { pid: number; key: Buffer } {
  r.reset(body);
  const pid = r.int32();
  const key = r.rest();
  // libpq fe-protocol3.c getBackendKeyData()
  if (key.length < MIN_CANCEL_KEY) throw violation(`received invalid BackendKeyData message: cancel key with length ${key.length} is too short`);
  if (key.length > MAX_CANCEL_KEY) throw violation(`received invalid BackendKeyData message: cancel key with length ${key.length} is too long`);
  return { pid, key: Buffer.from(key) };
}

/** ReadyForQuery ('Z'): one status byte, 'I', 'T' or 'E'. */
export function decodeReadyForQuery(body: Buffer): TransactionStatus {
  const status = body.length === 1 ? body[0] : -1;
  if (status === 0x49) return 'I';
  if (status === 0x54) return 'T';
  if (status === 0x45) return 'E';
  throw violation('invalid ReadyForQuery message');
}

export interface NegotiateProtocolVersion {
  /** The newest minor version the server speaks for the major version asked for. */
  newestMinor: number;
  /** Protocol options (`_pq_.…`) it did not recognise. */
  unsupported: string[];
}

/** NegotiateProtocolVersion ('v'): Int32 version (major << 16 | minor), Int32 count, option names. */
export function decodeNegotiateProtocolVersion(body: Buffer): NegotiateProtocolVersion {
  r.reset(body);
  const version = r.int32();
  const count = r.int32();
  if (version >>> 16 !== 3) throw violation('received invalid protocol negotiation message');
  if (count < 0 || count > r.remaining) throw violation('insufficient data left in message');
  const unsupported = new Array<string>(count);
  for (let i = 0; i < count; i++) unsupported[i] = r.cstring();
  r.end();
  return { newestMinor: version & 0xffff, unsupported };
}

/** CommandComplete ('C'): the command tag, e.g. "SELECT 1". */
export function decodeCommandComplete(body: Buffer): string {
  r.reset(body);
  const tag = r.cstring();
  r.end();
  return tag;
}

/** Each RowDescription field after its name: table OID, column, type OID, size, modifier, format. */
const FIELD_TAIL = 4 + 2 + 4 + 2 + 4 + 2;

/** RowDescription ('T'): Int16 count, then per field a name and 18 bytes; only the names are kept. */
export function decodeRowDescription(body: Buffer): string[] {
  r.reset(body);
  const count = r.uint16();
  if (count * (1 + FIELD_TAIL) > r.remaining) throw violation('insufficient data left in message');
  const names = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    names[i] = r.cstring();
    r.bytes(FIELD_TAIL);
  }
  r.end();
  return names;
}

/** DataRow ('D'): Int16 count, then per column Int32 length (-1: NULL) and bytes (views). */
export function decodeDataRow(body: Buffer): (Buffer | null)[] {
  r.reset(body);
  const count = r.uint16();
  if (count * 4 > r.remaining) throw violation('insufficient data left in message');
  const values = new Array<Buffer | null>(count);
  for (let i = 0; i < count; i++) {
    const length = r.int32();
    values[i] = length === -1 ? null : r.bytes(length);
  }
  r.end();
  return values;
}

/** Finish a decode: no bytes may be left. */
function ended<T>(result: T): T {
  r.end();
  return result;
}
