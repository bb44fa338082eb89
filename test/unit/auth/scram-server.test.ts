/**
 * ScramServer: every rejection path of auth-scram.c, with PostgreSQL's SQLSTATE, message and
 * detail; the mock exchange for unknown roles; and the ClientKey it hands to passthrough.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { clientKeyOf, saltedPassword } from '../../../src/auth/scram/common.js';
import { ScramServer, mockSalt } from '../../../src/auth/scram/server.js';
import {
  CERT_HASH, CLIENT_NONCE, PASSWORD, SECRET, SERVER_NONCE, assertFail, bytes, continueData, finalWithProof, server, start,
} from './scram-helpers.js';

const NONCE = CLIENT_NONCE + SERVER_NONCE;
const BARE = `n=,r=${CLIENT_NONCE}`;
const CB_PLUS = Buffer.concat([bytes('p=tls-server-end-point,,'), CERT_HASH]).toString('base64');

describe('ScramServer: mechanisms', () => {
  it('lists PLUS first, only when channel binding is offered with a certificate hash', () => {
    assert.deepEqual(server({ plus: true }).mechanisms(), ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']);
    assert.deepEqual(server().mechanisms(), ['SCRAM-SHA-256']);
    const noHash = new ScramServer({ user: 'alice', secret: SECRET, channelBinding: { offered: true } });
    assert.deepEqual(noHash.mechanisms(), ['SCRAM-SHA-256']);
  });

  it('refuses a mechanism it did not offer', () => {
    const invalid = 'client selected an invalid SASL authentication mechanism';
    assertFail(server().clientFirst('SCRAM-SHA-256-PLUS', bytes(`p=tls-server-end-point,,${BARE}`)), '08P01', invalid);
    assertFail(server().clientFirst('SCRAM-SHA-1', bytes(`n,,${BARE}`)), '08P01', invalid);
    assertFail(server({ plus: true }).clientFirst('scram-sha-256', bytes(`n,,${BARE}`)), '08P01', invalid);
  });
});

describe('ScramServer: client-first-message', () => {
  const malformed = 'malformed SCRAM message';
  const cases: { name: string; first: string; mech?: string; plus?: boolean; code: string; message: string; detail?: string }[] = [
    { name: 'empty message', first: '', code: '08P01', message: malformed, detail: 'The message is empty.' },
    { name: 'embedded NUL', first: `n,,n=,r=ab\0cd`, code: '08P01', message: malformed, detail: 'Message length does not match input length.' },
    { name: 'unknown gs2 flag', first: `x,,${BARE}`, code: '08P01', message: malformed, detail: 'Unexpected channel-binding flag "\'x\'".' },
    { name: 'non-printable gs2 flag', first: `\u00ff,,${BARE}`, code: '08P01', message: malformed, detail: 'Unexpected channel-binding flag "0xff".' },
    { name: 'no comma after n', first: `n;,${BARE}`, code: '08P01', message: malformed, detail: 'Comma expected, but found character "\';\'".' },
    { name: 'flag n with PLUS', first: `n,,${BARE}`, mech: 'SCRAM-SHA-256-PLUS', plus: true, code: '08P01', message: malformed,
      detail: 'The client selected SCRAM-SHA-256-PLUS, but the SCRAM message does not include channel binding data.' },
    { name: 'flag y with PLUS', first: `y,,${BARE}`, mech: 'SCRAM-SHA-256-PLUS', plus: true, code: '08P01', message: malformed,
      detail: 'The client selected SCRAM-SHA-256-PLUS, but the SCRAM message does not include channel binding data.' },
    { name: 'flag y while PLUS is offered (downgrade)', first: `y,,${BARE}`, plus: true, code: '28000', message: 'SCRAM channel binding negotiation error',
      detail: 'The client supports SCRAM channel binding but thinks the server does not.  However, this server does support channel binding.' },
    { name: 'flag p without PLUS', first: `p=tls-server-end-point,,${BARE}`, plus: true, code: '08P01', message: malformed,
      detail: 'The client selected SCRAM-SHA-256 without channel binding, but the SCRAM message includes channel binding data.' },
    { name: 'wrong channel binding type', first: `p=tls-unique,,${BARE}`, mech: 'SCRAM-SHA-256-PLUS', plus: true, code: '08P01',
      message: 'unsupported SCRAM channel-binding type "tls-unique"' },
    { name: 'p without =', first: `p,,${BARE}`, mech: 'SCRAM-SHA-256-PLUS', plus: true, code: '08P01', message: malformed,
      detail: 'Expected character "=" for attribute "p".' },
    { name: 'authzid', first: `n,a=postgres,${BARE}`, code: '0A000', message: 'client uses authorization identity, but it is not supported' },
    { name: 'something else where the authzid goes', first: `n,x${BARE}`, code: '08P01', message: malformed,
      detail: 'Unexpected attribute "\'x\'" in client-first-message.' },
    { name: 'mandatory extension m=', first: `n,,m=ext,${BARE}`, code: '0A000', message: 'client requires an unsupported SCRAM extension' },
    { name: 'missing user name', first: `n,,r=${CLIENT_NONCE}`, code: '08P01', message: malformed, detail: 'Expected attribute "n" but found "\'r\'".' },
    { name: 'user name without =', first: 'n,,n', code: '08P01', message: malformed, detail: 'Expected character "=" for attribute "n".' },
    { name: 'missing nonce', first: 'n,,n=', code: '08P01', message: malformed, detail: 'Expected attribute "r" but found "0x00".' },
    { name: 'control character in nonce', first: 'n,,n=,r=abc\u0001def', code: '08P01', message: 'non-printable characters in SCRAM nonce' },
    { name: 'high byte in nonce', first: 'n,,n=,r=abc\u00e9def', code: '08P01', message: 'non-printable characters in SCRAM nonce' },
    { name: 'extension name not a letter', first: `${'n,,'}${BARE},1=2`, code: '08P01', message: malformed,
      detail: 'Attribute expected, but found invalid character "\'1\'".' },
    { name: 'extension without =', first: `n,,${BARE},x`, code: '08P01', message: malformed, detail: 'Expected character "=" for attribute "x".' },
  ];
  for (const c of cases) {
    it(`refuses: ${c.name}`, () => {
      const s = server({ plus: c.plus ?? false });
      assertFail(s.clientFirst(c.mech ?? 'SCRAM-SHA-256', bytes(c.first)), c.code, c.message, c.detail);
      // The exchange is over: nothing more is accepted.
      assert.equal(s.clientFinal(bytes('c=biws')).kind, 'fail');
    });
  }

  it('answers with r=<client nonce><server nonce>,s=<salt>,i=<iterations>', () => {
    assert.equal(start(server(), `n,,${BARE}`), `r=${NONCE},s=${SECRET.salt.toString('base64')},i=4096`);
  });

  it('accepts what PostgreSQL accepts: y without TLS, extensions, a trailing comma, any n= value', () => {
    for (const first of [`y,,${BARE}`, `n,,${BARE},x=1,y=2`, `n,,${BARE},`, `n,,n=someone=2Celse,r=${CLIENT_NONCE}`]) {
      assert.match(start(server(), first), /^r=/, first);
    }
  });

  it('makes a fresh random server nonce (18 bytes, base64) when none is injected', () => {
    const a = start(new ScramServer({ user: 'u', secret: SECRET, channelBinding: { offered: false } }), `n,,${BARE}`);
    const b = start(new ScramServer({ user: 'u', secret: SECRET, channelBinding: { offered: false } }), `n,,${BARE}`);
    assert.match(a, new RegExp(`^r=${CLIENT_NONCE}[A-Za-z0-9+/]{24},`));
    assert.notEqual(a, b);
  });
});

/** A server that has answered `first`, plus the pieces of the exchange. */
function afterFirst(o: { plus?: boolean; first?: string; mech?: string; secret?: typeof SECRET | null; user?: string } = {}) {
  const s = server({ plus: o.plus ?? false, ...(o.secret !== undefined ? { secret: o.secret } : {}), ...(o.user ? { user: o.user } : {}) });
  const first = o.first ?? `n,,${BARE}`;
  const serverFirst = start(s, first, o.mech);
  return { s, serverFirst, bare: first.slice(first.indexOf(',', first.indexOf(',') + 1) + 1) };
}

describe('ScramServer: client-final-message', () => {
  const malformed = 'malformed SCRAM message';

  it('accepts the right proof, returns v=ServerSignature and the ClientKey', () => {
    const { s, serverFirst, bare } = afterFirst();
    const step = s.clientFinal(bytes(finalWithProof(PASSWORD, SECRET, bare, serverFirst, `c=biws,r=${NONCE}`)));
    assert.equal(step.kind, 'ok');
    if (step.kind !== 'ok') return;
    assert.match(step.data.toString(), /^v=[A-Za-z0-9+/]{43}=$/);
    assert.deepEqual(step.clientKey, clientKeyOf(saltedPassword(PASSWORD, SECRET.salt, SECRET.iterations)));
  });

  it('rejects a wrong password with 28P01, naming the role', () => {
    const { s, serverFirst, bare } = afterFirst();
    const step = s.clientFinal(bytes(finalWithProof('wrong', SECRET, bare, serverFirst, `c=biws,r=${NONCE}`)));
    assertFail(step, '28P01', 'password authentication failed for user "alice"');
  });

  it('includes extensions between r= and p= in the signed message', () => {
    const { s, serverFirst, bare } = afterFirst();
    assert.equal(s.clientFinal(bytes(finalWithProof(PASSWORD, SECRET, bare, serverFirst, `c=biws,r=${NONCE},x=ext`))).kind, 'ok');
    // Signed without the extension, sent with it: the proof no longer matches.
    const b = afterFirst();
    const final = finalWithProof(PASSWORD, SECRET, b.bare, b.serverFirst, `c=biws,r=${NONCE}`).replace(',p=', ',x=ext,p=');
    assertFail(b.s.clientFinal(bytes(final)), '28P01', /password authentication failed/);
  });

  it('accepts a trailing comma after the proof, as PostgreSQL does', () => {
    const { s, serverFirst, bare } = afterFirst();
    assert.equal(s.clientFinal(bytes(`${finalWithProof(PASSWORD, SECRET, bare, serverFirst, `c=biws,r=${NONCE}`)},`)).kind, 'ok');
  });

  const proof = Buffer.alloc(32, 1).toString('base64');
  const cases: { name: string; final: string; first?: string; plus?: boolean; code: string; message: string; detail?: string }[] = [
    { name: 'empty message', final: '', code: '08P01', message: malformed, detail: 'The message is empty.' },
    { name: 'c= missing', final: `r=${NONCE},p=${proof}`, code: '08P01', message: malformed, detail: 'Expected attribute "c" but found "\'r\'".' },
    { name: 'c= says y after n', final: `c=eSws,r=${NONCE},p=${proof}`, code: '08P01',
      message: 'unexpected SCRAM channel-binding attribute in client-final-message' },
    { name: 'c= says n after y', first: `y,,${BARE}`, final: `c=biws,r=${NONCE},p=${proof}`, code: '08P01',
      message: 'unexpected SCRAM channel-binding attribute in client-final-message' },
    { name: 'c= carries binding data without PLUS', final: `c=${CB_PLUS},r=${NONCE},p=${proof}`, code: '08P01',
      message: 'unexpected SCRAM channel-binding attribute in client-final-message' },
    { name: 'nonce is only the client part', final: `c=biws,r=${CLIENT_NONCE},p=${proof}`, code: '08P01', message: 'invalid SCRAM response',
      detail: 'Nonce does not match.' },
    { name: 'nonce has extra characters', final: `c=biws,r=${NONCE}x,p=${proof}`, code: '08P01', message: 'invalid SCRAM response',
      detail: 'Nonce does not match.' },
    { name: 'nonce has another server part', final: `c=biws,r=${CLIENT_NONCE}${SERVER_NONCE.replace('S', 's')},p=${proof}`, code: '08P01',
      message: 'invalid SCRAM response', detail: 'Nonce does not match.' },
    { name: 'no proof', final: `c=biws,r=${NONCE}`, code: '08P01', message: malformed, detail: 'Attribute expected, but found end of string.' },
    { name: 'proof of 31 bytes', final: `c=biws,r=${NONCE},p=${Buffer.alloc(31).toString('base64')}`, code: '08P01', message: malformed,
      detail: 'Malformed proof in client-final-message.' },
    { name: 'proof of 33 bytes', final: `c=biws,r=${NONCE},p=${Buffer.alloc(33).toString('base64')}`, code: '08P01', message: malformed,
      detail: 'Malformed proof in client-final-message.' },
    { name: 'proof not base64', final: `c=biws,r=${NONCE},p=${proof.replace(/.$/, '!')}`, code: '08P01', message: malformed,
      detail: 'Malformed proof in client-final-message.' },
    { name: 'something after the proof', final: `c=biws,r=${NONCE},p=${proof},x=1`, code: '08P01', message: malformed,
      detail: 'Garbage found at the end of client-final-message.' },
    { name: 'attribute name not a letter', final: `c=biws,r=${NONCE},-=1,p=${proof}`, code: '08P01', message: malformed,
      detail: 'Attribute expected, but found invalid character "\'-\'".' },
  ];
  for (const c of cases) {
    it(`refuses: ${c.name}`, () => {
      const { s } = afterFirst({ first: c.first ?? `n,,${BARE}` });
      assertFail(s.clientFinal(bytes(c.final)), c.code, c.message, c.detail);
      assert.equal(s.clientFinal(bytes(c.final)).kind, 'fail', 'the exchange stays failed');
    });
  }

  it('refuses a client-final-message before the client-first-message', () => {
    assertFail(server().clientFinal(bytes(`c=biws,r=${NONCE},p=${proof}`)), 'XX000', /internal/);
  });

  it('refuses a second exchange on the same object', () => {
    const { s, serverFirst, bare } = afterFirst();
    const final = bytes(finalWithProof(PASSWORD, SECRET, bare, serverFirst, `c=biws,r=${NONCE}`));
    assert.equal(s.clientFinal(final).kind, 'ok');
    assert.equal(s.clientFinal(final).kind, 'fail');
    assert.equal(s.clientFirst('SCRAM-SHA-256', bytes(`n,,${BARE}`)).kind, 'fail');
  });
});

describe('ScramServer: SCRAM-SHA-256-PLUS', () => {
  const first = `p=tls-server-end-point,,${BARE}`;

  it('accepts c= equal to the GS2 header plus our certificate hash', () => {
    const { s, serverFirst, bare } = afterFirst({ plus: true, first, mech: 'SCRAM-SHA-256-PLUS' });
    assert.equal(s.clientFinal(bytes(finalWithProof(PASSWORD, SECRET, bare, serverFirst, `c=${CB_PLUS},r=${NONCE}`))).kind, 'ok');
  });

  for (const [name, c] of [
    ['another certificate hash', Buffer.concat([bytes('p=tls-server-end-point,,'), Buffer.alloc(32, 0xac)]).toString('base64')],
    ['a truncated hash', Buffer.concat([bytes('p=tls-server-end-point,,'), CERT_HASH.subarray(1)]).toString('base64')],
    ['the header only', bytes('p=tls-server-end-point,,').toString('base64')],
    ['biws', 'biws'],
  ] as const) {
    it(`refuses c= with ${name} (28000), even with the right proof`, () => {
      const { s, serverFirst, bare } = afterFirst({ plus: true, first, mech: 'SCRAM-SHA-256-PLUS' });
      const step = s.clientFinal(bytes(finalWithProof(PASSWORD, SECRET, bare, serverFirst, `c=${c},r=${NONCE}`)));
      assertFail(step, '28000', 'SCRAM channel binding check failed');
    });
  }

  it('accepts plain SCRAM-SHA-256 with n,, when PLUS is offered (libpq channel_binding=disable)', () => {
    const { s, serverFirst, bare } = afterFirst({ plus: true });
    assert.equal(s.clientFinal(bytes(finalWithProof(PASSWORD, SECRET, bare, serverFirst, `c=biws,r=${NONCE}`))).kind, 'ok');
  });
});

describe('ScramServer: mock exchange for unknown roles', () => {
  const shape = (serverFirst: string): string =>
    serverFirst.replace(/^r=[^,]*,/, 'r=N,').replace(/s=[A-Za-z0-9+/]{22}==/, 's=SALT16');

  it('looks like a real exchange on the wire: same shape of challenge, default iterations', () => {
    const real = start(server({ serverNonce: undefined }), `n,,${BARE}`);
    const mock = start(server({ secret: null, user: 'nobody', serverNonce: undefined }), `n,,${BARE}`);
    assert.equal(shape(mock), shape(real));
    assert.equal(shape(mock), 'r=N,s=SALT16,i=4096');
    assert.deepEqual(server({ secret: null, plus: true }).mechanisms(), server({ plus: true }).mechanisms());
  });

  it('uses a salt derived from the role name: stable for one name, different across names', () => {
    const salt = (user: string): string => start(server({ secret: null, user }), `n,,${BARE}`).split(',')[1]!;
    assert.equal(salt('nobody'), salt('nobody'));
    assert.notEqual(salt('nobody'), salt('nobody2'));
    assert.equal(salt('nobody'), `s=${mockSalt('nobody').toString('base64')}`);
    assert.equal(mockSalt('x').length, 16);
  });

  it('fails the final step exactly like a wrong password', () => {
    const { s, serverFirst, bare } = afterFirst({ secret: null });
    const step = s.clientFinal(bytes(finalWithProof(PASSWORD, SECRET, bare, serverFirst, `c=biws,r=${NONCE}`)));
    assertFail(step, '28P01', 'password authentication failed for user "alice"');
  });

  it('still applies every syntax check (the same errors as for a real role)', () => {
    const { s } = afterFirst({ secret: null });
    assertFail(s.clientFinal(bytes(`c=biws,r=${CLIENT_NONCE},p=${Buffer.alloc(32).toString('base64')}`)), '08P01', 'invalid SCRAM response');
  });

  it('treats a secret with an out-of-bounds iteration count as no secret', () => {
    const bad = { ...SECRET, iterations: 0 };
    const s = new ScramServer({ user: 'alice', secret: bad, channelBinding: { offered: false }, serverNonce: SERVER_NONCE });
    const serverFirst = continueData(s.clientFirst('SCRAM-SHA-256', bytes(`n,,${BARE}`)));
    assert.match(serverFirst, /,i=4096$/);
    assertFail(s.clientFinal(bytes(finalWithProof(PASSWORD, SECRET, BARE, serverFirst, `c=biws,r=${NONCE}`))), '28P01', /alice/);
  });
});
