/**
 * Client authentication for the hba line that matched (auth.c ClientAuthentication): the
 * client-certificate gate, then the method, then clientcert=verify-full. Every failure is
 * PostgreSQL's own message and SQLSTATE, identical whether or not the role exists.
 */
import type { Duplex } from 'node:stream';
import { WireError, wire } from '../errors.js';
import type { HbaRule, IdentMapSet } from '../hba/index.js';
import { checkIdentMap } from '../hba/index.js';
import { MessageFramer } from '../protocol/framer.js';
import { authMessageCap } from '../protocol/codes.js';
import { decodePasswordMessage, decodeSASLInitialResponse, decodeSASLResponse } from '../protocol/frontend/decode.js';
import * as be from '../protocol/backend/encode.js';
import { ScramServer } from '../auth/scram/server.js';
import { makeScramSecret, type ScramSecret } from '../auth/scram/secret.js';
import { randomMd5Salt, verifyMd5Response } from '../auth/md5.js';
import { verifyCleartextPassword } from '../auth/password.js';
import { certCommonName } from '../auth/cert.js';
import type { StoredSecret } from '../auth/userlist.js';
import type { FrameReader } from './reader.js';
import { HandshakeFatal, type TlsInfo } from './negotiate.js';

/** Methods gatehouse enforces; any other method on a matching line is refused. */
const SUPPORTED = new Set(['trust', 'reject', 'scram-sha-256', 'md5', 'password', 'cert']);

export interface AuthContext {
  socket: Duplex;
  reader: FrameReader;
  user: string;
  rule: HbaRule;
  tls: TlsInfo | null;
  /** The role's stored secret (auth file or auth_query), or null for an unknown role. */
  lookupSecret: (user: string) => Promise<StoredSecret | null>;
  ident: IdentMapSet | null;
  isMember: (role: string) => boolean;
  passwordEncryption: 'scram-sha-256' | 'md5';
  /** tls-server-end-point hash of our certificate, when channel binding can be offered. */
  certHash: Buffer | null;
}

/** What the session needs to log in upstream on the client's behalf. Never logged. */
export interface AuthOutcome {
  method: string;
  secret: StoredSecret | null;
  /** SCRAM ClientKey recovered from the client's proof: enables SCRAM passthrough. */
  clientKey?: Buffer;
  scramSecret?: ScramSecret;
  /** Cleartext password from `password` auth. */
  password?: string;
}

/** Runs the exchange; throws HandshakeFatal on failure. */
export async function authenticateClient(ctx: AuthContext): Promise<AuthOutcome> {
  const { rule } = ctx;
  const fatal = (w: WireError): HandshakeFatal => new HandshakeFatal(w, ctx.socket);
  if (!SUPPORTED.has(rule.method)) throw fatal(wire.methodUnsupported(rule.method));
  const clientcert = rule.method === 'cert' ? 'verify-full' : rule.clientcert;
  if (clientcert && !hasVerifiedCert(ctx)) throw fatal(wire.certMissing());
  const outcome = await runMethod(ctx);
  // clientcert=verify-full on a non-cert line: the certificate's CN must also be the user.
  if (clientcert === 'verify-full' && rule.method !== 'cert' && !certNameMatches(ctx, undefined)) {
    throw fatal(failureFor(rule.method, ctx.user));
  }
  return outcome;
}

function failureFor(method: string, user: string): WireError {
  return method === 'cert' ? wire.certFailed(user) : wire.passwordFailed(user);
}

async function runMethod(ctx: AuthContext): Promise<AuthOutcome> {
  switch (ctx.rule.method) {
    case 'trust':
      return { method: 'trust', secret: null };
    case 'cert':
      if (!certNameMatches(ctx, ctx.rule.options.map)) throw new HandshakeFatal(wire.certFailed(ctx.user), ctx.socket);
      return { method: 'cert', secret: await ctx.lookupSecret(ctx.user) };
    case 'password':
      return passwordExchange(ctx);
    case 'md5':
      return md5OrScram(ctx);
    case 'scram-sha-256':
      return scramExchange(ctx, 'scram-sha-256', await ctx.lookupSecret(ctx.user));
    default:
      // reject is decided before authentication; anything else was refused above.
      throw new HandshakeFatal(wire.methodUnsupported(ctx.rule.method), ctx.socket);
  }
}

function hasVerifiedCert(ctx: AuthContext): boolean {
  return ctx.tls?.certVerified === true;
}

/** CheckCertAuth(): the CN (or DN with clientname=DN) must be the user, or map to it. */
function certNameMatches(ctx: AuthContext, map: string | undefined): boolean {
  const raw = ctx.tls?.peerCertificate;
  if (!raw) return false;
  const name = certCommonName({ raw }, ctx.rule.options.clientname === 'DN' ? 'DN' : 'CN');
  if (!name) return false;
  if (!map) return name === ctx.user;
  return ctx.ident !== null && checkIdentMap(ctx.ident, map, name, ctx.user, ctx.isMember);
}

/** Reads the client's next 'p' message; anything else is a protocol violation (auth.c), raised by the cap. */
async function readPasswordPacket(ctx: AuthContext, expected: 'password' | 'SASL'): Promise<Buffer> {
  return (await ctx.reader.read(new MessageFramer(authMessageCap(expected)))).body;
}

/** auth.c recv_password_packet(): an empty password is refused outright (libpq never sends one). */
async function readCleartext(ctx: AuthContext): Promise<string> {
  const password = decodePasswordMessage(await readPasswordPacket(ctx, 'password'));
  if (password === '') throw new HandshakeFatal(new WireError('FATAL', '28P01', 'empty password returned by client'), ctx.socket);
  return password;
}

async function passwordExchange(ctx: AuthContext): Promise<AuthOutcome> {
  ctx.socket.write(be.authenticationCleartextPassword);
  const password = await readCleartext(ctx);
  const secret = await ctx.lookupSecret(ctx.user);
  if (!secret || !verifyCleartextPassword(secret, ctx.user, password)) throw new HandshakeFatal(wire.passwordFailed(ctx.user), ctx.socket);
  return { method: 'password', secret, password };
}

/** CheckPWChallengeAuth(): a SCRAM secret means SCRAM even on an md5 line; unknown roles get the mock that password_encryption picks. */
async function md5OrScram(ctx: AuthContext): Promise<AuthOutcome> {
  const secret = await ctx.lookupSecret(ctx.user);
  const useScram = secret ? secret.kind === 'scram' : ctx.passwordEncryption === 'scram-sha-256';
  if (useScram) return scramExchange(ctx, 'md5', secret);
  const salt = randomMd5Salt();
  ctx.socket.write(be.authenticationMD5Password(salt));
  const response = await readCleartext(ctx);
  if (!secret || !verifyMd5Response(secret, ctx.user, salt, response)) throw new HandshakeFatal(wire.passwordFailed(ctx.user), ctx.socket);
  return { method: 'md5', secret };
}

async function scramExchange(ctx: AuthContext, method: string, secret: StoredSecret | null): Promise<AuthOutcome> {
  // A plaintext secret (PgBouncer's auth file allows it) is turned into a verifier on the fly;
  // an md5 secret cannot do SCRAM, so that role gets the mock exchange and fails, as in PostgreSQL.
  const scramSecret = secret?.kind === 'scram' ? secret.secret : secret?.kind === 'plain' ? makeScramSecret(secret.password) : null;
  const offered = ctx.tls !== null && ctx.certHash !== null;
  const server = new ScramServer({
    user: ctx.user,
    secret: scramSecret,
    channelBinding: offered ? { offered: true, certHash: ctx.certHash! } : { offered: false },
  });
  ctx.socket.write(be.authenticationSASL(server.mechanisms()));
  const first = decodeSASLInitialResponse(await readPasswordPacket(ctx, 'SASL'));
  let clientFirst = first.data;
  if (clientFirst === null) {
    // No initial response (length -1): auth-sasl.c sends an empty challenge and takes the next
    // message as the client-first-message.
    ctx.socket.write(be.authenticationSASLContinue(Buffer.alloc(0)));
    clientFirst = decodeSASLResponse(await readPasswordPacket(ctx, 'SASL'));
  }
  const step1 = server.clientFirst(first.mechanism, clientFirst);
  if (step1.kind === 'fail') throw new HandshakeFatal(step1.error, ctx.socket);
  if (step1.kind !== 'continue') throw new HandshakeFatal(wire.saslMalformed('unexpected SCRAM state'), ctx.socket);
  ctx.socket.write(be.authenticationSASLContinue(step1.data));
  const step2 = server.clientFinal(decodeSASLResponse(await readPasswordPacket(ctx, 'SASL')));
  if (step2.kind === 'fail') throw new HandshakeFatal(step2.error, ctx.socket);
  if (step2.kind !== 'ok') throw new HandshakeFatal(wire.saslMalformed('unexpected SCRAM state'), ctx.socket);
  // Held until the caller's AuthenticationOk follows it (serveConnection uncorks): one write, one
  // wake-up for the client. A FATAL in between goes out with end(), which uncorks.
  ctx.socket.cork();
  ctx.socket.write(be.authenticationSASLFinal(step2.data));
  return { method, secret, clientKey: step2.clientKey, ...(scramSecret ? { scramSecret } : {}) };
}
