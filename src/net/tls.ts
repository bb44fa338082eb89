/**
 * TLS for the client leg: one SecureContext built at load time (and swapped whole on reload),
 * plus the certificate hash that SCRAM-SHA-256-PLUS binds to (RFC 5929 tls-server-end-point).
 */
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { Duplex } from 'node:stream';
import { DEFAULT_CIPHERS, TLSSocket, createSecureContext, type SecureContext } from 'node:tls';
import type { Socket } from 'node:net';
import { GatehouseError } from '../errors.js';
import { tlsServerEndPointHash } from '../auth/channel-binding.js';
import type { Config } from '../config/schema.js';

/** Everything the handshake needs to speak TLS. Immutable; a reload builds a new one. */
export interface TlsState {
  readonly context: SecureContext;
  /** H(certificate) for channel binding, or null when the signature hash does not allow it. */
  readonly certHash: Buffer | null;
  /** Ask clients for a certificate (tls.client_ca is set). */
  readonly requestCert: boolean;
  /** `tls_engine: native`: the native engine's SSL_CTX, built from the same files and settings; else null. */
  readonly native: unknown;
}

/** Builds the native engine's context (src/session/native-tls.ts); throws what failed. */
export type NativeContextBuilder = (cert: Buffer, key: Buffer, ca: Buffer | undefined, minVersion: string, ciphers: string) => unknown;

/** Reads cert, key and CA; throws GatehouseError GH_TLS_INVALID naming the file at fault. */
export function loadTls(tls: Config['tls'], nativeContext: NativeContextBuilder | null = null): TlsState | null {
  if (!tls) return null;
  const cert = readPem(tls.cert, 'tls.cert');
  const key = readPem(tls.key, 'tls.key');
  const ca = tls.client_ca ? readPem(tls.client_ca, 'tls.client_ca') : undefined;
  let context: SecureContext;
  try {
    context = createSecureContext({
      cert, key, ca,
      minVersion: tls.min_version,
      ...(tls.ciphers ? { ciphers: tls.ciphers } : {}),
    });
  } catch (e) {
    throw new GatehouseError('GH_TLS_INVALID', `could not load certificate and key: ${(e as Error).message}`, `${tls.cert}, ${tls.key}`);
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (e) {
    throw new GatehouseError('GH_TLS_INVALID', `not a PEM certificate: ${(e as Error).message}`, tls.cert);
  }
  const native = nativeContext ? buildNative(nativeContext, tls, cert, key, ca) : null;
  return Object.freeze({ context, certHash: tlsServerEndPointHash(leaf.raw), requestCert: ca !== undefined, native });
}

function buildNative(build: NativeContextBuilder, tls: NonNullable<Config['tls']>, cert: Buffer, key: Buffer, ca: Buffer | undefined): unknown {
  try {
    // Node's default list when tls.ciphers is unset, so both engines offer the same ciphers.
    return build(cert, key, ca, tls.min_version, tls.ciphers ?? DEFAULT_CIPHERS);
  } catch (e) {
    throw new GatehouseError('GH_TLS_INVALID', `tls_engine native: ${(e as Error).message}`, `${tls.cert}, ${tls.key}`);
  }
}

function readPem(path: string, keyName: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new GatehouseError('GH_TLS_INVALID', `could not read ${keyName}: ${(e as Error).message}`, path);
  }
}

/**
 * Starts server-side TLS on a socket. `head` holds bytes already read (the ClientHello of a
 * direct-TLS connection); they are replayed into the TLS engine through a small Duplex, because a
 * TLSSocket that wraps the native handle would never see them.
 */
export function startServerTls(raw: Socket, state: TlsState, head?: Buffer): TLSSocket {
  const transport: Duplex = head && head.length > 0 ? prepend(raw, head) : raw;
  const tls = new TLSSocket(transport, {
    isServer: true,
    secureContext: state.context,
    requestCert: state.requestCert,
    // Checked after the handshake: PostgreSQL fails the handshake only for a certificate that
    // does not verify, never for a missing one (be-secure-openssl.c verify_cb).
    rejectUnauthorized: false,
    // PostgreSQL 17+: direct TLS requires ALPN "postgresql"; after SSLRequest it is optional.
    ALPNProtocols: ['postgresql'],
  });
  // A TLSSocket that took over the handle does not close the net.Socket it wraps, and the
  // listener counts that socket until it closes: net.Server.close() would never call back.
  tls.once('close', () => raw.destroy());
  return tls;
}

function prepend(raw: Socket, head: Buffer): Duplex {
  let first: Buffer | null = head;
  const d = new Duplex({
    read() {
      if (first) {
        const h = first;
        first = null;
        this.push(h);
      }
      raw.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      raw.write(chunk, cb);
    },
    final(cb) {
      raw.end(cb);
    },
    destroy(err, cb) {
      raw.destroy(err ?? undefined);
      cb(err);
    },
  });
  raw.on('data', (c: Buffer) => {
    if (!d.push(c)) raw.pause();
  });
  raw.on('end', () => d.push(null));
  raw.on('error', (e) => d.destroy(e));
  raw.on('close', () => d.destroy());
  return d;
}
