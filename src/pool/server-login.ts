/**
 * Opening a server connection: TCP or Unix socket, TLS per libpq's sslmode, the StartupMessage,
 * and the server's authentication request answered with a password, an md5 hash or SCRAM
 * passthrough keys. Ends at the first ReadyForQuery with the server's ParameterStatus values and
 * BackendKeyData, ready to be relayed or pooled.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket, checkServerIdentity } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { GatehouseError, WireError } from '../errors.js';
import type { SslMode } from '../config/schema.js';
import { MessageFramer } from '../protocol/framer.js';
import { BackendCode, AuthCode, backendMessageCap } from '../protocol/codes.js';
import {
  decodeAuthentication,
  decodeBackendKeyData,
  decodeErrorResponse,
  decodeParameterStatus,
  decodeReadyForQuery,
} from '../protocol/backend/decode.js';
import * as fe from '../protocol/frontend/encode.js';
import { rawMessage } from '../protocol/backend/encode.js';
import { FrameReader } from '../session/reader.js';
import { ScramClient } from '../auth/scram/client.js';
import type { ScramSecret } from '../auth/scram/secret.js';
import { md5Response, md5Secret } from '../auth/md5.js';
import { tlsServerEndPointHash } from '../auth/channel-binding.js';

/** Where and how to reach one upstream server. */
export interface UpstreamTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  sslmode: SslMode;
  sslrootcert?: string;
  connectTimeoutMs: number;
  /** The entry names a fixed upstream user (all clients log in as it). */
  fixedUser?: boolean;
  /** That user's password. Secret. */
  fixedPassword?: string;
}

/** What gatehouse answers the server's authentication request with. Never logged. */
export type UpstreamSecret =
  | { kind: 'password'; password: string }
  | { kind: 'md5'; hash: string }
  | { kind: 'scram-keys'; clientKey: Buffer; secret: ScramSecret }
  | { kind: 'none' };

/** A logged-in server connection, not yet relaying. */
export interface ServerLogin {
  socket: Duplex;
  /** ParameterStatus values in the order the server sent them. */
  params: Map<string, string>;
  /** The server's BackendKeyData, for forwarding CancelRequests. */
  backendKey: { pid: number; key: Buffer } | null;
  /** NoticeResponse frames sent during login, forwarded to the client as they came. */
  notices: Buffer[];
  tls: boolean;
}

/** The server refused the login: its ErrorResponse, relayed to the client as a FATAL. */
export class UpstreamRefused extends Error {
  constructor(readonly wire: WireError) {
    super(wire.message);
  }
}

/** Connects and logs in; rejects with UpstreamRefused or GatehouseError GH_UPSTREAM / GH_UPSTREAM_TLS. */
export async function loginUpstream(
  target: UpstreamTarget,
  secret: UpstreamSecret,
  startupParams: ReadonlyMap<string, string>,
): Promise<ServerLogin> {
  const raw = await openSocket(target);
  const timer = setTimeout(() => raw.destroy(new GatehouseError('GH_UPSTREAM', 'timeout while logging in to the server')), target.connectTimeoutMs);
  try {
    const sock = await negotiateTls(raw, target);
    const params = new Map(startupParams);
    params.set('user', target.user);
    params.set('database', target.database);
    sock.write(fe.startupMessage(params));
    return await authenticate(sock, target, secret);
  } catch (e) {
    raw.destroy();
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

function openSocket(t: UpstreamTarget): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const opts = t.host.startsWith('/') ? { path: `${t.host}/.s.PGSQL.${t.port}` } : { host: t.host, port: t.port, noDelay: true };
    const s = netConnect(opts);
    const timer = setTimeout(() => s.destroy(new GatehouseError('GH_UPSTREAM', `timeout connecting to ${describe(t)}`)), t.connectTimeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.setNoDelay(true);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(new GatehouseError('GH_UPSTREAM', `could not connect to ${describe(t)}: ${e.message}`));
    });
  });
}

const describe = (t: UpstreamTarget): string => (t.host.startsWith('/') ? `socket ${t.host}/.s.PGSQL.${t.port}` : `${t.host}:${t.port}`);

/** SSLRequest per sslmode (libpq fe-connect.c semantics). */
async function negotiateTls(raw: Socket, t: UpstreamTarget): Promise<Duplex> {
  if (t.sslmode === 'disable' || t.host.startsWith('/')) return raw;
  raw.write(fe.sslRequest);
  const answer = await readOneByte(raw);
  if (answer === 0x4e /* N */) {
    if (t.sslmode === 'prefer') return raw;
    throw new GatehouseError('GH_UPSTREAM_TLS', `server ${describe(t)} does not support SSL, but SSL was required (sslmode=${t.sslmode})`);
  }
  if (answer !== 0x53 /* S */) throw new GatehouseError('GH_UPSTREAM', `received invalid response to SSL negotiation: ${answer}`);
  return startClientTls(raw, t);
}

function readOneByte(s: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    const onData = (c: Buffer): void => {
      cleanup();
      if (c.length !== 1) {
        // Bytes after the 'S' would be read as if encrypted: CVE-2021-23222.
        reject(new GatehouseError('GH_UPSTREAM_TLS', 'received unencrypted data after SSL response'));
        return;
      }
      resolve(c[0]!);
    };
    const onErr = (e: Error): void => {
      cleanup();
      reject(new GatehouseError('GH_UPSTREAM', `server closed the connection during SSL negotiation: ${e.message}`));
    };
    const onClose = (): void => onErr(new Error('closed'));
    const cleanup = (): void => {
      s.off('data', onData);
      s.off('error', onErr);
      s.off('close', onClose);
      s.pause();
    };
    s.on('data', onData);
    s.on('error', onErr);
    s.on('close', onClose);
  });
}

function startClientTls(raw: Socket, t: UpstreamTarget): Promise<TLSSocket> {
  const verify = t.sslmode === 'verify-ca' || t.sslmode === 'verify-full';
  const ca = t.sslrootcert ? readFileSync(t.sslrootcert) : undefined;
  return new Promise((resolve, reject) => {
    const s = tlsConnect({
      socket: raw,
      ca,
      servername: isIP(t.host) ? undefined : t.host,
      rejectUnauthorized: verify,
      // verify-ca checks the chain only; verify-full also the host name (libpq semantics).
      checkServerIdentity: t.sslmode === 'verify-full' ? checkServerIdentity : () => undefined,
      ALPNProtocols: ['postgresql'],
    });
    s.once('secureConnect', () => {
      s.setNoDelay(true);
      resolve(s);
    });
    s.once('error', (e) => reject(new GatehouseError('GH_UPSTREAM_TLS', `TLS to ${describe(t)} failed: ${e.message}`)));
  });
}

async function authenticate(sock: Duplex, t: UpstreamTarget, secret: UpstreamSecret): Promise<ServerLogin> {
  const reader = new FrameReader(sock);
  const framer = new MessageFramer(backendMessageCap);
  const params = new Map<string, string>();
  const notices: Buffer[] = [];
  let backendKey: ServerLogin['backendKey'] = null;
  let scram: ScramClient | null = null;
  const certHash = 'getPeerCertificate' in sock ? peerCertHash(sock as TLSSocket) : null;
  for (;;) {
    const { type, body } = await reader.read(framer);
    switch (type) {
      case BackendCode.Authentication: {
        const a = decodeAuthentication(body);
        switch (a.code) {
          case AuthCode.Ok:
            // A server (or a man in the middle, without verify-full) must not skip SCRAM's last
            // step: its ServerSignature proves it knows the verifier.
            if (scram && !scram.verified) throw protocolError(t, 'server sent AuthenticationOk before completing the SCRAM exchange');
            break;
          case AuthCode.CleartextPassword:
            sock.write(fe.passwordMessage(requirePassword(secret, t, 'password')));
            break;
          case AuthCode.MD5Password:
            sock.write(fe.passwordMessage(md5Answer(secret, t, a.salt)));
            break;
          case AuthCode.SASL:
            scram = startScram(secret, t, a.mechanisms, certHash);
            {
              const first = scram.initial();
              sock.write(fe.saslInitialResponse(first.mechanism, first.data));
            }
            break;
          case AuthCode.SASLContinue:
            if (!scram) throw protocolError(t, 'unexpected SASLContinue');
            sock.write(fe.saslResponse(scram.serverFirst(a.data)));
            break;
          case AuthCode.SASLFinal:
            if (!scram) throw protocolError(t, 'unexpected SASLFinal');
            scram.serverFinal(a.data);
            break;
        }
        break;
      }
      case BackendCode.ParameterStatus: {
        const p = decodeParameterStatus(body);
        params.set(p.name, p.value);
        break;
      }
      case BackendCode.BackendKeyData:
        backendKey = decodeBackendKeyData(body);
        break;
      case BackendCode.NoticeResponse:
        notices.push(rawMessage(type, body));
        break;
      case BackendCode.ErrorResponse: {
        const f = decodeErrorResponse(body);
        throw new UpstreamRefused(new WireError('FATAL', f.code ?? 'XX000', f.message ?? 'server error', f.detail, f.hint));
      }
      case BackendCode.NegotiateProtocolVersion:
        break;
      case BackendCode.ReadyForQuery:
        decodeReadyForQuery(body);
        reader.detach();
        sock.pause();
        return { socket: sock, params, backendKey, notices, tls: certHash !== null };
      default:
        throw protocolError(t, `unexpected message type "${String.fromCharCode(type)}" during login`);
    }
  }
}

function peerCertHash(s: TLSSocket): Buffer | null {
  const c = s.getPeerCertificate();
  return c && c.raw ? tlsServerEndPointHash(c.raw) : null;
}

const protocolError = (t: UpstreamTarget, msg: string): GatehouseError => new GatehouseError('GH_UPSTREAM', `${describe(t)}: ${msg}`);

function requirePassword(s: UpstreamSecret, t: UpstreamTarget, method: string): string {
  if (s.kind === 'password') return s.password;
  throw new GatehouseError('GH_UPSTREAM', `server ${describe(t)} asks for ${method} authentication for user "${t.user}", and gatehouse has no plaintext password for it`);
}

function md5Answer(s: UpstreamSecret, t: UpstreamTarget, salt: Buffer): string {
  if (s.kind === 'md5') return md5Response(s.hash, salt);
  if (s.kind === 'password') return md5Response(md5Secret(s.password, t.user), salt);
  throw new GatehouseError('GH_UPSTREAM', `server ${describe(t)} asks for md5 authentication for user "${t.user}", and gatehouse has neither its password nor its md5 hash`);
}

function startScram(s: UpstreamSecret, t: UpstreamTarget, mechanisms: string[], certHash: Buffer | null): ScramClient {
  if (!mechanisms.includes('SCRAM-SHA-256') && !mechanisms.includes('SCRAM-SHA-256-PLUS')) {
    throw protocolError(t, `server offers no supported SASL mechanism (${mechanisms.join(', ')})`);
  }
  // Over TLS the client says whether it could bind (y,, when the server did not offer PLUS).
  const cb = certHash ? { certHash, serverMechanisms: mechanisms } : {};
  if (s.kind === 'password') return new ScramClient({ password: s.password }, cb);
  if (s.kind === 'scram-keys') return new ScramClient({ clientKey: s.clientKey, secret: s.secret }, cb);
  throw new GatehouseError('GH_UPSTREAM', `server ${describe(t)} asks for SCRAM authentication for user "${t.user}"; gatehouse needs the plaintext password or a client that logged in with SCRAM against the same verifier (passthrough)`);
}
