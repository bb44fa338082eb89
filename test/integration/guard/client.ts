/**
 * A client that can pick its source address: 127.0.0.2, 127.0.0.3 … are distinct sources on
 * loopback, which psql cannot bind. It logs in with SCRAM (our own client, byte for byte), runs
 * one query, and reports exactly what the door did: admitted, an ErrorResponse, or a close with
 * the number of bytes received (0 means "dropped without a word").
 */
import { connect, type Socket } from 'node:net';
import { ScramClient } from '../../../src/auth/scram/client.js';
import { WireConn, errorFields, scramLogin, type ErrorFields } from '../auth/pg-wire.js';

export type DoorResult =
  | { kind: 'ok'; value: string }
  | { kind: 'error'; code: string; message: string; fields: ErrorFields }
  | { kind: 'closed'; bytes: number };

export interface LoginOptions {
  port: number;
  from: string;
  user: string;
  password: string;
  /** Bytes sent first (a PROXY header). */
  prefix?: Buffer;
  /** Wait this long after the prefix, so that it arrives alone. */
  prefixDelayMs?: number;
  query?: string;
}

/** Opens a TCP connection from `from`; resolves with the socket and a counter of bytes received. */
export function openFrom(port: number, from: string): Promise<{ sock: Socket; received: () => number }> {
  return new Promise((resolve, reject) => {
    let n = 0;
    const sock = connect({ host: '127.0.0.1', port, localAddress: from }, () => resolve({ sock, received: () => n }));
    sock.on('data', (d: Buffer) => (n += d.length));
    sock.once('error', reject);
  });
}

export async function loginFrom(o: LoginOptions): Promise<DoorResult> {
  const opened = await openFrom(o.port, o.from).catch(() => null);
  // Reset before Node reported the connect: dropped without a byte.
  if (!opened) return { kind: 'closed', bytes: 0 };
  const { sock, received } = opened;
  sock.on('error', () => undefined);
  const conn = new WireConn(sock);
  try {
    if (o.prefix) sock.write(o.prefix);
    if (o.prefixDelayMs) await new Promise((r) => setTimeout(r, o.prefixDelayMs));
    const r = await scramLogin(conn, o.user, (mechs) => new ScramClient({ password: o.password }, { serverMechanisms: mechs }));
    if (!r.ok) return { kind: 'error', code: r.error.C ?? '', message: r.error.M ?? '', fields: r.error };
    conn.write(query(o.query ?? 'select 1'));
    let value = '';
    for (;;) {
      const m = await conn.read();
      if (m.type === 'D') value = m.body.subarray(6).toString('utf8');
      if (m.type === 'E') return { kind: 'error', code: errorFields(m.body).C ?? '', message: errorFields(m.body).M ?? '', fields: errorFields(m.body) };
      if (m.type === 'Z') return { kind: 'ok', value };
    }
  } catch {
    return { kind: 'closed', bytes: received() };
  } finally {
    conn.close();
  }
}

function query(sql: string): Buffer {
  const body = Buffer.from(`${sql}\0`, 'utf8');
  const head = Buffer.alloc(5);
  head.write('Q');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/** Everything received until the server closes (or `timeoutMs`), after sending `bytes`. */
export async function exchangeFrom(port: number, from: string, bytes: Buffer, timeoutMs = 3000): Promise<{ data: Buffer; closed: boolean }> {
  const opened = await openFrom(port, from).catch(() => null);
  if (!opened) return { data: Buffer.alloc(0), closed: true };
  const { sock } = opened;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => { sock.destroy(); resolve({ data: Buffer.concat(chunks), closed: false }); }, timeoutMs);
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', () => undefined);
    sock.on('close', () => { clearTimeout(timer); resolve({ data: Buffer.concat(chunks), closed: true }); });
    sock.write(bytes);
  });
}
