/**
 * The outside-in probe (issue 3, `--probe HOST:PORT`): what a scanner on the network sees. It
 * opens a few short connections, reads the server's first answer to each, and closes them. It
 * never sends a password: an auth request is recorded and the connection dropped; a server that
 * lets the probe in without one (trust) gets a Terminate at once.
 */
import { X509Certificate } from 'node:crypto';
import { Socket, isIP } from 'node:net';
import { type ConnectionOptions, type TLSSocket, checkServerIdentity, connect as tlsConnect } from 'node:tls';
import { certificateParts, childrenOf, contentOf, decodeOid } from '../../auth/der.js';
import { decodeAuthentication, decodeErrorResponse } from '../../protocol/backend/decode.js';
import { AuthCode, BackendCode, backendMessageCap } from '../../protocol/codes.js';
import { MessageFramer } from '../../protocol/framer.js';
import { sslRequest, startupMessage, terminate } from '../../protocol/frontend/encode.js';
import { FrameReader } from '../../session/reader.js';
import type { ProbeAuth, ProbeFacts, TlsVersion } from '../types.js';

/** Options of {@link probeServer}. */
export interface ProbeOptions {
  /** The role named in each StartupMessage (its auth method is reported). Default `postgres`. */
  user?: string;
  /** The database named in each StartupMessage. Default: the user's name. */
  database?: string;
  /** Limit for each step (connect, negotiate, first reply), in ms. Default 5000. */
  timeoutMs?: number;
  /** The name the certificate must match. Default: `host`. */
  servername?: string;
}

const VERSIONS: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
const DAY_MS = 86_400_000;

/** Signature algorithm OIDs (RFC 3279, 4055, 5758, 8410) and their usual names. */
const SIGNATURE_NAMES: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
};

interface Ctx {
  host: string;
  port: number;
  user: string;
  database: string;
  timeoutMs: number;
  /** Name checked against the certificate. */
  name: string;
  /** SNI: only a DNS name may be sent (RFC 6066 §3). */
  sni: string | undefined;
}

/** Probes `host:port` from outside: plaintext, each TLS version, the certificate, direct TLS, the auth method. */
export async function probeServer(host: string, port: number, o: ProbeOptions = {}): Promise<ProbeFacts> {
  const user = o.user ?? 'postgres';
  const name = o.servername ?? host;
  const ctx: Ctx = {
    host, port, user, database: o.database ?? user, timeoutMs: o.timeoutMs ?? 5000, name, sni: isIP(name) ? undefined : name,
  };
  const target = `${host}:${port}`;
  const plain = await probePlaintext(ctx);
  const facts: ProbeFacts = { target, plaintextAccepted: plain.accepted, tlsVersions: {}, directTls: null };
  if (plain.accepted) facts.plaintextAuth = plain.auth;
  let best: TLSSocket | null = null;
  for (const v of VERSIONS) {
    const r = await tryTlsVersion(ctx, v);
    facts.tlsVersions[v] = r.accepted;
    if (r.answer !== undefined) facts.sslResponse = r.answer;
    if (r.sock) {
      best?.destroy();
      best = r.sock;
    }
  }
  if (best) {
    facts.certificate = describeCertificate(best, ctx.name);
    facts.auth = await firstAnswer(best, ctx).then((a) => a ?? unanswered(ctx.user), (e: Error) => failed(ctx.user, e));
    best.destroy();
  } else if (plain.accepted !== null) {
    facts.auth = plain.auth;
  }
  facts.directTls = await probeDirectTls(ctx);
  return facts;
}

/** A plaintext StartupMessage: an auth request means accepted; 28000 (no pg_hba.conf entry) means refused. */
async function probePlaintext(ctx: Ctx): Promise<{ accepted: boolean | null; auth: ProbeAuth }> {
  let sock: Socket | null = null;
  try {
    sock = await openTcp(ctx);
    const auth = await firstAnswer(sock, ctx);
    if (!auth) return { accepted: null, auth: unanswered(ctx.user) };
    return { accepted: auth.method !== 'refused', auth };
  } catch (e) {
    return { accepted: null, auth: failed(ctx.user, e as Error) };
  } finally {
    sock?.destroy();
  }
}

/**
 * SSLRequest, then a handshake pinned to one version. Versions 1.0 and 1.1 need security level 0
 * on OpenSSL 3; when this client still cannot offer them the answer is null ("could not test").
 */
async function tryTlsVersion(ctx: Ctx, v: TlsVersion): Promise<{ accepted: boolean | null; answer?: 'S' | 'N' | 'other'; sock?: TLSSocket }> {
  let raw: Socket | null = null;
  try {
    raw = await openTcp(ctx);
    raw.write(sslRequest);
    const answer = await readSslAnswer(raw, ctx.timeoutMs);
    if (answer !== 'S') {
      raw.destroy();
      return { accepted: false, answer };
    }
    const legacy = v === 'TLSv1' || v === 'TLSv1.1';
    const sock = await handshake({ socket: raw, minVersion: v, maxVersion: v, ...(legacy ? { ciphers: 'DEFAULT:@SECLEVEL=0' } : {}) }, ctx);
    return { accepted: true, answer, sock };
  } catch (e) {
    raw?.destroy();
    return { accepted: clientCannotOffer(e as Error) ? null : false };
  }
}

/** OpenSSL errors raised before anything is sent: this client, not the server, lacks the version. */
function clientCannotOffer(e: Error): boolean {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  return code === 'ERR_SSL_NO_PROTOCOLS_AVAILABLE' || code === 'ERR_TLS_INVALID_PROTOCOL_VERSION' || /no protocols available/i.test(e.message);
}

/** Direct TLS (PostgreSQL 17+): TLS with ALPN `postgresql` straight away, then a StartupMessage. */
async function probeDirectTls(ctx: Ctx): Promise<boolean | null> {
  let sock: TLSSocket | null = null;
  try {
    sock = await handshake({ host: ctx.host, port: ctx.port, ALPNProtocols: ['postgresql'] }, ctx);
    return (await firstAnswer(sock, ctx)) !== null;
  } catch {
    return false;
  } finally {
    sock?.destroy();
  }
}

function openTcp(ctx: Ctx): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = new Socket();
    const timer = setTimeout(() => s.destroy(new Error(`connect to ${ctx.host}:${ctx.port} timed out`)), ctx.timeoutMs);
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.connect(ctx.port, ctx.host, () => {
      clearTimeout(timer);
      s.removeAllListeners('error');
      s.on('error', () => undefined);
      resolve(s);
    });
  });
}

/** The single byte answering SSLRequest: 'S', 'N', or anything else (a very old server's 'E'). */
function readSslAnswer(s: Socket, timeoutMs: number): Promise<'S' | 'N' | 'other'> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error('no answer to SSLRequest')), timeoutMs);
    const onData = (c: Buffer): void => {
      // Bytes after the 'S' would be read as if encrypted: CVE-2021-23222.
      if (c.length > 1) return done(new Error('unencrypted data after the SSL response'));
      done(null, c[0] === 0x53 ? 'S' : c[0] === 0x4e ? 'N' : 'other');
    };
    const onEnd = (): void => done(new Error('closed during SSL negotiation'));
    const done = (e: Error | null, a?: 'S' | 'N' | 'other'): void => {
      clearTimeout(timer);
      s.off('data', onData).off('close', onEnd).off('error', onEnd);
      s.pause();
      if (e) reject(e);
      else resolve(a!);
    };
    s.on('data', onData).on('close', onEnd).on('error', onEnd);
  });
}

/** A TLS handshake that never verifies (the probe reports the certificate instead), with a deadline. */
function handshake(opts: ConnectionOptions, ctx: Ctx): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ ...opts, servername: ctx.sni, rejectUnauthorized: false });
    const timer = setTimeout(() => s.destroy(new Error('TLS handshake timed out')), ctx.timeoutMs);
    s.once('secureConnect', () => {
      clearTimeout(timer);
      s.removeAllListeners('error');
      s.on('error', () => undefined);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      s.destroy();
      reject(e);
    });
  });
}

/** Sends a StartupMessage and classifies the first reply; null when the reply is not PostgreSQL's. */
async function firstAnswer(sock: Socket | TLSSocket, ctx: Ctx): Promise<ProbeAuth | null> {
  const reader = new FrameReader(sock);
  const timer = setTimeout(() => sock.destroy(new Error('no reply to StartupMessage')), ctx.timeoutMs);
  try {
    sock.write(startupMessage({ user: ctx.user, database: ctx.database, application_name: 'gatehouse-probe' }));
    const { type, body } = await reader.read(new MessageFramer(backendMessageCap));
    if (type === BackendCode.ErrorResponse) {
      const err = decodeErrorResponse(body);
      return { user: ctx.user, method: 'refused', detail: `${err.code}: ${err.message}` };
    }
    if (type !== BackendCode.Authentication) return null;
    const auth = classifyAuth(ctx.user, body);
    // Trust: the probe is logged in without a password. Leave at once (protocol-flow Termination).
    if (auth.method === 'trust') sock.write(terminate);
    return auth;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
    reader.detach();
    sock.end();
  }
}

function classifyAuth(user: string, body: Buffer): ProbeAuth {
  const code = body.length >= 4 ? body.readInt32BE(0) : -1;
  switch (code) {
    case AuthCode.Ok:
      return { user, method: 'trust', detail: 'AuthenticationOk without a password' };
    case AuthCode.CleartextPassword:
      return { user, method: 'password', detail: 'AuthenticationCleartextPassword' };
    case AuthCode.MD5Password:
      return { user, method: 'md5', detail: 'AuthenticationMD5Password' };
    case AuthCode.SASL: {
      const a = decodeAuthentication(body);
      const mechanisms = 'mechanisms' in a ? a.mechanisms : [];
      const plus = mechanisms.includes('SCRAM-SHA-256-PLUS');
      return { user, method: plus ? 'scram-sha-256-plus' : 'scram-sha-256', detail: `AuthenticationSASL: ${mechanisms.join(', ')}` };
    }
    default:
      return { user, method: 'other', detail: `authentication request ${code}` };
  }
}

const unanswered = (user: string): ProbeAuth => ({ user, method: 'other', detail: 'no PostgreSQL reply to the StartupMessage' });
const failed = (user: string, e: Error): ProbeAuth => ({ user, method: 'other', detail: `connection failed: ${e.message}` });

function describeCertificate(sock: TLSSocket, name: string): NonNullable<ProbeFacts['certificate']> | undefined {
  const cert = sock.getPeerX509Certificate();
  if (!cert) return undefined;
  const details = cert.publicKey.asymmetricKeyDetails;
  const bits = details?.modulusLength;
  const validTo = new Date(cert.validTo);
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    selfSigned: isSelfSigned(cert),
    validTo: validTo.toISOString(),
    daysLeft: Math.floor((validTo.getTime() - Date.now()) / DAY_MS),
    hostnameMatches: checkServerIdentity(name, cert.toLegacyObject()) === undefined,
    keyType: cert.publicKey.asymmetricKeyType ?? 'unknown',
    ...(bits !== undefined ? { keyBits: bits } : {}),
    ...(details?.namedCurve !== undefined ? { keyCurve: details.namedCurve } : {}),
    ...signatureAlgorithm(cert),
  };
}

/** Issued by itself and signed with its own key. */
function isSelfSigned(cert: X509Certificate): boolean {
  try {
    return cert.checkIssued(cert) && cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}

/** Node 20's X509Certificate does not expose it: read the outer AlgorithmIdentifier (RFC 5280 §4.1.1.2). */
function signatureAlgorithm(cert: X509Certificate): { signatureAlgorithm?: string } {
  try {
    const der = cert.raw;
    const { signatureAlgorithm: alg } = certificateParts(der);
    const oidEl = childrenOf(der, alg)[0];
    if (!oidEl) return {};
    const oid = decodeOid(contentOf(der, oidEl));
    return { signatureAlgorithm: SIGNATURE_NAMES[oid] ?? oid };
  } catch {
    return {};
  }
}
