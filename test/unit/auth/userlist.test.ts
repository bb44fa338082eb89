/** PgBouncer auth_file parsing: quoting, comments, secret kinds, and errors that name file:line. */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GatehouseError } from '../../../src/errors.js';
import { formatScramSecret, makeScramSecret } from '../../../src/auth/scram/secret.js';
import { formatUserlistLine, loadUserlist, parseStoredSecret, parseUserlist, quoteAuthField } from '../../../src/auth/userlist.js';

const VERIFIER = formatScramSecret(makeScramSecret('pw', { iterations: 4096 }));
const MD5 = 'md54d45974e13472b5a0be3533de4666414';

/** Asserts GH_USERLIST_INVALID at `where`, with a message matching `re` that does not contain `secret`. */
function rejects(text: string, where: string, re: RegExp, secret?: string): void {
  assert.throws(() => parseUserlist(text, 'users.txt'), (e: unknown) => {
    assert.ok(e instanceof GatehouseError, String(e));
    assert.equal(e.code, 'GH_USERLIST_INVALID');
    assert.equal(e.where, where);
    assert.match(e.message, re);
    assert.ok(e.message.startsWith(`${where}: `), e.message);
    if (secret) assert.ok(!e.message.includes(secret), `the message must not echo the secret: ${e.message}`);
    return true;
  });
}

describe('parseUserlist', () => {
  it('reads users with SCRAM, md5 and plaintext secrets; skips blanks and ; comments; ignores extra fields', () => {
    const users = parseUserlist([
      '; PgBouncer auth file',
      '',
      `"alice" "${VERIFIER}"`,
      `  "bob"\t"${MD5}" "ignored" more`,
      '   ; indented comment',
      '"carol" "plain secret"\r',
      '',
    ].join('\n'), 'users.txt');
    assert.deepEqual([...users.keys()], ['alice', 'bob', 'carol']);
    const alice = users.get('alice');
    assert.equal(alice?.kind, 'scram');
    assert.equal(alice?.kind === 'scram' && alice.text, VERIFIER);
    assert.equal(alice?.kind === 'scram' && alice.secret.iterations, 4096);
    assert.deepEqual(users.get('bob'), { kind: 'md5', hash: MD5 });
    assert.deepEqual(users.get('carol'), { kind: 'plain', password: 'plain secret' });
  });

  it('unescapes "" inside quotes', () => {
    const users = parseUserlist('"we""ird ""user""" "pa""ss"', 'f');
    assert.deepEqual(users.get('we"ird "user"'), { kind: 'plain', password: 'pa"ss' });
  });

  it('keeps the last entry of a user listed twice, and drops a user whose secret is empty', () => {
    const users = parseUserlist('"a" "one"\n"a" "two"\n"b" "x"\n"b" ""\n"c" ""', 'f');
    assert.deepEqual(users.get('a'), { kind: 'plain', password: 'two' });
    assert.ok(!users.has('b'));
    assert.ok(!users.has('c'));
  });

  it('takes an md5-looking secret that is not lowercase hex, or a broken verifier, as an error (not plaintext)', () => {
    rejects(`"a" "x"\n"b" "${MD5.toUpperCase().replace('MD5', 'md5')}"`, 'users.txt:2', /malformed md5 secret/, MD5.toUpperCase().slice(3));
    rejects(`"a" "${VERIFIER.slice(0, -4)}"`, 'users.txt:1', /malformed SCRAM-SHA-256 verifier/, VERIFIER.slice(20, 40));
    rejects(`"a" "${VERIFIER.replace('$4096:', '$0:')}"`, 'users.txt:1', /1 to 1000000 iterations/);
  });

  it('names file:line for each kind of broken line, without echoing secrets', () => {
    rejects('"a" "b"\n# comment', 'users.txt:2', /start with ';'/);
    rejects('a "b"', 'users.txt:1', /expected a double-quoted user name/);
    rejects('\n\n"a "b"', 'users.txt:3', /expected blanks and then the double-quoted secret/);
    rejects('"alice" "hunter2', 'users.txt:1', /unterminated quoted secret/, 'hunter2');
    rejects('"alice', 'users.txt:1', /unterminated quoted user name/);
    rejects('"alice"', 'users.txt:1', /expected blanks and then the double-quoted secret/);
    rejects('"alice"   ', 'users.txt:1', /expected a double-quoted secret/);
    rejects('"alice" hunter2', 'users.txt:1', /expected a double-quoted secret/, 'hunter2');
    rejects('"" "x"', 'users.txt:1', /empty user name/);
  });
});

describe('parseStoredSecret', () => {
  it('classifies like crypt.c get_password_type, refusing look-alikes', () => {
    assert.equal(parseStoredSecret(VERIFIER)?.kind, 'scram');
    assert.equal(parseStoredSecret(MD5)?.kind, 'md5');
    assert.equal(parseStoredSecret('md5short')?.kind, 'plain');
    assert.equal(parseStoredSecret('SCRAM-SHA-1$1:AA==$AA==:AA==')?.kind, 'plain');
    assert.equal(parseStoredSecret('SCRAM-SHA-256$4096:xx'), null);
  });
});

describe('loadUserlist', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-userlist-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('loads a file and names it in errors', () => {
    const path = join(dir, 'userlist.txt');
    writeFileSync(path, `"alice" "${VERIFIER}"\n"bob" oops\n`);
    assert.throws(() => loadUserlist(path), (e: unknown) => e instanceof GatehouseError && e.where === `${path}:2`);
    writeFileSync(path, `"alice" "${VERIFIER}"\n`);
    assert.equal(loadUserlist(path).get('alice')?.kind, 'scram');
  });

  it('reports a missing file with the path', () => {
    const path = join(dir, 'missing.txt');
    assert.throws(() => loadUserlist(path), (e: unknown) =>
      e instanceof GatehouseError && e.code === 'GH_USERLIST_INVALID' && e.where === path && /could not read auth file/.test(e.message));
  });
});

describe('formatUserlistLine', () => {
  it('quotes both fields as PgBouncer reads them back', () => {
    const line = formatUserlistLine('o"brien', VERIFIER);
    assert.equal(line, `"o""brien" "${VERIFIER}"`);
    assert.equal(parseUserlist(line, 'f').get('o"brien')?.kind, 'scram');
    assert.equal(quoteAuthField('""'), '""""""');
    assert.throws(() => formatUserlistLine('a\nb', 'x'), RangeError);
  });
});
