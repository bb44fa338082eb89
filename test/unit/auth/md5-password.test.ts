/** md5 secrets and challenge responses (crypt.c), and `password` auth against every secret kind. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { isMd5Secret, md5Response, md5Secret, randomMd5Salt, verifyMd5Response } from '../../../src/auth/md5.js';
import { verifyCleartextPassword } from '../../../src/auth/password.js';
import { formatScramSecret, makeScramSecret } from '../../../src/auth/scram/secret.js';
import type { StoredSecret } from '../../../src/auth/userlist.js';

// md5('password' || 'user'), as `SET password_encryption = 'md5'; CREATE ROLE "user" PASSWORD 'password'` stores it.
const KNOWN = 'md54d45974e13472b5a0be3533de4666414';
const SALT = Buffer.from([1, 2, 3, 4]);
// 'md5' || md5(hex part of KNOWN || salt), computed independently (Python hashlib).
const KNOWN_RESPONSE = 'md5a3576f1ae039b8996bc4fc2720f9c71a';

const scram = (pw: string): StoredSecret => {
  const secret = makeScramSecret(pw, { iterations: 16 });
  return { kind: 'scram', secret, text: formatScramSecret(secret) };
};

describe('md5', () => {
  it('md5Secret is "md5" + hex(md5(password || user))', () => {
    assert.equal(md5Secret('password', 'user'), KNOWN);
    assert.equal(md5Secret(Buffer.from('password'), 'user'), KNOWN);
    assert.notEqual(md5Secret('password', 'User'), KNOWN);
  });

  it('md5Response answers the 4-byte salt challenge', () => {
    assert.equal(md5Response(KNOWN, SALT), KNOWN_RESPONSE);
  });

  it('isMd5Secret wants md5 and 32 lowercase hex digits', () => {
    assert.ok(isMd5Secret(KNOWN));
    assert.ok(!isMd5Secret(KNOWN.toUpperCase()));
    assert.ok(!isMd5Secret(`${KNOWN}0`));
    assert.ok(!isMd5Secret(KNOWN.replace('4d', 'zz')));
  });

  it('randomMd5Salt gives 4 fresh bytes', () => {
    assert.equal(randomMd5Salt().length, 4);
    assert.notDeepEqual(randomMd5Salt(), randomMd5Salt());
  });

  it('verifyMd5Response works with a stored md5 secret and with a plaintext one', () => {
    assert.ok(verifyMd5Response({ kind: 'md5', hash: KNOWN }, 'user', SALT, KNOWN_RESPONSE));
    assert.ok(verifyMd5Response({ kind: 'plain', password: 'password' }, 'user', SALT, KNOWN_RESPONSE));
  });

  it('verifyMd5Response refuses wrong answers, other salts, other users and SCRAM secrets', () => {
    assert.ok(!verifyMd5Response({ kind: 'md5', hash: KNOWN }, 'user', Buffer.from([1, 2, 3, 5]), KNOWN_RESPONSE));
    assert.ok(!verifyMd5Response({ kind: 'plain', password: 'password' }, 'other', SALT, KNOWN_RESPONSE));
    assert.ok(!verifyMd5Response({ kind: 'md5', hash: KNOWN }, 'user', SALT, KNOWN_RESPONSE.slice(0, -1)));
    assert.ok(!verifyMd5Response({ kind: 'md5', hash: KNOWN }, 'user', SALT, ''));
    assert.ok(!verifyMd5Response(scram('password'), 'user', SALT, KNOWN_RESPONSE));
  });
});

describe('verifyCleartextPassword (password method)', () => {
  const kinds: [string, StoredSecret][] = [
    ['scram', scram('s3cr\u00e9t')],
    ['md5', { kind: 'md5', hash: md5Secret('s3cr\u00e9t', 'alice') }],
    ['plain', { kind: 'plain', password: 's3cr\u00e9t' }],
  ];
  for (const [name, stored] of kinds) {
    it(`${name}: accepts the password and refuses others`, () => {
      assert.ok(verifyCleartextPassword(stored, 'alice', 's3cr\u00e9t'));
      assert.ok(verifyCleartextPassword(stored, 'alice', Buffer.from('s3cr\u00e9t')));
      assert.ok(!verifyCleartextPassword(stored, 'alice', 's3cret'));
      assert.ok(!verifyCleartextPassword(stored, 'alice', 's3cr\u00e9t '));
      assert.ok(!verifyCleartextPassword(stored, 'alice', ''));
    });
  }

  it('md5: the user name is part of the secret', () => {
    assert.ok(!verifyCleartextPassword({ kind: 'md5', hash: md5Secret('pw', 'alice') }, 'bob', 'pw'));
  });

  it('scram: SASLprep applies (a soft hyphen is ignored, as in PostgreSQL)', () => {
    const stored = scram('I\u00adX');
    assert.ok(verifyCleartextPassword(stored, 'alice', 'IX'));
    assert.ok(verifyCleartextPassword(stored, 'alice', '\u2168'));
  });

  it('plain: an empty stored password never matches', () => {
    assert.ok(!verifyCleartextPassword({ kind: 'plain', password: '' }, 'alice', ''));
  });
});
