/**
 * Decoders for the client messages gatehouse reads, one per message, each reading exactly its
 * message: a short body is "insufficient data left in message", leftover bytes are "invalid message
 * format" (pqformat.c wording, 08P01). Layouts: protocol-message-formats; field order as postgres.c
 * reads them. Buffers returned are views into `body`.
 */
import { violation } from '../errors.js';
import { BodyReader } from '../reader.js';

const r = new BodyReader();

/** PasswordMessage ('p'): one string filling the body (auth.c recv_password_packet()). */
export function decodePasswordMessage(body: Buffer): string {
  const end = body.indexOf(0);
  if (body.length === 0 || end !== body.length - 1) throw violation('invalid password packet size');
  return body.toString('utf8', 0, end);
}

export interface SASLInitialResponse {
  mechanism: string;
  /** The client-first-message, or null when the Int32 length is -1. */
  data: Buffer | null;
}

/** SASLInitialResponse ('p'): mechanism, Int32 length (-1: none), data (auth-sasl.c CheckSASLAuth()). */
export function decodeSASLInitialResponse(body: Buffer): SASLInitialResponse {
  r.reset(body);
  const mechanism = r.cstring();
  const length = r.int32();
  const data = length === -1 ? null : r.bytes(length);
  r.end();
  return { mechanism, data };
}

/** SASLResponse ('p'): the whole body is mechanism data. */
export const decodeSASLResponse = (body: Buffer): Buffer => body;

/** Query ('Q'): the SQL text (postgres.c exec_simple_query()). */
export function decodeQuery(body: Buffer): string {
  r.reset(body);
  const text = r.cstring();
  r.end();
  return text;
}

export interface Parse {
  name: string;
  query: string;
  /** Parameter type OIDs; 0 leaves the type unspecified. */
  paramTypes: number[];
}

/** Parse ('P'): statement name, query, Int16 count, that many Int32 OIDs (exec_parse_message()). */
export function decodeParse(body: Buffer): Parse {
  r.reset(body);
  const name = r.cstring();
  const query = r.cstring();
  const paramTypes = oids();
  r.end();
  return { name, query, paramTypes };
}

export interface Bind {
  portal: string;
  statement: string;
  paramFormats: number[];
  /** Parameter values as views; null for SQL NULL (length -1). */
  params: (Buffer | null)[];
  resultFormats: number[];
}

/** Bind ('B'): portal, statement, formats, values, result formats (postgres.c exec_bind_message()). */
export function decodeBind(body: Buffer): Bind {
  r.reset(body);
  const portal = r.cstring();
  const statement = r.cstring();
  const paramFormats = formats();
  const params = values();
  if (paramFormats.length > 1 && paramFormats.length !== params.length) {
    throw violation(`bind message has ${paramFormats.length} parameter formats but ${params.length} parameters`);
  }
  const resultFormats = formats();
  r.end();
  return { portal, statement, paramFormats, params, resultFormats };
}

export interface Target {
  /** 'S' a prepared statement, 'P' a portal. */
  kind: 'S' | 'P';
  name: string;
}

/** Describe ('D'): 'S' or 'P', then a name (postgres.c: "invalid DESCRIBE message subtype %d"). */
export const decodeDescribe = (body: Buffer): Target => target(body, 'DESCRIBE');

/** Close ('C'): 'S' or 'P', then a name (postgres.c: "invalid CLOSE message subtype %d"). */
export const decodeClose = (body: Buffer): Target => target(body, 'CLOSE');

export interface Execute {
  portal: string;
  /** 0 means no limit. */
  maxRows: number;
}

/** Execute ('E'): portal name and Int32 row limit (postgres.c exec_execute_message()). */
export function decodeExecute(body: Buffer): Execute {
  r.reset(body);
  const portal = r.cstring();
  const maxRows = r.int32();
  r.end();
  return { portal, maxRows };
}

/** CopyFail ('f'): the reason the client gives. */
export const decodeCopyFail = decodeQuery;

export interface FunctionCall {
  oid: number;
  argFormats: number[];
  args: (Buffer | null)[];
  resultFormat: number;
}

/** FunctionCall ('F'): OID, argument formats, arguments, result format (fastpath.c HandleFunctionRequest()). */
export function decodeFunctionCall(body: Buffer): FunctionCall {
  r.reset(body);
  const oid = r.uint32();
  const argFormats = formats();
  const args = values();
  const resultFormat = r.int16();
  r.end();
  return { oid, argFormats, args, resultFormat };
}

/** Check an Int16 count against the bytes left (items of at least `size` bytes) before looping. */
function count(size: number): number {
  const n = r.uint16();
  if (n * size > r.remaining) throw violation('insufficient data left in message');
  return n;
}

/** Int16 count, then Int16 format codes. */
function formats(): number[] {
  const out = new Array<number>(count(2));
  for (let i = 0; i < out.length; i++) out[i] = r.int16();
  return out;
}

/** Int16 count, then Int32 type OIDs. */
function oids(): number[] {
  const out = new Array<number>(count(4));
  for (let i = 0; i < out.length; i++) out[i] = r.uint32();
  return out;
}

/** Int16 count, then values: Int32 length (-1: NULL) and that many bytes. */
function values(): (Buffer | null)[] {
  const out = new Array<Buffer | null>(count(4));
  for (let i = 0; i < out.length; i++) {
    const length = r.int32();
    out[i] = length === -1 ? null : r.bytes(length);
  }
  return out;
}

function target(body: Buffer, what: 'DESCRIBE' | 'CLOSE'): Target {
  r.reset(body);
  const kind = r.byte();
  if (kind !== 0x53 && kind !== 0x50) throw violation(`invalid ${what} message subtype ${kind}`);
  const name = r.cstring();
  r.end();
  return { kind: kind === 0x53 ? 'S' : 'P', name };
}
