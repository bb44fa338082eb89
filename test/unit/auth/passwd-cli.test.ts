/**
 * `gatehouse passwd`: the auth-file line it prints verifies the password, PgBouncer quoting of the
 * user name, stdin handling (first line, CRLF, empty), the hidden twice-asked prompt on a
 * terminal, and --iterations.
 */
import { strict as assert } from 'node:assert';
import { PassThrough, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { Command, CommanderError } from 'commander';
import { registerPasswdCommand, type PasswdIo } from '../../../src/cli/passwd.js';
import { verifyCleartextPassword } from '../../../src/auth/password.js';
import { parseUserlist } from '../../../src/auth/userlist.js';

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

interface Run { stdout: string; stderr: string; error: CommanderError | null; rawMode: boolean[] }

/** Runs `gatehouse passwd ...args` with `input` on stdin (typed at a terminal when `tty`). */
async function run(args: string[], input: string, tty = false): Promise<Run> {
  const rawMode: boolean[] = [];
  const stdin = Object.assign(new PassThrough(), tty ? { isTTY: true, setRawMode: (r: boolean) => rawMode.push(r) } : {});
  const stdout = new Sink();
  const stderr = new Sink();
  const io: PasswdIo = { stdin, stdout, stderr };
  const program = new Command().exitOverride().configureOutput({ writeErr: (s) => stderr.write(s), writeOut: (s) => stdout.write(s) });
  registerPasswdCommand(program, io);
  let feed: NodeJS.Timeout | undefined;
  if (tty) {
    // Type each line once its prompt has appeared, as a person would.
    const lines = input.split('\n');
    let typed = 0;
    feed = setInterval(() => {
      const prompts = stderr.text.match(/(Enter new password for user "[^"]*"|Enter it again): /g)?.length ?? 0;
      if (prompts > typed && typed < lines.length) stdin.write(`${lines[typed++]}\r`);
    }, 5);
  } else {
    stdin.end(input);
  }
  try {
    await program.parseAsync(['node', 'gatehouse', 'passwd', ...args]);
    return { stdout: stdout.text, stderr: stderr.text, error: null, rawMode };
  } catch (e) {
    if (e instanceof CommanderError) return { stdout: stdout.text, stderr: stderr.text, error: e, rawMode };
    throw e;
  } finally {
    clearInterval(feed);
  }
}

/** The single auth-file line printed: parsed back, and the password checked against it. */
function checkLine(out: string, user: string, password: string, iterations = 4096): void {
  assert.ok(out.endsWith('\n'));
  assert.equal(out.trimEnd().split('\n').length, 1);
  const entry = parseUserlist(out, 'stdout').get(user);
  assert.equal(entry?.kind, 'scram');
  if (entry?.kind !== 'scram') return;
  assert.equal(entry.secret.iterations, iterations);
  assert.equal(entry.secret.salt.length, 16);
  assert.ok(verifyCleartextPassword(entry, user, password));
  assert.ok(!verifyCleartextPassword(entry, user, `${password}x`));
}

describe('gatehouse passwd', () => {
  it('prints "USER" "SCRAM-SHA-256$4096:…" for the first line of stdin', async () => {
    const r = await run(['alice'], 's3cret\nsecond line ignored\n');
    assert.equal(r.error, null);
    assert.match(r.stdout, /^"alice" "SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}="\n$/);
    checkLine(r.stdout, 'alice', 's3cret');
  });

  it('strips CRLF and accepts a last line without a newline', async () => {
    checkLine((await run(['bob'], 'pw with spaces \r\n')).stdout, 'bob', 'pw with spaces ');
    checkLine((await run(['bob'], 'no-newline')).stdout, 'bob', 'no-newline');
  });

  it('doubles double quotes in the user name, as PgBouncer reads them', async () => {
    const r = await run(['o"brien'], 'pw\n');
    assert.ok(r.stdout.startsWith('"o""brien" "SCRAM-SHA-256$'));
    checkLine(r.stdout, 'o"brien', 'pw');
  });

  it('makes a new salt each time', async () => {
    const a = (await run(['u'], 'pw\n')).stdout;
    const b = (await run(['u'], 'pw\n')).stdout;
    assert.notEqual(a, b);
  });

  it('takes --iterations', async () => {
    checkLine((await run(['u', '--iterations', '10000'], 'pw\n')).stdout, 'u', 'pw', 10000);
  });

  for (const bad of ['0', '-5', 'many', '1.5', '1000001']) {
    it(`refuses --iterations ${bad} with exit status 1 and nothing on stdout`, async () => {
      const r = await run(['u', `--iterations=${bad}`], 'pw\n');
      assert.equal(r.error?.exitCode, 1);
      assert.match(r.stderr, /--iterations must be an integer from 1 to 1000000/);
      assert.equal(r.stdout, '');
    });
  }

  for (const [name, input] of [['an empty line', '\n'], ['empty input', '']] as const) {
    it(`refuses ${name}`, async () => {
      const r = await run(['u'], input);
      assert.equal(r.error?.exitCode, 1);
      assert.match(r.stderr, /empty password|no password on standard input/);
      assert.equal(r.stdout, '');
    });
  }

  it('needs a user name and documents itself', async () => {
    const r = await run([], 'pw\n');
    assert.ok(r.error);
    assert.match(r.stderr, /missing required argument 'user'/);
    const help = await run(['--help'], '');
    assert.match(help.stdout, /first line is used/);
    assert.match(help.stdout, /--iterations <n>/);
  });

  it('on a terminal: asks twice without echo and prints the line when both match', async () => {
    const r = await run(['carol'], 'typed secret\ntyped secret', true);
    assert.equal(r.error, null, r.stderr);
    assert.match(r.stderr, /Enter new password for user "carol": \nEnter it again: \n/);
    assert.ok(!r.stderr.includes('typed secret'), 'the password is not echoed');
    assert.deepEqual(r.rawMode, [true, false, true, false], 'the terminal is in raw mode (no echo) while typing');
    checkLine(r.stdout, 'carol', 'typed secret');
  });

  it('on a terminal: refuses two different answers', async () => {
    const r = await run(['carol'], 'one\ntwo', true);
    assert.equal(r.error?.exitCode, 1);
    assert.match(r.stderr, /Passwords didn't match\./);
    assert.equal(r.stdout, '');
  });
});
