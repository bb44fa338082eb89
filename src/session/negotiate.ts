/**
 * The first packets of a connection, before any authentication (postmaster.c
 * ProcessStartupPacket): SSLRequest, GSSENCRequest, CancelRequest, direct TLS, and the
 * StartupMessage. Everything here is bounded: the startup packet is at most 10,000 bytes, each
 * negotiation request is answered once, and the caller holds the authentication_timeout.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WireError, wire } from '../errors.js';
import { ProtocolError } from '../protocol/errors.js';
import { StartupFramer, decodeStartupPacket, looksLikeTlsClientHello, type StartupPacket } from '../protocol/startup.js';
import * as be from '../protocol/backend/encode.js';
import { startServerTls, type TlsState } from '../net/tls.js';
import { FrameReader } from './reader.js';
import { acceptNativeTls } from './native-tls.js';

/** A decoded CancelRequest. */
export type CancelPacket = Extract<StartupPacket, { kind: 'cancel' }>;
/** A decoded StartupMessage. */
export type StartupMessagePacket = Extract<StartupPacket, { kind: 'startup' }>;

/** TLS facts for logs and hba (hostssl) and cert auth, from either TLS engine. */
export interface TlsInfo {
  version: string;
  cipher: string;
  direct: boolean;
  /** The client's certificate (DER), or null when it presented none. */
  peerCertificate: Buffer | null;
  /** The client presented a certificate that verified against tls.client_ca. */
  certVerified: boolean;
  /** `tls_engine: native`: the native TLS door's id (session.ts hands it to the native relay); null with Node's TLS. */
  native: number | null;
}

export type NegotiateResult =
  | { kind: 'startup'; socket: Duplex; reader: FrameReader; startup: StartupMessagePacket; tls: TlsInfo | null }
  | { kind: 'cancel'; cancel: CancelPacket }
  | { kind: 'closed'; reason: string };

/** Thrown when a FATAL should be sent to the client (on `socket`), then the connection closed. */
export class HandshakeFatal extends Error {
  /** `log`: what the connection log records when it differs from what the client is told. */
  constructor(readonly wire: WireError, readonly socket: Duplex, readonly log?: string) {
    super(wire.message);
  }
}

/**
 * Reads until a StartupMessage or CancelRequest arrives, upgrading to TLS on the way.
 * `first` is the connection's first chunk (already read, to tell direct TLS from a packet).
 */
export async function negotiate(raw: Socket, first: Buffer, tls: TlsState | null, isUnix: boolean): Promise<NegotiateResult> {
  if (looksLikeTlsClientHello(first[0]!)) {
    if (!tls || isUnix) return { kind: 'closed', reason: 'direct TLS attempted but TLS is not configured' };
    const info = tls.native ? await acceptNativeTls(raw, tls.native, first, true) : await handshakeTls(startServerTls(raw, tls, first), true);
    if (info.kind === 'closed') return info;
    return readStartup(info.socket, new FrameReader(info.socket), info.tls, true, true);
  }
  const reader = new FrameReader(raw, first);
  return readStartup(raw, reader, null, false, false, tls && !isUnix ? tls : null);
}

async function readStartup(
  socket: Duplex,
  reader: FrameReader,
  tlsInfo: TlsInfo | null,
  sslDone: boolean,
  gssDone: boolean,
  canUpgrade: TlsState | null = null,
): Promise<NegotiateResult> {
  for (;;) {
    const packet = await readPacket(socket, reader);
    if (packet === null) return { kind: 'closed', reason: 'invalid length of startup packet' };
    switch (packet.kind) {
      case 'ssl': {
        // A second SSLRequest falls through to the version check in PostgreSQL and is refused
        // as protocol 1234.5679 (CVE-2026-6479: recursive negotiation crashed the postmaster).
        if (sslDone) throw new HandshakeFatal(wire.unsupportedProtocol(1234, 5679), socket);
        sslDone = true;
        if (!canUpgrade) {
          socket.write(be.sslNo);
          continue;
        }
        // Bytes after the SSLRequest would be read as if they had been encrypted (CVE-2021-23214).
        if (reader.unread().length > 0) throw new HandshakeFatal(wire.protocolViolation('received unencrypted data after SSL request'), socket);
        reader.detach();
        let info: TlsOutcome;
        if (canUpgrade.native) {
          // 'S' is on its way before the descriptor changes hands (the client waits for it anyway).
          await new Promise<void>((resolve) => socket.write(be.sslYes, () => resolve()));
          info = await acceptNativeTls(socket as Socket, canUpgrade.native, undefined, false);
        } else {
          socket.write(be.sslYes);
          info = await handshakeTls(startServerTls(socket as Socket, canUpgrade), false);
        }
        if (info.kind === 'closed') return info;
        return readStartup(info.socket, new FrameReader(info.socket), info.tls, true, true);
      }
      case 'gssenc':
        if (gssDone) throw new HandshakeFatal(wire.unsupportedProtocol(1234, 5680), socket);
        gssDone = true;
        if (reader.unread().length > 0) throw new HandshakeFatal(wire.protocolViolation('received unencrypted data after GSSAPI encryption request'), socket);
        socket.write(be.sslNo);
        continue;
      case 'cancel':
        return { kind: 'cancel', cancel: packet };
      case 'startup':
        return { kind: 'startup', socket, reader, startup: packet, tls: tlsInfo };
    }
  }
}

/** PostgreSQL answers a bad packet length or a malformed CancelRequest with silence (COMMERROR). */
const SILENT = new Set(['invalid length of startup packet', 'invalid length of cancel request packet', 'invalid length of cancel key in cancel request packet']);

/** One startup-phase packet; a FATAL is tied to the socket it must go out on (plain or TLS). */
async function readPacket(socket: Duplex, reader: FrameReader): Promise<StartupPacket | null> {
  try {
    return decodeStartupPacket(await reader.read(new StartupFramer()));
  } catch (e) {
    if (e instanceof ProtocolError) {
      if (SILENT.has(e.wire.message)) return null;
      throw new HandshakeFatal(e.wire, socket);
    }
    throw e;
  }
}

/**
 * The chain verification result for the client's certificate. A TLSSocket made with
 * `new TLSSocket(…, { isServer: true })` never sets `authorized` (only tls.Server's connection
 * listener does, from this same call), so ask the handle directly.
 */
function peerVerifyError(socket: TLSSocket): string | null {
  const handle = (socket as unknown as { _handle?: { verifyError?: () => (Error & { code?: string }) | null } })._handle;
  if (typeof handle?.verifyError !== 'function') return 'verification result unavailable';
  const e = handle.verifyError();
  return e ? (e.code ?? e.message) : null;
}

type TlsOutcome = { kind: 'ok'; socket: Duplex; tls: TlsInfo } | { kind: 'closed'; reason: string };

function handshakeTls(socket: TLSSocket, direct: boolean): Promise<TlsOutcome> {
  return new Promise((resolve) => {
    const fail = (reason: string): void => {
      socket.destroy();
      resolve({ kind: 'closed', reason });
    };
    socket.once('secure', () => {
      socket.off('error', onError);
      socket.on('error', () => undefined); // later errors surface through the reader
      // PostgreSQL 17+ closes a direct TLS connection that did not negotiate ALPN "postgresql".
      if (direct && socket.alpnProtocol !== 'postgresql') return fail('direct TLS connection without ALPN protocol "postgresql"');
      // A presented certificate that does not verify fails the handshake, as in PostgreSQL.
      const peer = socket.getPeerCertificate();
      const presented = !!peer && Object.keys(peer).length > 0;
      const verifyError = presented ? peerVerifyError(socket) : null;
      if (verifyError) return fail(`could not accept SSL connection: certificate verify failed: ${verifyError}`);
      const c = socket.getCipher();
      const peerCertificate = presented && peer.raw?.length ? peer.raw : null;
      resolve({ kind: 'ok', socket, tls: { version: socket.getProtocol() ?? 'unknown', cipher: c?.standardName ?? c?.name ?? 'unknown', direct, peerCertificate, certVerified: presented, native: null } });
    });
    const onError = (e: Error): void => fail(`could not accept SSL connection: ${e.message}`);
    socket.once('error', onError);
    socket.once('close', () => resolve({ kind: 'closed', reason: 'connection closed during TLS handshake' }));
  });
}
