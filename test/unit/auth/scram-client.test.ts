/**
 * ScramClient: login with a password, SCRAM passthrough with a recovered ClientKey, channel binding
 * choices (PLUS / y / n as libpq makes them), and every check on the server's messages.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { GatehouseError } from '../../../src/errors.js';
import { ScramClient, type ScramClientCredentials, type ScramClientOptions } from '../../../src/auth/scram/client.js';
import { makeScramSecret } from '../../../src/auth/scram/secret.js';
import { ScramServer } from '../../../src/auth/scram/server.js';
import { CERT_HASH, PASSWORD, SECRET, SERVER_NONCE, bytes, continueData } from './scram-helpers.js';

const NONCE = 'fixedClientNonce';

/** Runs a whole exchange between a client and a server; returns the server's final step. */
function exchange(creds: ScramClientCredentials, o: ScramClientOptions = {}, server = new ScramServer({ user: 'alice', secret: SECRET, channelBinding: { offered: false } })) {
  const client = new ScramClient(creds, { nonce: NONCE, ...o });
  const first = client.initial();
  const challenge = server.clientFirst(first.mechanism, first.data);
  if (challenge.kind !== 'continue') return { client, step: challenge, first };
  const step = server.clientFinal(client.serverFirst(challenge.data));
  if (step.kind === 'ok') client.serverFinal(step.data);
  return { client, step, first };
}

/** Asserts a GatehouseError GH_UPSTREAM whose message matches. */
function throwsUpstream(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof GatehouseError, String(e));
    assert.equal(e.code, 'GH_UPSTREAM');
    assert.match(e.message, message);
    return true;
  });
}

/** A client that has sent its first message; `serverFirst` feeds it a hand-made challenge. */
function started(creds: ScramClientCredentials = { password: PASSWORD }): ScramClient {
  const c = new ScramClient(creds, { nonce: NONCE });
  c.initial();
  return c;
}

describe('ScramClient: logging in', () => {
  it('logs in with a password and verifies the server signature', () => {
    const { client, step } = exchange({ password: PASSWORD });
    assert.equal(step.kind, 'ok');
    assert.equal(client.verified, true);
  });

  it('is refused with a wrong password (and is never "verified")', () => {
    const { client, step } = exchange({ password: 'nope' });
    assert.equal(step.kind, 'fail');
    assert.equal(client.verified, false);
  });

  it('passes the ClientKey recovered by one server through to another with the same verifier', () => {
    const gateway = exchange({ password: PASSWORD });
    assert.equal(gateway.step.kind, 'ok');
    const clientKey = (gateway.step as { clientKey: Buffer }).clientKey;
    const upstream = exchange({ clientKey, secret: SECRET });
    assert.equal(upstream.step.kind, 'ok');
    assert.equal(upstream.client.verified, true);
  });

  it('refuses passthrough when the server has another salt or iteration count, before sending a proof', () => {
    const clientKey = Buffer.alloc(32, 7);
    for (const other of [makeScramSecret(PASSWORD, { iterations: 4096 }), makeScramSecret(PASSWORD, { salt: SECRET.salt, iterations: 4097 })]) {
      const server = new ScramServer({ user: 'alice', secret: other, channelBinding: { offered: false } });
      const client = new ScramClient({ clientKey, secret: SECRET }, { nonce: NONCE });
      const first = client.initial();
      const challenge = continueData(server.clientFirst(first.mechanism, first.data));
      throwsUpstream(() => client.serverFirst(bytes(challenge)), /passthrough failed: .*different salt or iteration count/);
    }
  });

  it('fails to verify a server that does not know the real ServerKey', () => {
    // A server holding a verifier with the right StoredKey but a forged ServerKey.
    const forged = { ...SECRET, serverKey: Buffer.alloc(32, 9) };
    const server = new ScramServer({ user: 'alice', secret: forged, channelBinding: { offered: false } });
    const client = new ScramClient({ password: PASSWORD }, { nonce: NONCE });
    const first = client.initial();
    const challenge = continueData(server.clientFirst(first.mechanism, first.data));
    const step = server.clientFinal(client.serverFirst(bytes(challenge)));
    assert.equal(step.kind, 'ok');
    throwsUpstream(() => client.serverFinal((step as { data: Buffer }).data), /^incorrect server signature$/);
    assert.equal(client.verified, false);
  });
});

describe('ScramClient: channel binding', () => {
  const plusServer = (hash = CERT_HASH): ScramServer =>
    new ScramServer({ user: 'alice', secret: SECRET, channelBinding: { offered: true, certHash: hash } });

  it('uses SCRAM-SHA-256-PLUS with p=tls-server-end-point when it has the certificate hash', () => {
    const { first, step, client } = exchange({ password: PASSWORD }, { certHash: CERT_HASH }, plusServer());
    assert.equal(first.mechanism, 'SCRAM-SHA-256-PLUS');
    assert.equal(first.data.toString(), `p=tls-server-end-point,,n=,r=${NONCE}`);
    assert.equal(step.kind, 'ok');
    assert.equal(client.channelBound, true);
  });

  it('fails when the server sees another certificate (a TLS-terminating man in the middle)', () => {
    const { step } = exchange({ password: PASSWORD }, { certHash: CERT_HASH }, plusServer(Buffer.alloc(32, 1)));
    assert.equal(step.kind, 'fail');
    assert.equal((step as { error: { code: string } }).error.code, '28000');
  });

  it('says y when it could bind but the server did not offer PLUS, and n without TLS', () => {
    const y = new ScramClient({ password: PASSWORD }, { nonce: NONCE, certHash: CERT_HASH, serverMechanisms: ['SCRAM-SHA-256'] }).initial();
    assert.deepEqual([y.mechanism, y.data.toString()], ['SCRAM-SHA-256', `y,,n=,r=${NONCE}`]);
    const n = new ScramClient({ password: PASSWORD }, { nonce: NONCE }).initial();
    assert.deepEqual([n.mechanism, n.data.toString()], ['SCRAM-SHA-256', `n,,n=,r=${NONCE}`]);
    // y,, against a server offering PLUS is the downgrade PostgreSQL refuses.
    const { step } = exchange({ password: PASSWORD }, { certHash: CERT_HASH, serverMechanisms: ['SCRAM-SHA-256'] }, plusServer());
    assert.equal((step as { error: { message: string } }).error.message, 'SCRAM channel binding negotiation error');
  });

  it('escapes = and , in the SCRAM user name', () => {
    const i = new ScramClient({ password: PASSWORD }, { nonce: NONCE, username: 'a=b,c' }).initial();
    assert.equal(i.data.toString(), `n,,n=a=3Db=2Cc,r=${NONCE}`);
  });
});

describe('ScramClient: checks on the server-first-message', () => {
  const salt = SECRET.salt.toString('base64');
  const cases: [string, string, RegExp][] = [
    ['nonce without our part', `r=other${SERVER_NONCE},s=${salt},i=4096`, /nonce mismatch/],
    ['nonce equal to ours (no server part)', `r=${NONCE},s=${salt},i=4096`, /nonce mismatch/],
    ['nonce shorter than ours', `r=${NONCE.slice(0, 4)},s=${salt},i=4096`, /nonce mismatch/],
    ['non-printable server nonce', `r=${NONCE}ab\u0001,s=${salt},i=4096`, /nonce mismatch/],
    ['salt not base64', `r=${NONCE}x,s=${salt.slice(1)},i=4096`, /invalid salt/],
    ['iteration count 0', `r=${NONCE}x,s=${salt},i=0`, /invalid iteration count/],
    ['negative iteration count', `r=${NONCE}x,s=${salt},i=-1`, /invalid iteration count/],
    ['iteration count not a number', `r=${NONCE}x,s=${salt},i=4k`, /invalid iteration count/],
    ['iteration count over the cap', `r=${NONCE}x,s=${salt},i=1000001`, /1000001 SCRAM iterations; gatehouse allows at most 1000000/],
    ['garbage at the end', `r=${NONCE}x,s=${salt},i=4096,x=1`, /garbage at end of server-first-message/],
    ['mandatory extension first', `m=x,r=${NONCE}x,s=${salt},i=4096`, /malformed SCRAM message \(Expected attribute "r"/],
    ['attributes out of order', `s=${salt},r=${NONCE}x,i=4096`, /malformed SCRAM message/],
    ['missing iteration count', `r=${NONCE}x,s=${salt}`, /malformed SCRAM message \(Expected attribute "i"/],
  ];
  for (const [name, msg, re] of cases) {
    it(`refuses: ${name}`, () => throwsUpstream(() => started().serverFirst(bytes(msg)), re));
  }

  it('refuses messages out of order', () => {
    const c = new ScramClient({ password: PASSWORD }, { nonce: NONCE });
    throwsUpstream(() => c.serverFirst(bytes(`r=${NONCE}x,s=${salt},i=1`)), /out of order/);
    throwsUpstream(() => c.serverFinal(bytes('v=x')), /out of order/);
    c.initial();
    throwsUpstream(() => c.initial(), /out of order/);
  });

  it('refuses a client nonce that is not printable', () => {
    assert.throws(() => new ScramClient({ password: PASSWORD }, { nonce: 'a,b' }), RangeError);
  });
});

describe('ScramClient: checks on the server-final-message', () => {
  /** A client that has answered a valid challenge from the real server; returns it and the server's final step. */
  function atFinal(): { client: ScramClient; good: Buffer } {
    const server = new ScramServer({ user: 'alice', secret: SECRET, channelBinding: { offered: false } });
    const client = new ScramClient({ password: PASSWORD }, { nonce: NONCE });
    const first = client.initial();
    const challenge = continueData(server.clientFirst(first.mechanism, first.data));
    const step = server.clientFinal(client.serverFirst(bytes(challenge)));
    assert.equal(step.kind, 'ok');
    return { client, good: (step as { data: Buffer }).data };
  }

  it('reports a server error (e=) without echoing control characters', () => {
    throwsUpstream(() => atFinal().client.serverFinal(bytes('e=invalid-proof\u0007')), /^error received from server in SCRAM exchange: invalid-proof\?$/);
  });

  for (const [name, mutate, re] of [
    ['a flipped signature', (v: string) => v.replace(/^v=./, (m) => (m === 'v=A' ? 'v=B' : 'v=A')), /incorrect server signature/],
    ['a short signature', () => `v=${Buffer.alloc(31).toString('base64')}`, /invalid server signature/],
    ['a signature that is not base64', (v: string) => v.replace(/=$/, '!'), /invalid server signature/],
    ['garbage after the signature', (v: string) => `${v},x=1`, /garbage at end of server-final-message/],
    ['no v=', () => 'x=1', /malformed SCRAM message/],
  ] as const) {
    it(`refuses ${name}`, () => {
      const { client, good } = atFinal();
      throwsUpstream(() => client.serverFinal(bytes(mutate(good.toString('latin1')))), re);
      assert.equal(client.verified, false);
      throwsUpstream(() => client.serverFinal(good), /out of order/);
    });
  }
});
