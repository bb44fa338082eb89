/**
 * `tls_engine: native`: the client's TLS runs on the native relay's thread (native/tls.c) instead
 * of a Node TLSSocket. After the door answers an SSLRequest with 'S' (or sees a direct-TLS
 * ClientHello), the connection's descriptor goes to the thread, which runs the handshake and then
 * relays plaintext to one end of a socketpair; gatehouse reads the startup and authentication from
 * the other end (the "door" socket) exactly as from a plaintext client. A session-mode session is
 * then relayed natively with the TLS connection as its client side (attachNativeTls in
 * native-relay.ts); pooled clients keep the door socket.
 *
 * The handshake's result (version, cipher, ALPN, client certificate and its verify result) is
 * checked here as negotiate.ts checks a TLSSocket's, with the same log wording.
 */
import { Socket } from 'node:net';
import type { TlsInfo } from './negotiate.js';
import { nativeAddon, plainFd, takeBuffered, watchDoor } from './native-relay.js';

/** The native engine's SSL_CTX for one TLS configuration (src/net/tls.ts NativeContextBuilder). */
export function nativeTlsContext(cert: Buffer, key: Buffer, ca: Buffer | undefined, minVersion: string, ciphers: string): unknown {
  const { addon, unavailable } = nativeAddon();
  if (!addon) throw new Error(`the native relay is not available: ${unavailable}`);
  return addon.tlsContext(cert, key, ca, minVersion, ciphers);
}

export type NativeTlsOutcome = { kind: 'ok'; socket: Socket; tls: TlsInfo } | { kind: 'closed'; reason: string };

/**
 * Hands `raw` to the native TLS engine and waits for its handshake. `head`: bytes already read
 * (the ClientHello of a direct-TLS connection). On success, `socket` carries the plaintext.
 */
export function acceptNativeTls(raw: Socket, context: unknown, head: Buffer | undefined, direct: boolean): Promise<NativeTlsOutcome> {
  const { addon } = nativeAddon();
  const fd = plainFd(raw);
  if (!addon || fd < 0) return Promise.resolve({ kind: 'closed', reason: 'connection closed during TLS handshake' });
  raw.pause();
  const buffered = takeBuffered(raw);
  stopReading(raw);
  const first = head && head.length > 0 ? Buffer.concat([head, buffered]) : buffered;
  let id: number;
  let doorFd: number;
  try {
    [id, doorFd] = addon.tlsAccept(context, fd, first.length > 0 ? first : undefined);
  } catch (e) {
    return Promise.resolve({ kind: 'closed', reason: `could not accept SSL connection: ${(e as Error).message}` });
  }
  const door = new Socket({ fd: doorFd, readable: true, writable: true });
  door.pause();
  door.on('error', () => undefined); // its end reaches the reader as 'close'
  // The thread holds a duplicate of raw's descriptor: each socket closing closes the other, and
  // the thread's relay ends (with close_notify) once the door's end is closed.
  raw.once('close', () => door.destroy());
  door.once('close', () => raw.destroy());
  return new Promise((resolve) => {
    const fail = (reason: string): void => {
      watchDoor(id, null);
      door.destroy();
      resolve({ kind: 'closed', reason });
    };
    watchDoor(id, {
      tls(info) {
        const r = checkHandshake(parseInfo(info), direct);
        if (typeof r === 'string') return fail(r);
        resolve({ kind: 'ok', socket: door, tls: { ...r, native: id } });
      },
      end(reason) {
        door.destroy();
        resolve({ kind: 'closed', reason: reason.startsWith('could not accept SSL connection') ? reason : 'connection closed during TLS handshake' });
      },
    });
  });
}

interface HandshakeInfo {
  version: string;
  cipher: string;
  alpn: string;
  verifyError: string;
  peer: Buffer | null;
}

/** native/tls.c tls_info(): "version\0cipher\0alpn\0verify error\0" then the client certificate's DER. */
function parseInfo(b: Buffer): HandshakeInfo {
  const fields: string[] = [];
  let at = 0;
  for (let i = 0; i < 4; i++) {
    const end = b.indexOf(0, at);
    if (end < 0) return { version: 'unknown', cipher: 'unknown', alpn: '', verifyError: 'verification result unavailable', peer: null };
    fields.push(b.toString('latin1', at, end));
    at = end + 1;
  }
  const [version, cipher, alpn, verifyError] = fields as [string, string, string, string];
  return { version: version || 'unknown', cipher: cipher || 'unknown', alpn, verifyError, peer: at < b.length ? Buffer.from(b.subarray(at)) : null };
}

/** negotiate.ts handshakeTls()'s checks: the TlsInfo, or why the connection is closed. */
function checkHandshake(h: HandshakeInfo, direct: boolean): Omit<TlsInfo, 'native'> | string {
  // PostgreSQL 17+ closes a direct TLS connection that did not negotiate ALPN "postgresql".
  if (direct && h.alpn !== 'postgresql') return 'direct TLS connection without ALPN protocol "postgresql"';
  // A presented certificate that does not verify fails the handshake, as in PostgreSQL.
  if (h.peer && h.verifyError) return `could not accept SSL connection: certificate verify failed: ${h.verifyError}`;
  return { version: h.version, cipher: h.cipher, direct, peerCertificate: h.peer, certVerified: h.peer !== null };
}


/**
 * A paused net.Socket still reads from its descriptor until its buffer is full; from now on only
 * the native thread may read this one (raw stays open: closing it is how the door is closed).
 */
function stopReading(s: Socket): void {
  const h = (s as unknown as { _handle?: { reading?: boolean; readStop?: () => number } })._handle;
  if (h && typeof h.readStop === 'function') {
    h.reading = false;
    h.readStop();
  }
}
