/**
 * ScramClient against a real PostgreSQL 15 over a raw socket, as gatehouse logs in upstream:
 * with the password, with SCRAM passthrough keys (ClientKey + the role's verifier from pg_authid),
 * and with SCRAM-SHA-256-PLUS over TLS (RSA-SHA256, ECDSA-SHA384 and RSA-PSS server certificates).
 *
 * Then the other way round: the same malformed SCRAM messages go to PostgreSQL and to ScramServer,
 * and the two must answer with the same SQLSTATE, message and detail.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { GatehouseError } from '../../../src/errors.js';
import { ScramClient, type ScramClientCredentials } from '../../../src/auth/scram/client.js';
import { scramH, scramHmac, xorBuffers } from '../../../src/auth/scram/common.js';
import { makeScramSecret, parseScramSecret, scramKeys, type ScramSecret } from '../../../src/auth/scram/secret.js';
import { ScramServer, type ScramStep } from '../../../src/auth/scram/server.js';
import { makeCertSet, type CertSet } from '../../harness/certs.js';
import { type Cluster, availableVersions, startCluster } from '../../harness/pg.js';
import { selfSigned } from '../../unit/auth/openssl-certs.js';
import {
  type ErrorFields, authRequest, errorFields, open, saslInitialResponse, saslMechanisms, saslResponse, scramLogin, startupMessage,
} from './pg-wire.js';

const has15 = (await availableVersions()).includes(15);
const ROLE = 'app';
const PASSWORD = 'upstream p\u00e4ss';

/** A CertSet made of one self-signed certificate (only serverCert/serverKey/caCert are used by the harness). */
function selfSignedSet(newkey: string[], extra: string[]): CertSet {
  const c = selfSigned(newkey, '/CN=localhost', extra);
  return { dir: '', caCert: c.pem, caKey: c.key, serverCert: c.pem, serverKey: c.key, client: () => Promise.reject(new Error('unused')) };
}

async function clusterWith(certs: CertSet): Promise<{ cluster: Cluster; secret: ScramSecret }> {
  const cluster = await startCluster({ version: 15, certs });
  await cluster.createRole(ROLE, { password: PASSWORD });
  const [row] = await cluster.query<{ rolpassword: string }>('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [ROLE]);
  return { cluster, secret: parseScramSecret(row!.rolpassword)! };
}

async function login(cluster: Cluster, tls: boolean, creds: ScramClientCredentials, o: { bind?: boolean; certHash?: Buffer } = {}) {
  const { conn, certHash } = await open(cluster.port, tls);
  let client: ScramClient | null = null;
  try {
    const result = await scramLogin(conn, ROLE, (mechanisms) => {
      client = new ScramClient(creds, { certHash: o.certHash ?? (o.bind === false ? null : certHash), serverMechanisms: mechanisms });
      return client;
    });
    return { result, client: client as ScramClient | null, certHash };
  } finally {
    conn.close();
  }
}

describe('ScramClient against PostgreSQL 15', { skip: has15 ? false : 'Debian PostgreSQL 15 is not installed' }, () => {
  let cluster: Cluster;
  let secret: ScramSecret;
  before(async () => ({ cluster, secret } = await clusterWith(await makeCertSet())));
  after(async () => cluster?.stop());

  it('logs in with the password (no TLS: SCRAM-SHA-256 only)', async () => {
    const { result, client } = await login(cluster, false, { password: PASSWORD });
    assert.deepEqual(result, { ok: true });
    assert.equal(client?.verified, true);
    assert.equal(client?.channelBound, false);
  });

  it('gets 28P01 for a wrong password', async () => {
    const { result } = await login(cluster, false, { password: 'wrong' });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.error.C, '28P01');
    assert.equal(result.error.M, `password authentication failed for user "${ROLE}"`);
  });

  it('logs in by passthrough with the ClientKey and the verifier from pg_authid', async () => {
    const { clientKey } = scramKeys(PASSWORD, secret.salt, secret.iterations);
    const { result, client } = await login(cluster, false, { clientKey, secret });
    assert.deepEqual(result, { ok: true });
    assert.equal(client?.verified, true);
  });

  it('logs in by passthrough with the ClientKey that ScramServer recovered from a client', async () => {
    // The client logs in to "gatehouse" (ScramServer holding the same verifier) with its password...
    const gateway = new ScramServer({ user: ROLE, secret, channelBinding: { offered: false } });
    const user = new ScramClient({ password: PASSWORD });
    const first = user.initial();
    const one = gateway.clientFirst(first.mechanism, first.data) as Extract<ScramStep, { kind: 'continue' }>;
    const two = gateway.clientFinal(user.serverFirst(one.data));
    assert.equal(two.kind, 'ok');
    // ...and gatehouse logs in upstream with the recovered ClientKey, never having seen the password.
    const { result } = await login(cluster, false, { clientKey: (two as { clientKey: Buffer }).clientKey, secret });
    assert.deepEqual(result, { ok: true });
  });

  it('refuses passthrough when gatehouse holds another verifier for the role', async () => {
    const other = makeScramSecret(PASSWORD);
    const { clientKey } = scramKeys(PASSWORD, other.salt, other.iterations);
    await assert.rejects(login(cluster, false, { clientKey, secret: other }), (e: unknown) =>
      e instanceof GatehouseError && e.code === 'GH_UPSTREAM' && /different salt or iteration count/.test(e.message));
  });

  it('over TLS: the server offers PLUS first, and SCRAM-SHA-256-PLUS binds to its certificate', async () => {
    const { conn } = await open(cluster.port, true);
    conn.write(startupMessage(ROLE));
    assert.deepEqual(saslMechanisms(authRequest(await conn.read()).data), ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']);
    conn.close();
    const { result, client } = await login(cluster, true, { password: PASSWORD });
    assert.deepEqual(result, { ok: true });
    assert.equal(client?.channelBound, true);
  });

  it('over TLS: PLUS by passthrough', async () => {
    const { clientKey } = scramKeys(PASSWORD, secret.salt, secret.iterations);
    const { result, client } = await login(cluster, true, { clientKey, secret });
    assert.deepEqual(result, { ok: true });
    assert.equal(client?.channelBound, true);
  });

  it('over TLS: another certificate hash (a man in the middle) fails with 28000', async () => {
    const { result } = await login(cluster, true, { password: PASSWORD }, { certHash: Buffer.alloc(32, 1) });
    assert.equal(result.ok, false);
    if (!result.ok) assert.deepEqual([result.error.C, result.error.M], ['28000', 'SCRAM channel binding check failed']);
  });

  it('over TLS: plain SCRAM-SHA-256 (n,,) still works, as with channel_binding=disable', async () => {
    const { result, client } = await login(cluster, true, { password: PASSWORD }, { bind: false });
    assert.deepEqual(result, { ok: true });
    assert.equal(client?.channelBound, false);
  });
});

const PLUS_CERTS: [string, string[], string[]][] = [
  ['ECDSA P-384 with SHA-384', ['ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], ['-sha384']],
  ['RSA-PSS with SHA-512', ['rsa:2048'], ['-sigopt', 'rsa_padding_mode:pss', '-sha512']],
  ['RSA with SHA-1 (hashed with SHA-256)', ['rsa:2048'], ['-sha1']],
];

describe('SCRAM-SHA-256-PLUS with other certificate types', { skip: has15 ? false : 'Debian PostgreSQL 15 is not installed' }, () => {
  for (const [name, newkey, extra] of PLUS_CERTS) {
    it(`binds to a server certificate signed with ${name}`, async () => {
      const { cluster } = await clusterWith(selfSignedSet(newkey, extra));
      try {
        const { result, client, certHash } = await login(cluster, true, { password: PASSWORD });
        assert.ok(certHash);
        assert.deepEqual(result, { ok: true });
        assert.equal(client?.channelBound, true);
      } finally {
        await cluster.stop();
      }
    });
  }
});

/** One SCRAM attempt with hand-made messages; `final` builds the client-final from the server-first. */
interface Attempt { mech: string; first: string; final?: (serverFirst: string, bare: string) => string; tls?: boolean }

const proofFor = (password: string, secret: ScramSecret, bare: string, serverFirst: string, withoutProof: string): string => {
  const { clientKey } = scramKeys(password, secret.salt, secret.iterations);
  const sig = scramHmac(scramH(clientKey), Buffer.from(`${bare},${serverFirst},${withoutProof}`, 'latin1'));
  return xorBuffers(clientKey, sig).toString('base64');
};
const nonceOf = (serverFirst: string): string => /^r=([^,]*)/.exec(serverFirst)![1]!;
const ZERO_PROOF = Buffer.alloc(32).toString('base64');

/** The error PostgreSQL sends for an attempt (or null when it was not refused). */
async function postgresAnswer(port: number, a: Attempt): Promise<ErrorFields | null> {
  const { conn } = await open(port, a.tls ?? false);
  try {
    conn.write(startupMessage(ROLE));
    authRequest(await conn.read()); // AuthenticationSASL
    conn.write(saslInitialResponse(a.mech, Buffer.from(a.first, 'latin1')));
    const one = await conn.read();
    if (one.type === 'E') return errorFields(one.body);
    if (!a.final) return null;
    const serverFirst = authRequest(one).data.toString('latin1');
    conn.write(saslResponse(Buffer.from(a.final(serverFirst, bareOf(a.first)), 'latin1')));
    const two = await conn.read();
    return two.type === 'E' ? errorFields(two.body) : null;
  } finally {
    conn.close();
  }
}

const bareOf = (first: string): string => first.slice(first.indexOf(',', first.indexOf(',') + 1) + 1);

/** The error ScramServer gives for the same attempt. */
function gatehouseAnswer(a: Attempt, secret: ScramSecret, certHash: Buffer | null): ErrorFields | null {
  const s = new ScramServer({ user: ROLE, secret, channelBinding: a.tls && certHash ? { offered: true, certHash } : { offered: false } });
  const fields = (step: ScramStep): ErrorFields | null => step.kind === 'fail'
    ? { C: step.error.code, M: step.error.message, ...(step.error.detail ? { D: step.error.detail } : {}) }
    : null;
  const one = s.clientFirst(a.mech, Buffer.from(a.first, 'latin1'));
  if (one.kind !== 'continue' || !a.final) return fields(one);
  const serverFirst = one.data.toString('latin1');
  return fields(s.clientFinal(Buffer.from(a.final(serverFirst, bareOf(a.first)), 'latin1')));
}

describe('ScramServer answers malformed SCRAM exactly as PostgreSQL 15 does', { skip: has15 ? false : 'Debian PostgreSQL 15 is not installed' }, () => {
  let cluster: Cluster;
  let secret: ScramSecret;
  let certHash: Buffer | null = null;
  before(async () => {
    ({ cluster, secret } = await clusterWith(await makeCertSet()));
    const { conn, certHash: h } = await open(cluster.port, true);
    certHash = h;
    conn.close();
  });
  after(async () => cluster?.stop());

  const FIRST = 'n,,n=,r=clientNonce';
  const attempts: [string, Attempt][] = [
    ['empty message', { mech: 'SCRAM-SHA-256', first: '' }],
    ['unknown mechanism', { mech: 'SCRAM-SHA-1', first: FIRST }],
    ['PLUS without TLS', { mech: 'SCRAM-SHA-256-PLUS', first: 'p=tls-server-end-point,,n=,r=abc' }],
    ['unknown gs2 flag', { mech: 'SCRAM-SHA-256', first: 'x,,n=,r=abc' }],
    ['no comma after the flag', { mech: 'SCRAM-SHA-256', first: 'n;,n=,r=abc' }],
    ['authzid', { mech: 'SCRAM-SHA-256', first: 'n,a=postgres,n=,r=abc' }],
    ['junk where the authzid goes', { mech: 'SCRAM-SHA-256', first: 'n,x,n=,r=abc' }],
    ['m= extension', { mech: 'SCRAM-SHA-256', first: 'n,,m=x,n=,r=abc' }],
    ['no user name', { mech: 'SCRAM-SHA-256', first: 'n,,r=abc' }],
    ['no nonce', { mech: 'SCRAM-SHA-256', first: 'n,,n=' }],
    ['non-printable nonce', { mech: 'SCRAM-SHA-256', first: 'n,,n=,r=ab\u0001c' }],
    ['bad extension name', { mech: 'SCRAM-SHA-256', first: 'n,,n=,r=abc,1=2' }],
    ['p flag with plain SCRAM', { mech: 'SCRAM-SHA-256', first: 'p=tls-server-end-point,,n=,r=abc' }],
    ['c= for y after n', { mech: 'SCRAM-SHA-256', first: FIRST, final: (sf) => `c=eSws,r=${nonceOf(sf)},p=${ZERO_PROOF}` }],
    ['nonce mismatch', { mech: 'SCRAM-SHA-256', first: FIRST, final: () => `c=biws,r=clientNonceXYZ,p=${ZERO_PROOF}` }],
    ['no proof', { mech: 'SCRAM-SHA-256', first: FIRST, final: (sf) => `c=biws,r=${nonceOf(sf)}` }],
    ['short proof', { mech: 'SCRAM-SHA-256', first: FIRST, final: (sf) => `c=biws,r=${nonceOf(sf)},p=AAAA` }],
    ['garbage after the proof', { mech: 'SCRAM-SHA-256', first: FIRST, final: (sf) => `c=biws,r=${nonceOf(sf)},p=${ZERO_PROOF},x=1` }],
    ['wrong password', { mech: 'SCRAM-SHA-256', first: FIRST,
      final: (sf, bare) => `c=biws,r=${nonceOf(sf)},p=${proofFor('wrong', secret, bare, sf, `c=biws,r=${nonceOf(sf)}`)}` }],
    ['right password, trailing comma', { mech: 'SCRAM-SHA-256', first: FIRST,
      final: (sf, bare) => `c=biws,r=${nonceOf(sf)},p=${proofFor(PASSWORD, secret, bare, sf, `c=biws,r=${nonceOf(sf)}`)},` }],
    ['TLS: y while PLUS is offered', { tls: true, mech: 'SCRAM-SHA-256', first: 'y,,n=,r=abc' }],
    ['TLS: n with PLUS', { tls: true, mech: 'SCRAM-SHA-256-PLUS', first: FIRST }],
    ['TLS: unknown channel binding type', { tls: true, mech: 'SCRAM-SHA-256-PLUS', first: 'p=tls-unique,,n=,r=abc' }],
    ['TLS: wrong channel binding data', { tls: true, mech: 'SCRAM-SHA-256-PLUS', first: 'p=tls-server-end-point,,n=,r=abc',
      final: (sf) => `c=${Buffer.from('p=tls-server-end-point,,xxxx').toString('base64')},r=${nonceOf(sf)},p=${ZERO_PROOF}` }],
  ];
  for (const [name, a] of attempts) {
    it(name, async () => {
      const theirs = await postgresAnswer(cluster.port, a);
      const ours = gatehouseAnswer(a, secret, certHash);
      const pick = (f: ErrorFields | null): ErrorFields | null => (f ? { C: f.C!, M: f.M!, ...(f.D ? { D: f.D } : {}) } : null);
      assert.deepEqual(pick(ours), pick(theirs));
    });
  }
});
