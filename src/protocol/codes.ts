/**
 * Message codes, request codes and size limits of the PostgreSQL v3 protocol.
 * Source: https://www.postgresql.org/docs/current/protocol-message-formats.html and
 * src/include/libpq/protocol.h (PqMsg_*). Type codes are byte values so framers compare numbers.
 */
import { violation } from './errors.js';

/** Messages a client sends after the startup packet. */
export const FrontendCode = {
  Bind: 0x42, // 'B'
  Close: 0x43, // 'C'
  CopyData: 0x64, // 'd'
  CopyDone: 0x63, // 'c'
  CopyFail: 0x66, // 'f'
  Describe: 0x44, // 'D'
  Execute: 0x45, // 'E'
  Flush: 0x48, // 'H'
  FunctionCall: 0x46, // 'F'
  Parse: 0x50, // 'P'
  /** PasswordMessage, GSSResponse, SASLInitialResponse and SASLResponse share 'p'. */
  PasswordMessage: 0x70, // 'p'
  Query: 0x51, // 'Q'
  Sync: 0x53, // 'S'
  Terminate: 0x58, // 'X'
} as const;

/** Messages a server sends. */
export const BackendCode = {
  Authentication: 0x52, // 'R'
  BackendKeyData: 0x4b, // 'K'
  BindComplete: 0x32, // '2'
  CloseComplete: 0x33, // '3'
  CommandComplete: 0x43, // 'C'
  CopyData: 0x64, // 'd'
  CopyDone: 0x63, // 'c'
  CopyInResponse: 0x47, // 'G'
  CopyOutResponse: 0x48, // 'H'
  CopyBothResponse: 0x57, // 'W'
  DataRow: 0x44, // 'D'
  EmptyQueryResponse: 0x49, // 'I'
  ErrorResponse: 0x45, // 'E'
  FunctionCallResponse: 0x56, // 'V'
  NegotiateProtocolVersion: 0x76, // 'v'
  NoData: 0x6e, // 'n'
  NoticeResponse: 0x4e, // 'N'
  NotificationResponse: 0x41, // 'A'
  ParameterDescription: 0x74, // 't'
  ParameterStatus: 0x53, // 'S'
  ParseComplete: 0x31, // '1'
  PortalSuspended: 0x73, // 's'
  ReadyForQuery: 0x5a, // 'Z'
  RowDescription: 0x54, // 'T'
} as const;

/** The int32 after the length word of an untyped startup-phase packet (pqcomm.h). */
export const StartupCode = {
  /** 1234.5679: NEGOTIATE_SSL_CODE. */
  SSLRequest: 80877103,
  /** 1234.5680: NEGOTIATE_GSS_CODE. */
  GSSENCRequest: 80877104,
  /** 1234.5678: CANCEL_REQUEST_CODE. */
  CancelRequest: 80877102,
  /** PG_PROTOCOL(3, 0). */
  Protocol30: 196608,
  /** PG_PROTOCOL(3, 2): PostgreSQL 18, variable-length cancel keys. */
  Protocol32: 196610,
} as const;

/** The int32 that starts an Authentication ('R') message. */
export const AuthCode = {
  Ok: 0,
  CleartextPassword: 3,
  MD5Password: 5,
  SASL: 10,
  SASLContinue: 11,
  SASLFinal: 12,
} as const;

/** protocol-message-formats BackendKeyData and CancelRequest: a cancel key is 4 to 256 bytes (3.2). */
export const MIN_CANCEL_KEY = 4;
export const MAX_CANCEL_KEY = 256;

/** Byte1 of ReadyForQuery: idle, in a transaction block, in a failed transaction block. */
export type TransactionStatus = 'I' | 'T' | 'E';

/**
 * MAX_STARTUP_PACKET_LENGTH (pqcomm.h). PostgreSQL compares it with the length minus the length word
 * (so up to 10004 bytes in all); gatehouse caps the whole packet at 10000 (DESIGN.md invariant 2).
 */
export const MAX_STARTUP_PACKET = 10000;
/** PG_MAX_AUTH_TOKEN_LENGTH (auth.h): auth.c and auth-sasl.c read 'p' messages with this cap. */
export const MAX_AUTH_MESSAGE = 65535;
/** PQ_SMALL_MESSAGE_LIMIT (libpq.h). */
export const SMALL_MESSAGE_LIMIT = 10000;
/** PQ_LARGE_MESSAGE_LIMIT (libpq.h) = MaxAllocSize - 1 = 0x3fffffff - 1 (1 GiB - 2). */
export const LARGE_MESSAGE_LIMIT = 0x3fffffff - 1;
/** libpq fe-protocol3.c pqParseInput3: a server message over 30000 bytes means lost sync unless its type may be long. */
export const BACKEND_SHORT_LIMIT = 30000;

/**
 * The largest length word (it counts itself, not the type byte) accepted for a message type.
 * It throws a {@link ProtocolError} for a type that is not allowed at all. A framer calls it once
 * the 5 header bytes are known, before it buffers any of the body.
 */
export type LengthCap = (type: number) => number;

const table = (fill: number, entries: [number, number][]): Int32Array => {
  const t = new Int32Array(256).fill(fill);
  for (const [code, cap] of entries) t[code] = cap;
  return t;
};

const F = FrontendCode;
/**
 * postgres.c SocketBackend(): Query, FunctionCall, Bind, Parse and CopyData may be large; Terminate,
 * Close, Describe, Execute, Flush, Sync, CopyDone and CopyFail are small. Any other type (including
 * 'p' once authenticated) is "invalid frontend message type %d".
 */
const frontendCaps = table(-1, [
  [F.Query, LARGE_MESSAGE_LIMIT], [F.FunctionCall, LARGE_MESSAGE_LIMIT], [F.Bind, LARGE_MESSAGE_LIMIT],
  [F.Parse, LARGE_MESSAGE_LIMIT], [F.CopyData, LARGE_MESSAGE_LIMIT],
  [F.Terminate, SMALL_MESSAGE_LIMIT], [F.Close, SMALL_MESSAGE_LIMIT], [F.Describe, SMALL_MESSAGE_LIMIT],
  [F.Execute, SMALL_MESSAGE_LIMIT], [F.Flush, SMALL_MESSAGE_LIMIT], [F.Sync, SMALL_MESSAGE_LIMIT],
  [F.CopyDone, SMALL_MESSAGE_LIMIT], [F.CopyFail, SMALL_MESSAGE_LIMIT],
]);

/** Caps for client messages after authentication, exactly as postgres.c SocketBackend() picks them. */
export const frontendMessageCap: LengthCap = (type) => {
  const cap = frontendCaps[type] ?? -1;
  if (cap < 0) throw violation(`invalid frontend message type ${type}`);
  return cap;
};

const onlyPasswordMessage = (expected: 'password' | 'SASL'): LengthCap => (type) => {
  if (type !== F.PasswordMessage) throw violation(`expected ${expected} response, got message type ${type}`);
  return MAX_AUTH_MESSAGE;
};
const passwordCap = onlyPasswordMessage('password');
const saslCap = onlyPasswordMessage('SASL');

/**
 * Caps for the client during authentication: only 'p', at most {@link MAX_AUTH_MESSAGE}
 * (auth.c recv_password_packet(), auth-sasl.c CheckSASLAuth()). `expected` picks PostgreSQL's wording.
 */
export const authMessageCap = (expected: 'password' | 'SASL'): LengthCap => (expected === 'SASL' ? saslCap : passwordCap);

const B = BackendCode;
/**
 * Server messages: the types libpq's VALID_LONG_MESSAGE_TYPE allows to be long (T D d V E N A), plus
 * ParameterDescription ('t', up to 65535 × 4 bytes), get the large cap. Every other known type gets
 * libpq's 30000. An unknown type means the stream is out of sync.
 */
const backendCaps = table(-1, Object.values(B).map((code) => [code, BACKEND_SHORT_LIMIT]));
for (const code of [B.RowDescription, B.DataRow, B.CopyData, B.FunctionCallResponse, B.ErrorResponse,
  B.NoticeResponse, B.NotificationResponse, B.ParameterDescription]) backendCaps[code] = LARGE_MESSAGE_LIMIT;

/** Caps for server messages, from libpq fe-protocol3.c pqParseInput3(). */
export const backendMessageCap: LengthCap = (type) => {
  const cap = backendCaps[type] ?? -1;
  if (cap < 0) {
    throw violation(`unexpected response from server; first received character was "${String.fromCharCode(type)}"`);
  }
  return cap;
};
