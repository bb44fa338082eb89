/**
 * SCRAM-SHA-256 against its specification and against PostgreSQL:
 * - RFC 7677 §3's example exchange, byte for byte, through ScramClient and ScramServer (each
 *   alone against the RFC's messages, and together);
 * - verifiers made by a real PostgreSQL 15: parsed, re-made from their salt (must be identical),
 *   used by ScramServer and verifyCleartextPassword; and our verifiers accepted by PostgreSQL for
 *   a libpq (psql) login. SASLprep cases included; md5 secrets too.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { md5Secret } from '../../src/auth/md5.js';
import { verifyCleartextPassword } from '../../src/auth/password.js';
import { ScramClient } from '../../src/auth/scram/client.js';
import { formatScramSecret, makeScramSecret, parseScramSecret, type ScramSecret } from '../../src/auth/scram/secret.js';
import { ScramServer } from '../../src/auth/scram/server.js';
import { parseStoredSecret } from '../../src/auth/userlist.js';
import { type Cluster, availableVersions, startCluster } from '../harness/pg.js';

// RFC 7677 §3: user "user", password "pencil".
const RFC = {
  clientNonce: 'rOprNGfwEbeRWgbNEkqO',
  serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};
const rfcSecret = (): ScramSecret => makeScramSecret('pencil', { salt: Buffer.from(RFC.salt, 'base64'), iterations: 4096 });
const rfcClient = (): ScramClient => new ScramClient({ password: 'pencil' }, { nonce: RFC.clientNonce, username: 'user' });
const rfcServer = (): ScramServer =>
  new ScramServer({ user: 'user', secret: rfcSecret(), channelBinding: { offered: false }, serverNonce: RFC.serverNonce });
const text = (b: Buffer): string => b.toString('latin1');
const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('RFC 7677 §3 example', () => {
  it('the client produces the RFC client messages and accepts the RFC server signature', () => {
    const c = rfcClient();
    const first = c.initial();
    assert.equal(first.mechanism, 'SCRAM-SHA-256');
    assert.equal(text(first.data), RFC.clientFirst);
    assert.equal(text(c.serverFirst(bytes(RFC.serverFirst))), RFC.clientFinal);
    c.serverFinal(bytes(RFC.serverFinal));
    assert.equal(c.verified, true);
  });

  it('the server produces the RFC server messages for the RFC client messages', () => {
    const s = rfcServer();
    const one = s.clientFirst('SCRAM-SHA-256', bytes(RFC.clientFirst));
    assert.equal(one.kind === 'continue' && text(one.data), RFC.serverFirst);
    const two = s.clientFinal(bytes(RFC.clientFinal));
    assert.equal(two.kind === 'ok' && text(two.data), RFC.serverFinal);
  });

  it('client and server together reach the same bytes', () => {
    const c = rfcClient();
    const s = rfcServer();
    const first = c.initial();
    const one = s.clientFirst(first.mechanism, first.data);
    assert.equal(one.kind, 'continue');
    const final = c.serverFirst((one as { data: Buffer }).data);
    const two = s.clientFinal(final);
    assert.equal(two.kind, 'ok');
    c.serverFinal((two as { data: Buffer }).data);
    assert.deepEqual([text(first.data), text((one as { data: Buffer }).data), text(final), text((two as { data: Buffer }).data)],
      [RFC.clientFirst, RFC.serverFirst, RFC.clientFinal, RFC.serverFinal]);
  });

  it('a wrong password gives another proof, which the server refuses', () => {
    const c = new ScramClient({ password: 'pencil2' }, { nonce: RFC.clientNonce, username: 'user' });
    c.initial();
    const final = text(c.serverFirst(bytes(RFC.serverFirst)));
    assert.notEqual(final, RFC.clientFinal);
    const s = rfcServer();
    s.clientFirst('SCRAM-SHA-256', bytes(RFC.clientFirst));
    assert.equal(s.clientFinal(bytes(final)).kind, 'fail');
  });
});

const has15 = (await availableVersions()).includes(15);

describe('PostgreSQL 15 verifiers', { skip: has15 ? false : 'Debian PostgreSQL 15 is not installed' }, () => {
  let cluster: Cluster;
  // Passwords chosen for SASLprep: plain, NFKC, mapped-to-nothing, prohibited (raw bytes), and the
  // pre-normalization bidi quirk.
  const passwords: [role: string, password: string, alsoAccepts: string[]][] = [
    ['plain_role', 'pencil', []],
    ['accent_role', 'p\u00e4ssw\u00f6rd', ['pa\u0308sswo\u0308rd']],
    ['nfkc_role', '\u2168', ['IX', 'I\u00adX']],
    ['hyphen_role', 'I\u00adX', ['IX', '\u2168']],
    ['prohibited_role', 'x\u0221y', []],
    ['bidi_role', '\ufb1d', ['\u05d9\u05b4']],
    ['control_role', 'a\u0007b', []],
  ];
  const verifiers = new Map<string, string>();

  before(async () => {
    cluster = await startCluster({ version: 15 });
    for (const [role, password] of passwords) {
      await cluster.createRole(role, { password });
      const [row] = await cluster.query<{ rolpassword: string }>('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role]);
      verifiers.set(role, row!.rolpassword);
    }
  });
  after(async () => cluster?.stop());

  for (const [role, password, alsoAccepts] of passwords) {
    it(`${role}: parses, re-makes identically from its salt, and verifies ${JSON.stringify(password)}`, () => {
      const text = verifiers.get(role)!;
      const secret = parseScramSecret(text);
      assert.ok(secret, text);
      assert.equal(secret.iterations, 4096);
      assert.equal(secret.salt.length, 16);
      assert.equal(formatScramSecret(secret), text);
      assert.equal(formatScramSecret(makeScramSecret(password, { salt: secret.salt, iterations: secret.iterations })), text);
      const stored = parseStoredSecret(text)!;
      assert.ok(verifyCleartextPassword(stored, role, password));
      for (const other of alsoAccepts) assert.ok(verifyCleartextPassword(stored, role, other), `also ${JSON.stringify(other)}`);
      assert.ok(!verifyCleartextPassword(stored, role, `${password}!`));
    });

    it(`${role}: ScramServer with PostgreSQL's verifier admits the password and refuses another`, () => {
      const secret = parseScramSecret(verifiers.get(role)!)!;
      for (const [pw, expected] of [[password, 'ok'], ['wrong', 'fail']] as const) {
        const s = new ScramServer({ user: role, secret, channelBinding: { offered: false } });
        const c = new ScramClient({ password: pw });
        const first = c.initial();
        const one = s.clientFirst(first.mechanism, first.data);
        assert.equal(one.kind, 'continue');
        const two = s.clientFinal(c.serverFirst((one as { data: Buffer }).data));
        assert.equal(two.kind, expected, pw);
      }
    });
  }

  it('PostgreSQL stores our verifier as given and psql (libpq) logs in with it', async () => {
    for (const [password, loginWith] of [['gatehouse pw', 'gatehouse pw'], ['\u2168', 'IX']] as const) {
      const ours = formatScramSecret(makeScramSecret(password));
      await cluster.query(`DROP ROLE IF EXISTS ours_role; CREATE ROLE ours_role LOGIN PASSWORD ${pg.escapeLiteral(ours)}`);
      const [row] = await cluster.query<{ rolpassword: string }>(`SELECT rolpassword FROM pg_authid WHERE rolname = 'ours_role'`);
      assert.equal(row!.rolpassword, ours);
      const ok = await cluster.psql(['-h', '127.0.0.1', '-U', 'ours_role', '-d', 'postgres', '-Atc', 'SELECT current_user'],
        { env: { PGPASSWORD: loginWith } });
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout.trim(), 'ours_role');
      const bad = await cluster.psql(['-h', '127.0.0.1', '-U', 'ours_role', '-d', 'postgres', '-Atc', 'SELECT 1'], { env: { PGPASSWORD: 'nope' } });
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /password authentication failed for user "ours_role"/);
    }
  });

  it("md5: PostgreSQL's stored md5 secret equals md5Secret()", async () => {
    await cluster.createRole('md5_role', { password: 's3cret', encryption: 'md5' });
    const [row] = await cluster.query<{ rolpassword: string }>(`SELECT rolpassword FROM pg_authid WHERE rolname = 'md5_role'`);
    assert.equal(row!.rolpassword, md5Secret('s3cret', 'md5_role'));
    assert.deepEqual(parseStoredSecret(row!.rolpassword), { kind: 'md5', hash: md5Secret('s3cret', 'md5_role') });
  });
});
