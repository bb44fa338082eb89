/**
 * The server side of SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 5802, RFC 7677, channel binding
 * tls-server-end-point from RFC 5929), following PostgreSQL's src/backend/libpq/auth-scram.c
 * check for check and message for message:
 *
 * - the GS2 header: `n,,`, `y,,` or `p=tls-server-end-point,,`; an authzid is refused (0A000);
 *   `y` is a downgrade when PLUS was offered; `p` without PLUS, or PLUS without `p`, is malformed;
 * - `m=` (a mandatory extension) is refused; the client nonce must be printable;
 * - the channel-binding attribute must repeat the GS2 header (plus the certificate hash for PLUS);
 * - the final nonce must be exactly client nonce + server nonce; the proof must be 32 bytes;
 * - H(ClientProof XOR ClientSignature) must equal StoredKey (timingSafeEqual).
 *
 * An unknown role, or one without a usable SCRAM secret, gets a mock exchange that looks the same
 * on the wire (salt derived from the role name and a per-process secret, default iteration count)
 * and fails with the same 28P01 as a wrong password, after the same work (invariant 5).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { WireError, wire } from '../../errors.js';
import { AttrCursor, ScramParseError, sanitizeChar, sanitizeStr } from './attributes.js';
import {
  SCRAM_DEFAULT_ITERATIONS,
  SCRAM_DEFAULT_SALT_LEN,
  SCRAM_KEY_LEN,
  SCRAM_SHA_256,
  SCRAM_SHA_256_PLUS,
  decodeBase64Strict,
  isScramPrintable,
  iterationsInBounds,
  randomNonce,
  scramH,
  scramHmac,
  xorBuffers,
} from './common.js';
import type { ScramSecret } from './secret.js';

const CB_HEADER = 'p=tls-server-end-point,,';

/** How the exchange is set up. */
export interface ScramServerOptions {
  /** The role from the startup packet (the SCRAM `n=` is ignored, as in PostgreSQL). */
  user: string;
  /** The role's verifier, or null for an unknown role or one whose secret cannot do SCRAM. */
  secret: ScramSecret | null;
  /**
   * `offered`: the connection is TLS and SCRAM-SHA-256-PLUS is advertised. `certHash` is the
   * tls-server-end-point hash of our certificate; without it PLUS is not offered.
   */
  channelBinding: { offered: boolean; certHash?: Buffer };
  /** Tests only: the server part of the nonce, instead of 18 random bytes in base64. */
  serverNonce?: string;
}

/** One step's outcome: a challenge to send, success (with the ClientKey), or the error to send. */
export type ScramStep =
  | { kind: 'continue'; data: Buffer }
  | { kind: 'ok'; data: Buffer; clientKey: Buffer }
  | { kind: 'fail'; error: WireError };

type State =
  | { phase: 'init' }
  | {
      phase: 'salt-sent';
      cbInUse: boolean;
      cbindFlag: string;
      clientFirstBare: string;
      clientNonce: string;
      serverNonce: string;
      serverFirst: string;
    }
  | { phase: 'done' };

/** auth-scram.c uses MOCK_AUTH_NONCE_LEN (32) bytes kept in pg_control; ours live per process. */
const MOCK_AUTH_NONCE = randomBytes(32);

/** scram_mock_salt(): SHA-256(username || mock nonce), cut to the default salt length. */
export function mockSalt(user: string): Buffer {
  return createHash('sha256').update(user, 'utf8').update(MOCK_AUTH_NONCE).digest().subarray(0, SCRAM_DEFAULT_SALT_LEN);
}

const usable = (s: ScramSecret | null): s is ScramSecret =>
  s !== null && iterationsInBounds(s.iterations) && s.storedKey.length === SCRAM_KEY_LEN && s.serverKey.length === SCRAM_KEY_LEN;

/** Throws the WireError `w` out of a parse; caught at the step boundary. */
function raise(w: WireError): never {
  throw w;
}

/** One SCRAM exchange for one connection. Not reusable. */
export class ScramServer {
  private state: State = { phase: 'init' };
  private readonly secret: ScramSecret;
  private readonly doomed: boolean;
  private readonly certHash: Buffer | null;

  constructor(private readonly o: ScramServerOptions) {
    const hash = o.channelBinding.offered ? o.channelBinding.certHash : undefined;
    this.certHash = hash && hash.length > 0 ? hash : null;
    this.doomed = !usable(o.secret);
    this.secret = usable(o.secret)
      ? o.secret
      : // mock_scram_secret(): StoredKey and ServerKey are never matched in a doomed exchange.
        { iterations: SCRAM_DEFAULT_ITERATIONS, salt: mockSalt(o.user), storedKey: Buffer.alloc(SCRAM_KEY_LEN), serverKey: Buffer.alloc(SCRAM_KEY_LEN) };
  }

  /** The AuthenticationSASL list: PLUS first, and only when channel binding is offered (scram_get_mechanisms). */
  mechanisms(): string[] {
    return this.certHash ? [SCRAM_SHA_256_PLUS, SCRAM_SHA_256] : [SCRAM_SHA_256];
  }

  /** SASLInitialResponse: the selected mechanism and the client-first-message. */
  clientFirst(mechanism: string, data: Buffer): ScramStep {
    return this.step('init', () => this.onClientFirst(mechanism, data));
  }

  /** SASLResponse: the client-final-message. */
  clientFinal(data: Buffer): ScramStep {
    return this.step('salt-sent', () => this.onClientFinal(data));
  }

  /** Runs one step; any error ends the exchange. */
  private step(expected: State['phase'], run: () => ScramStep): ScramStep {
    if (this.state.phase !== expected) return this.fail(wire.internal());
    try {
      return run();
    } catch (e) {
      if (e instanceof WireError) return this.fail(e);
      if (e instanceof ScramParseError) return this.fail(wire.saslMalformed(e.detail));
      throw e;
    }
  }

  private fail(error: WireError): ScramStep {
    this.state = { phase: 'done' };
    return { kind: 'fail', error };
  }

  private onClientFirst(mechanism: string, data: Buffer): ScramStep {
    // scram_init(): PLUS only when offered; anything else is a protocol violation.
    let cbInUse: boolean;
    if (mechanism === SCRAM_SHA_256_PLUS && this.certHash) cbInUse = true;
    else if (mechanism === SCRAM_SHA_256) cbInUse = false;
    else return raise(wire.protocolViolation('client selected an invalid SASL authentication mechanism'));
    const first = readClientFirst(messageText(data), cbInUse, this.certHash !== null);
    const serverNonce = this.o.serverNonce ?? randomNonce();
    const { salt, iterations } = this.secret;
    // build_server_first_message()
    const serverFirst = `r=${first.clientNonce}${serverNonce},s=${salt.toString('base64')},i=${iterations}`;
    this.state = { phase: 'salt-sent', cbInUse, serverNonce, serverFirst, ...first };
    return { kind: 'continue', data: Buffer.from(serverFirst, 'latin1') };
  }

  private onClientFinal(data: Buffer): ScramStep {
    const st = this.state;
    if (st.phase !== 'salt-sent') return raise(wire.internal());
    const final = readClientFinal(messageText(data), st.cbInUse, st.cbindFlag, this.certHash);
    if (!nonceMatches(final.nonce, st.clientNonce, st.serverNonce)) raise(wire.saslInvalidResponse('Nonce does not match.'));
    const authMessage = Buffer.from(`${st.clientFirstBare},${st.serverFirst},${final.withoutProof}`, 'latin1');
    // verify_client_proof(): computed even for a doomed exchange, so timing does not tell.
    const clientKey = xorBuffers(final.proof, scramHmac(this.secret.storedKey, authMessage));
    const proofOk = timingSafeEqual(scramH(clientKey), this.secret.storedKey);
    if (!proofOk || this.doomed) return this.fail(wire.passwordFailed(this.o.user));
    this.state = { phase: 'done' };
    const signature = scramHmac(this.secret.serverKey, authMessage);
    return { kind: 'ok', data: Buffer.from(`v=${signature.toString('base64')}`, 'latin1'), clientKey };
  }
}

/** pg_be_scram_exchange(): empty input and embedded NULs are refused before parsing. */
function messageText(data: Buffer): string {
  if (data.length === 0) throw new ScramParseError('The message is empty.');
  if (data.includes(0)) throw new ScramParseError('Message length does not match input length.');
  return data.toString('latin1');
}

const PLUS_WITHOUT_CB = 'The client selected SCRAM-SHA-256-PLUS, but the SCRAM message does not include channel binding data.';
const CB_WITHOUT_PLUS = 'The client selected SCRAM-SHA-256 without channel binding, but the SCRAM message includes channel binding data.';

function expectComma(cur: AttrCursor): void {
  if (cur.peek() !== ',') throw new ScramParseError(`Comma expected, but found character "${sanitizeChar(cur.peek())}".`);
  cur.pos++;
}

/** The gs2-cbind-flag of read_client_first_message(); leaves the cursor at the authzid. */
function readCbindFlag(cur: AttrCursor, cbInUse: boolean, offered: boolean): string {
  const flag = cur.peek();
  switch (flag) {
    case 'n':
    case 'y':
      if (cbInUse) throw new ScramParseError(PLUS_WITHOUT_CB);
      // RFC 5802 §6: "y" while the server supports channel binding means a downgrade.
      if (flag === 'y' && offered) raise(wire.channelBindingDowngrade());
      cur.pos++;
      expectComma(cur);
      return flag;
    case 'p': {
      if (!cbInUse) throw new ScramParseError(CB_WITHOUT_PLUS);
      const type = cur.expect('p');
      if (type !== 'tls-server-end-point') raise(wire.protocolViolation(`unsupported SCRAM channel-binding type "${sanitizeStr(type)}"`));
      return flag;
    }
    default:
      throw new ScramParseError(`Unexpected channel-binding flag "${sanitizeChar(flag)}".`);
  }
}

/** read_client_first_message(): gs2-header, then [reserved-mext ","] username "," nonce ["," extensions]. */
function readClientFirst(msg: string, cbInUse: boolean, offered: boolean): { cbindFlag: string; clientFirstBare: string; clientNonce: string } {
  const cur = new AttrCursor(msg);
  const cbindFlag = readCbindFlag(cur, cbInUse, offered);
  if (cur.peek() === 'a') raise(wire.featureNotSupported('client uses authorization identity, but it is not supported'));
  if (cur.peek() !== ',') throw new ScramParseError(`Unexpected attribute "${sanitizeChar(cur.peek())}" in client-first-message.`);
  cur.pos++;
  const clientFirstBare = msg.slice(cur.pos);
  if (cur.peek() === 'm') raise(wire.featureNotSupported('client requires an unsupported SCRAM extension'));
  cur.expect('n'); // the user name: ignored, the startup packet's is used
  const clientNonce = cur.expect('r');
  if (!isScramPrintable(clientNonce)) raise(wire.protocolViolation('non-printable characters in SCRAM nonce'));
  while (!cur.atEnd()) cur.any(); // optional extensions: none supported, all ignored
  return { cbindFlag, clientFirstBare, clientNonce };
}

/** The `c=` attribute: the GS2 header again, plus our certificate hash when PLUS is in use. */
function checkChannelBinding(value: string, cbInUse: boolean, cbindFlag: string, certHash: Buffer | null): void {
  if (cbInUse) {
    if (!certHash) raise(wire.internal());
    const expected = Buffer.from(Buffer.concat([Buffer.from(CB_HEADER, 'latin1'), certHash]).toString('base64'), 'latin1');
    const got = Buffer.from(value, 'latin1');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) raise(wire.channelBindingMismatch());
    return;
  }
  // "biws" is base64("n,,"), "eSws" is base64("y,,"); the flag must be the one sent first.
  if (!(value === 'biws' && cbindFlag === 'n') && !(value === 'eSws' && cbindFlag === 'y')) {
    raise(wire.protocolViolation('unexpected SCRAM channel-binding attribute in client-final-message'));
  }
}

/** read_client_final_message(): channel-binding "," nonce ["," extensions] "," proof. */
function readClientFinal(msg: string, cbInUse: boolean, cbindFlag: string, certHash: Buffer | null): { nonce: string; proof: Buffer; withoutProof: string } {
  const cur = new AttrCursor(msg);
  checkChannelBinding(cur.expect('c'), cbInUse, cbindFlag, certHash);
  const nonce = cur.expect('r');
  let proofAt: number;
  let attr: { attr: string; value: string };
  do {
    proofAt = cur.pos - 1; // the ',' before the attribute
    attr = cur.any();
  } while (attr.attr !== 'p');
  const proof = decodeBase64Strict(attr.value);
  if (proof?.length !== SCRAM_KEY_LEN) throw new ScramParseError('Malformed proof in client-final-message.');
  if (!cur.atEnd()) throw new ScramParseError('Garbage found at the end of client-final-message.');
  return { nonce, proof, withoutProof: msg.slice(0, proofAt) };
}

/** verify_final_nonce(): exactly client nonce + server nonce, compared in constant time. */
function nonceMatches(finalNonce: string, clientNonce: string, serverNonce: string): boolean {
  const got = Buffer.from(finalNonce, 'latin1');
  const want = Buffer.from(clientNonce + serverNonce, 'latin1');
  return got.length === want.length && timingSafeEqual(got, want);
}
