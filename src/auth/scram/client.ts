/**
 * The client side of SCRAM-SHA-256[-PLUS] (RFC 5802, RFC 7677), used when gatehouse logs in to
 * the upstream server. It follows libpq's src/interfaces/libpq/fe-auth-scram.c and adds checks
 * libpq leaves out: the server nonce must extend ours (and be printable), the iteration count is
 * bounded, and the server signature is compared with timingSafeEqual.
 *
 * Two ways to prove the role:
 * - `{ password }`: SaltedPassword from the password (SASLprep'd as PostgreSQL does);
 * - `{ clientKey, secret }` (SCRAM passthrough): the ClientKey recovered from the client's own
 *   SCRAM login against gatehouse's verifier, which must be the server's verifier too. The
 *   server's salt and iteration count must then equal the verifier's, or the proof cannot match.
 *
 * Every failure is a GatehouseError GH_UPSTREAM; messages never carry a secret.
 */
import { timingSafeEqual } from 'node:crypto';
import { GatehouseError } from '../../errors.js';
import { AttrCursor, ScramParseError, sanitizeStr } from './attributes.js';
import {
  SCRAM_KEY_LEN,
  SCRAM_MAX_ITERATIONS,
  SCRAM_SHA_256,
  SCRAM_SHA_256_PLUS,
  clientKeyOf,
  decodeBase64Strict,
  isScramPrintable,
  randomNonce,
  saltedPassword,
  scramH,
  scramHmac,
  serverKeyOf,
  xorBuffers,
} from './common.js';
import type { ScramSecret } from './secret.js';

/** What proves the role to the server. Never logged. */
export type ScramClientCredentials =
  | { password: string | Buffer }
  | { clientKey: Buffer; secret: ScramSecret };

/** Channel binding and test hooks. */
export interface ScramClientOptions {
  /**
   * tls-server-end-point hash of the *server's* certificate (see tlsServerEndPointHash). When set,
   * the client binds to it with SCRAM-SHA-256-PLUS, unless `serverMechanisms` lacks PLUS.
   */
  certHash?: Buffer | null;
  /**
   * The server's AuthenticationSASL list. With a certHash and no PLUS in the list, the GS2 flag is
   * `y` ("I support channel binding, you don't seem to"), as libpq sends over TLS.
   */
  serverMechanisms?: readonly string[];
  /** The SCRAM `n=` user name. PostgreSQL ignores it; libpq sends an empty one (the default). */
  username?: string;
  /** Tests only: the client nonce, instead of 18 random bytes in base64. */
  nonce?: string;
}

type State =
  | { phase: 'init' }
  | { phase: 'first-sent'; clientFirstBare: string }
  | { phase: 'final-sent'; expectedSignature: Buffer }
  | { phase: 'done' }
  | { phase: 'failed' };

const upstream = (msg: string): GatehouseError => new GatehouseError('GH_UPSTREAM', msg);

/** RFC 5802 §5.1 saslname: "=" and "," are escaped. */
const saslname = (s: string): string => s.replace(/=/g, '=3D').replace(/,/g, '=2C');

/** One SCRAM login to the upstream server. Not reusable. */
export class ScramClient {
  private state: State = { phase: 'init' };
  private readonly gs2Header: string;
  private readonly mechanism: string;
  private readonly nonce: string;

  constructor(private readonly creds: ScramClientCredentials, private readonly o: ScramClientOptions = {}) {
    const plusOffered = o.serverMechanisms === undefined || o.serverMechanisms.includes(SCRAM_SHA_256_PLUS);
    const bind = !!o.certHash && o.certHash.length > 0;
    this.mechanism = bind && plusOffered ? SCRAM_SHA_256_PLUS : SCRAM_SHA_256;
    this.gs2Header = this.mechanism === SCRAM_SHA_256_PLUS ? 'p=tls-server-end-point,,' : bind ? 'y,,' : 'n,,';
    this.nonce = o.nonce ?? randomNonce();
    if (!isScramPrintable(this.nonce) || this.nonce.length === 0) throw new RangeError('SCRAM nonce must be printable');
  }

  /** True once the server's signature has been verified: only then may AuthenticationOk be believed. */
  get verified(): boolean {
    return this.state.phase === 'done';
  }

  /** Whether the exchange binds to the TLS channel (SCRAM-SHA-256-PLUS). */
  get channelBound(): boolean {
    return this.mechanism === SCRAM_SHA_256_PLUS;
  }

  /** The SASLInitialResponse: mechanism and client-first-message. */
  initial(): { mechanism: string; data: Buffer } {
    this.expectPhase('init');
    // Messages are handled as latin1 strings of their bytes; the user name goes out as UTF-8.
    const user = Buffer.from(saslname(this.o.username ?? ''), 'utf8').toString('latin1');
    const clientFirstBare = `n=${user},r=${this.nonce}`;
    this.state = { phase: 'first-sent', clientFirstBare };
    return { mechanism: this.mechanism, data: Buffer.from(this.gs2Header + clientFirstBare, 'latin1') };
  }

  /** AuthenticationSASLContinue → the SASLResponse (client-final-message). */
  serverFirst(data: Buffer): Buffer {
    const st = this.state;
    if (st.phase !== 'first-sent') throw this.outOfOrder();
    const text = data.toString('latin1');
    const { serverNonce, salt, iterations } = this.parseServerFirst(text);
    const { clientKey, serverKey } = this.keysFor(salt, iterations);
    const cbind = Buffer.concat([Buffer.from(this.gs2Header, 'latin1'), this.channelBound ? this.o.certHash! : Buffer.alloc(0)]);
    const withoutProof = `c=${cbind.toString('base64')},r=${serverNonce}`;
    const authMessage = Buffer.from(`${st.clientFirstBare},${text},${withoutProof}`, 'latin1');
    const proof = xorBuffers(clientKey, scramHmac(scramH(clientKey), authMessage));
    this.state = { phase: 'final-sent', expectedSignature: scramHmac(serverKey, authMessage) };
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'latin1');
  }

  /** AuthenticationSASLFinal: verifies the server signature; throws GH_UPSTREAM on any mismatch. */
  serverFinal(data: Buffer): void {
    const st = this.state;
    if (st.phase !== 'final-sent') throw this.outOfOrder();
    this.state = { phase: 'failed' }; // until the signature checks out below
    const cur = new AttrCursor(data.toString('latin1'));
    if (cur.peek() === 'e') {
      throw upstream(`error received from server in SCRAM exchange: ${sanitizeStr(this.attr(cur, 'e'))}`);
    }
    const v = this.attr(cur, 'v');
    if (!cur.atEnd()) throw upstream('malformed SCRAM message (garbage at end of server-final-message)');
    const signature = decodeBase64Strict(v);
    if (signature?.length !== SCRAM_KEY_LEN) throw upstream('malformed SCRAM message (invalid server signature)');
    if (!timingSafeEqual(signature, st.expectedSignature)) throw upstream('incorrect server signature');
    this.state = { phase: 'done' };
  }

  /** read_server_first_message(): r=, s=, i= and nothing after. */
  private parseServerFirst(text: string): { serverNonce: string; salt: Buffer; iterations: number } {
    const cur = new AttrCursor(text);
    const serverNonce = this.attr(cur, 'r');
    // The server must echo our nonce and add its own part (RFC 5802 §5.1 "nonce").
    if (serverNonce.length <= this.nonce.length || !serverNonce.startsWith(this.nonce) || !isScramPrintable(serverNonce)) {
      throw upstream('invalid SCRAM response (nonce mismatch)');
    }
    const salt = decodeBase64Strict(this.attr(cur, 's'));
    if (!salt) throw upstream('malformed SCRAM message (invalid salt)');
    const iterText = this.attr(cur, 'i');
    const iterations = /^[0-9]{1,10}$/.test(iterText) ? Number(iterText) : 0;
    if (iterations < 1) throw upstream('malformed SCRAM message (invalid iteration count)');
    if (iterations > SCRAM_MAX_ITERATIONS) {
      throw upstream(`server asks for ${iterations} SCRAM iterations; gatehouse allows at most ${SCRAM_MAX_ITERATIONS}`);
    }
    if (!cur.atEnd()) throw upstream('malformed SCRAM message (garbage at end of server-first-message)');
    return { serverNonce, salt, iterations };
  }

  /** ClientKey and ServerKey: from the password, or the passthrough keys when the verifier matches. */
  private keysFor(salt: Buffer, iterations: number): { clientKey: Buffer; serverKey: Buffer } {
    if ('password' in this.creds) {
      const salted = saltedPassword(this.creds.password, salt, iterations);
      return { clientKey: clientKeyOf(salted), serverKey: serverKeyOf(salted) };
    }
    const { clientKey, secret } = this.creds;
    if (!salt.equals(secret.salt) || iterations !== secret.iterations) {
      throw upstream('SCRAM passthrough failed: the server\'s verifier for this role has a different salt or iteration count '
        + 'than gatehouse\'s; copy the server\'s verifier (pg_authid.rolpassword) into the auth file, or configure the password');
    }
    if (clientKey.length !== SCRAM_KEY_LEN) throw upstream('SCRAM passthrough failed: the ClientKey is not 32 bytes');
    return { clientKey, serverKey: secret.serverKey };
  }

  /** read_attr_value() with libpq's wording for a malformed message. */
  private attr(cur: AttrCursor, name: string): string {
    try {
      return cur.expect(name);
    } catch (e) {
      if (e instanceof ScramParseError) throw upstream(`malformed SCRAM message (${e.detail})`);
      throw e;
    }
  }

  private expectPhase(phase: State['phase']): void {
    if (this.state.phase !== phase) throw this.outOfOrder();
  }

  private outOfOrder(): GatehouseError {
    return upstream(`SCRAM message from the server out of order (exchange is in state "${this.state.phase}")`);
  }
}
