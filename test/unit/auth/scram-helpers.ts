/** Shared helpers for the SCRAM tests: a known verifier, hand-built client messages, step checks. */
import { strict as assert } from 'node:assert';
import type { WireError } from '../../../src/errors.js';
import { scramH, scramHmac, xorBuffers } from '../../../src/auth/scram/common.js';
import { makeScramSecret, scramKeys, type ScramSecret } from '../../../src/auth/scram/secret.js';
import { ScramServer, type ScramServerOptions, type ScramStep } from '../../../src/auth/scram/server.js';

export const PASSWORD = 'correct horse';
export const SALT = Buffer.from('0123456789abcdef');
export const SECRET: ScramSecret = makeScramSecret(PASSWORD, { salt: SALT, iterations: 4096 });
export const CERT_HASH = Buffer.alloc(32, 0xab);
export const CLIENT_NONCE = 'clientnonce123';
export const SERVER_NONCE = 'SERVERnonce/456+789=0000';

export const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

/** A server with the known secret; channel binding offered when `plus`. */
export function server(o: Partial<ScramServerOptions> & { plus?: boolean } = {}): ScramServer {
  return new ScramServer({
    user: 'alice',
    secret: SECRET,
    channelBinding: o.plus ? { offered: true, certHash: CERT_HASH } : { offered: false },
    serverNonce: SERVER_NONCE,
    ...o,
  });
}

/** Asserts a failed step with this SQLSTATE, message and (when given) detail. */
export function assertFail(step: ScramStep, code: string, message: string | RegExp, detail?: string): WireError {
  assert.equal(step.kind, 'fail', `expected a failure, got ${step.kind}`);
  const { error } = step as { kind: 'fail'; error: WireError };
  assert.equal(error.code, code, `SQLSTATE of "${error.message}"`);
  if (typeof message === 'string') assert.equal(error.message, message);
  else assert.match(error.message, message);
  if (detail !== undefined) assert.equal(error.detail, detail);
  assert.equal(error.severity, 'FATAL');
  return error;
}

/** The data of a continue step. */
export function continueData(step: ScramStep): string {
  assert.equal(step.kind, 'continue', step.kind === 'fail' ? `failed: ${step.error.message} / ${step.error.detail}` : step.kind);
  return (step as { data: Buffer }).data.toString('latin1');
}

/**
 * A client-final-message for `withoutProof`, with the proof a client knowing `password` computes
 * (RFC 5802 §3), given the exchange's client-first-bare and server-first.
 */
export function finalWithProof(password: string, secret: ScramSecret, bare: string, serverFirst: string, withoutProof: string): string {
  const { clientKey } = scramKeys(password, secret.salt, secret.iterations);
  const authMessage = bytes(`${bare},${serverFirst},${withoutProof}`);
  const proof = xorBuffers(clientKey, scramHmac(scramH(clientKey), authMessage));
  return `${withoutProof},p=${proof.toString('base64')}`;
}

/** Runs client-first `first` (gs2 header included) and returns the server-first-message. */
export function start(s: ScramServer, first: string, mechanism = 'SCRAM-SHA-256'): string {
  return continueData(s.clientFirst(mechanism, bytes(first)));
}
