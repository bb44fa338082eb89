/**
 * `gatehouse passwd USER [--iterations N]`: reads a password and prints the auth-file line
 *
 *     "USER" "SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>"
 *
 * in PgBouncer's auth_file format, with the verifier PostgreSQL itself would store (SASLprep, 16
 * random salt bytes). On a terminal the password is asked for twice without echo, as psql's
 * \password does; otherwise the first line of standard input is the password. Only the line goes
 * to stdout, so `gatehouse passwd alice >> userlist.txt` works; prompts go to stderr.
 */
import type { Command } from 'commander';
import { formatUserlistLine } from '../auth/userlist.js';
import { SCRAM_DEFAULT_ITERATIONS, SCRAM_MAX_ITERATIONS, iterationsInBounds } from '../auth/scram/common.js';
import { formatScramSecret, makeScramSecret } from '../auth/scram/secret.js';

/** Where the command reads and writes; the process's streams unless a test passes others. */
export interface PasswdIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const processIo = (): PasswdIo => ({ stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });

/** A user-facing failure: printed without a stack, exit status 1. */
export class PasswdError extends Error {}

/** The auth-file line for `user` with a fresh SCRAM-SHA-256 verifier of `password`. */
export function passwdLine(user: string, password: string, iterations = SCRAM_DEFAULT_ITERATIONS): string {
  return formatUserlistLine(user, formatScramSecret(makeScramSecret(password, { iterations })));
}

/** Not a terminal: the first line of stdin, without its line ending. */
export async function readFirstLine(stdin: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stdin) {
    text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    if (text.includes('\n')) break;
  }
  const nl = text.indexOf('\n');
  if (nl < 0 && text === '') throw new PasswdError('no password on standard input');
  return (nl < 0 ? text : text.slice(0, nl)).replace(/\r$/, '');
}

/** A terminal: reads one line in raw mode without echoing it. Ctrl-C or Ctrl-D on an empty line aborts. */
export function promptHidden(io: PasswdIo, prompt: string): Promise<string> {
  const { stdin, stderr } = io;
  stderr.write(prompt);
  stdin.setRawMode?.(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let buf = '';
    const finish = (err: Error | null): void => {
      stdin.off('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      stderr.write('\n');
      if (err) reject(err);
      else resolve(buf);
    };
    const onData = (chunk: string | Buffer): void => {
      for (const ch of String(chunk)) {
        if (ch === '\r' || ch === '\n') return finish(null);
        if (ch === '\u0003' || (ch === '\u0004' && buf === '')) return finish(new PasswdError('cancelled'));
        if (ch === '\u007f' || ch === '\b') buf = Array.from(buf).slice(0, -1).join('');
        else if (ch === '\u0015') buf = ''; // Ctrl-U
        else if (ch >= ' ') buf += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** The password: twice on a terminal (they must match), else the first line of stdin. Never empty. */
export async function readNewPassword(io: PasswdIo, user: string): Promise<string> {
  let password: string;
  if (io.stdin.isTTY) {
    password = await promptHidden(io, `Enter new password for user "${user}": `);
    const again = await promptHidden(io, 'Enter it again: ');
    if (again !== password) throw new PasswdError("Passwords didn't match.");
  } else {
    password = await readFirstLine(io.stdin);
  }
  // PostgreSQL refuses to store an empty password, and PgBouncer reads "" as "no password".
  if (password === '') throw new PasswdError('empty password');
  return password;
}

function parseIterations(value: string): number {
  const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!iterationsInBounds(n)) throw new PasswdError(`--iterations must be an integer from 1 to ${SCRAM_MAX_ITERATIONS}`);
  return n;
}

/** Adds `passwd` to the gatehouse command. */
export function registerPasswdCommand(program: Command, io: PasswdIo = processIo()): Command {
  return program
    .command('passwd')
    .description('print an auth-file line ("USER" "SCRAM-SHA-256$…") with a new SCRAM-SHA-256 verifier for USER')
    .argument('<user>', 'the role name, exactly as clients send it')
    .option('--iterations <n>', `PBKDF2 iteration count (1 to ${SCRAM_MAX_ITERATIONS}; PostgreSQL's scram_iterations)`, String(SCRAM_DEFAULT_ITERATIONS))
    .addHelpText('after', [
      '',
      'The password is read from standard input: on a terminal it is asked for twice without echo;',
      'otherwise the first line is used (its line ending removed). The line goes to stdout and uses',
      "PgBouncer's auth_file format (a double quote in the name is doubled). The verifier is the one",
      'PostgreSQL stores for the same password, so it can also be used in ALTER ROLE … PASSWORD.',
      '',
      'Examples:',
      '  gatehouse passwd alice >> /etc/gatehouse/userlist.txt',
      "  printf '%s\\n' \"$APP_PASSWORD\" | gatehouse passwd app --iterations 100000",
    ].join('\n'))
    .action(async function (this: Command, user: string, o: { iterations: string }) {
      try {
        const iterations = parseIterations(o.iterations);
        const password = await readNewPassword(io, user);
        io.stdout.write(`${passwdLine(user, password, iterations)}\n`);
      } catch (e) {
        if (e instanceof PasswdError || e instanceof RangeError) this.error(`gatehouse passwd: ${e.message}`, { exitCode: 1, code: 'gatehouse.passwd' });
        throw e;
      }
    });
}
