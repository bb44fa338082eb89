/**
 * A tiny raw PostgreSQL v3 client for the SCRAM tests: StartupMessage, SSLRequest, the SASL
 * messages, and reading 'R' / 'E' / 'Z' replies. It knows nothing else on purpose, so the tests
 * drive ScramClient (or hand-made SCRAM messages) against a real server byte for byte.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { tlsServerEndPointHash } from '../../../src/auth/channel-binding.js';
import type { ScramClient } from '../../../src/auth/scram/client.js';

/** One backend message. */
export interface BackendMessage { type: string; body: Buffer }

/** An ErrorResponse's fields by code letter (C = SQLSTATE, M = message, D = detail, S = severity). */
export type ErrorFields = Record<string, string>;

/** A connection with a buffered reader of backend messages. */
export class WireConn {
  private buf = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  private closed = false;

  constructor(readonly sock: Socket | TLSSocket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiting?.();
    });
    sock.on('close', () => { this.closed = true; this.waiting?.(); });
    sock.on('error', () => { this.closed = true; this.waiting?.(); });
  }

  /** The next backend message; rejects when the server closes first. */
  async read(): Promise<BackendMessage> {
    for (;;) {
      if (this.buf.length >= 5) {
        const len = this.buf.readInt32BE(1);
        if (this.buf.length >= 1 + len) {
          const msg = { type: String.fromCharCode(this.buf[0]!), body: Buffer.from(this.buf.subarray(5, 1 + len)) };
          this.buf = this.buf.subarray(1 + len);
          return msg;
        }
      }
      if (this.closed) throw new Error('server closed the connection');
      await new Promise<void>((r) => (this.waiting = r));
      this.waiting = null;
    }
  }

  write(b: Buffer): void {
    this.sock.write(b);
  }

  close(): void {
    this.sock.destroy();
  }
}

const int32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
const cstr = (s: string): Buffer => Buffer.from(`${s}\0`, 'utf8');
const message = (type: string, body: Buffer): Buffer => Buffer.concat([Buffer.from(type), int32(body.length + 4), body]);

export function startupMessage(user: string, database = 'postgres'): Buffer {
  const body = Buffer.concat([int32(196608), cstr('user'), cstr(user), cstr('database'), cstr(database), Buffer.from([0])]);
  return Buffer.concat([int32(body.length + 4), body]);
}
export const saslInitialResponse = (mechanism: string, data: Buffer): Buffer =>
  message('p', Buffer.concat([cstr(mechanism), int32(data.length), data]));
export const saslResponse = (data: Buffer): Buffer => message('p', data);

/** Parses an ErrorResponse body into its fields. */
export function errorFields(body: Buffer): ErrorFields {
  const out: ErrorFields = {};
  for (let i = 0; i < body.length && body[i] !== 0; ) {
    const code = String.fromCharCode(body[i]!);
    const end = body.indexOf(0, i + 1);
    out[code] = body.subarray(i + 1, end).toString('utf8');
    i = end + 1;
  }
  return out;
}

/** An 'R' message's code and payload. */
export function authRequest(m: BackendMessage): { code: number; data: Buffer } {
  if (m.type === 'E') throw Object.assign(new Error(`server error: ${JSON.stringify(errorFields(m.body))}`), { fields: errorFields(m.body) });
  if (m.type !== 'R') throw new Error(`expected an authentication request, got '${m.type}'`);
  return { code: m.body.readInt32BE(0), data: m.body.subarray(4) };
}

/** The mechanisms of AuthenticationSASL (code 10). */
export function saslMechanisms(data: Buffer): string[] {
  return data.toString('utf8').split('\0').filter((s) => s !== '');
}

/** Opens TCP, optionally upgrades to TLS with SSLRequest; returns the connection and the server certificate hash. */
export async function open(port: number, tls: boolean): Promise<{ conn: WireConn; certHash: Buffer | null }> {
  const raw = await new Promise<Socket>((resolve, reject) => {
    const s = netConnect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  if (!tls) return { conn: new WireConn(raw), certHash: null };
  raw.write(Buffer.concat([int32(8), int32(80877103)]));
  const answer = await new Promise<Buffer>((resolve) => raw.once('data', resolve));
  if (answer.toString() !== 'S') throw new Error(`server refused SSL: ${answer.toString()}`);
  const sock = await new Promise<TLSSocket>((resolve, reject) => {
    const s = tlsConnect({ socket: raw, rejectUnauthorized: false }, () => resolve(s));
    s.once('error', reject);
  });
  return { conn: new WireConn(sock), certHash: tlsServerEndPointHash(sock.getPeerCertificate().raw) };
}

/** Outcome of a login: reached ReadyForQuery, or the server's ErrorResponse. */
export type LoginResult = { ok: true } | { ok: false; error: ErrorFields };

/**
 * Logs in as `user` with `makeClient(mechanisms)` doing SCRAM. AuthenticationOk is only accepted
 * after the client has verified the server signature. Ends at ReadyForQuery or an ErrorResponse.
 */
export async function scramLogin(conn: WireConn, user: string, makeClient: (mechanisms: string[]) => ScramClient): Promise<LoginResult> {
  conn.write(startupMessage(user));
  let client: ScramClient | null = null;
  for (;;) {
    const m = await conn.read();
    if (m.type === 'E') return { ok: false, error: errorFields(m.body) };
    if (m.type === 'Z') return { ok: true };
    if (m.type !== 'R') continue; // ParameterStatus, BackendKeyData, NoticeResponse
    const { code, data } = authRequest(m);
    if (code === 10) {
      client = makeClient(saslMechanisms(data));
      const first = client.initial();
      conn.write(saslInitialResponse(first.mechanism, first.data));
    } else if (code === 11) {
      conn.write(saslResponse(client!.serverFirst(data)));
    } else if (code === 12) {
      client!.serverFinal(data);
    } else if (code === 0) {
      if (!client?.verified) throw new Error('AuthenticationOk before the server proved itself');
    } else {
      throw new Error(`unexpected authentication request ${code}`);
    }
  }
}
