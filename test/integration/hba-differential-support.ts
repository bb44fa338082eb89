/**
 * Support for hba-differential.test.ts: a generated pg_hba.conf corpus (seeded, so failures
 * reproduce) and a minimal wire client that reports how a server answers a StartupMessage.
 */
import { connect, type Socket } from 'node:net';

export { prng } from '../support/prng.js';

const TYPES = ['local', 'host', 'hostssl', 'hostnossl', 'hostgssenc', 'hostnogssenc', 'host', 'host', 'local', 'hosts'];
const DBS = ['all', 'sameuser', 'samerole', 'samegroup', 'replication', '"all"', '"replication"', 'app', '"my db"', '/^app',
  '"/^t\\d{2,3}$"', '@includes.d/dbs.list', 'a"b c"d', '""', '/^x{2', '"@dbs"', 'postgres'];
const USERS = ['all', '"all"', '+admins', '"+admins"', 'alice', '/^u\\d', '"/a,b"', '@includes.d/users.list', 'bob', '+', '"/(x"'];
const ADDRESSES = ['all', 'samehost', 'samenet', '"all"', '127.0.0.1/32', '10.0.0.0/8', '10.1.2.3 255.0.0.0', '::1/128', '::/0',
  '0.0.0.0/0', '127.1/32', '10/8', 'localhost', '.example.com', 'fe80::1%lo/64', '1.2.3.4/33', 'example.com/24',
  '10.0.0.0 ffff::', '10.0.0.0/+8', '10.0.0.0 255.0.255.0', '0x7f.1/32', '::ffff:10.0.0.0/104', '10.0.0.0/8,11.0.0.0/8'];
const METHODS = ['trust', 'reject', 'md5', 'scram-sha-256', 'password', 'ident', 'peer', 'cert', 'gss', 'sspi', 'pam', 'bsd',
  'ldap', 'radius', 'oauth', 'Trust', 'scram'];
const OPTIONS: Readonly<Record<string, readonly string[]>> = {
  any: ['map=m', 'clientcert=verify-ca', 'clientcert=verify-full', 'clientcert=bogus', 'clientname=DN', 'clientname=x',
    'foo=bar', 'noequals', 'include_realm=0', 'krb_realm=EX', 'pamservice=svc', 'ldaptls=1'],
  ldap: ['ldapserver=ldap.example.com', 'ldapbasedn="dc=example,dc=com"', 'ldapprefix=cn=', 'ldapsuffix=,dc=x', 'ldapport=389',
    'ldapport=x', 'ldapsearchattribute=uid', 'ldapsearchfilter=(uid=$username)', 'ldapscheme=ldaps', 'ldapscheme=foo',
    'ldapurl=ldap://ldap.example.com/dc=example?uid?sub', 'ldapurl=http://x/', 'ldapbinddn=cn=admin', 'ldapbindpasswd=secret'],
  radius: ['radiusservers=127.0.0.1', 'radiusservers="127.0.0.1,127.0.0.2"', 'radiussecrets=s', 'radiussecrets="a,b,c"',
    'radiusports=1812', 'radiusports="1,2"', 'radiusports=x', 'radiusidentifiers=id', 'radiussecrets="a,,b"'],
  gss: ['include_realm=0', 'include_realm=1', 'krb_realm=EXAMPLE.COM', 'map=krb', 'compat_realm=1'],
  oauth: ['issuer=https://idp.example.com', 'scope=openid', 'validator=v', 'delegate_ident_mapping=1', 'map=m'],
};

/** One random pg_hba.conf body: mostly plausible lines with traps mixed in. */
export function generateHbaFile(rand: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const lines: string[] = [];
  const count = 2 + Math.floor(rand() * 8);
  for (let i = 0; i < count; i++) {
    if (rand() < 0.1) lines.push(pick(['', '# a comment', '   ', '\t# indented comment']));
    lines.push(generateLine(rand, pick));
  }
  return `${lines.join('\n')}\n`;
}

function generateLine(rand: () => number, pick: <T>(xs: readonly T[]) => T): string {
  const type = pick(TYPES);
  const list = (pool: readonly string[]): string => {
    const n = rand() < 0.75 ? 1 : 2 + Math.floor(rand() * 2);
    const sep = pick([',', ',', ', ', ' ,']); // " ," starts a new field: a classic trap
    return Array.from({ length: n }, () => pick(pool)).join(sep);
  };
  const method = pick(METHODS);
  const fields = [type, list(DBS), list(USERS)];
  if (type !== 'local' || rand() < 0.05) fields.push(pick(ADDRESSES));
  if (rand() > 0.03) fields.push(method);
  const pool = OPTIONS[method] ?? (method === 'gss' || method === 'sspi' ? OPTIONS.gss : undefined);
  const nOpts = rand() < 0.5 ? 0 : 1 + Math.floor(rand() * 3);
  for (let i = 0; i < nOpts; i++) fields.push(pick(rand() < 0.7 && pool ? pool : OPTIONS.any ?? []));
  let line = fields.join(pick([' ', '  ', '\t', ' \t ']));
  if (rand() < 0.1) line += pick([' # trailing comment', '#no space', ' "unterminated']);
  if (rand() < 0.1) {
    const at = line.indexOf(' ', 1 + Math.floor(rand() * Math.max(1, line.length - 2)));
    if (at > 0) line = `${line.slice(0, at)}\\\n${line.slice(at)}`;
  }
  return line;
}

/** How the server answered a StartupMessage. */
export type ServerAnswer =
  | { kind: 'auth'; code: number }
  | { kind: 'error'; sqlstate: string; message: string };

export type Target = { host: string; port: number; localAddress?: string } | { path: string };

/** StartupMessage (protocol 3.0) with the given parameters. */
function startupPacket(params: Record<string, string>): Buffer {
  const body = Buffer.concat([
    Buffer.from([0, 3, 0, 0]),
    ...Object.entries(params).map(([k, v]) => Buffer.from(`${k}\0${v}\0`)),
    Buffer.from([0]),
  ]);
  const len = Buffer.alloc(4);
  len.writeInt32BE(body.length + 4);
  return Buffer.concat([len, body]);
}

function passwordPacket(password: string): Buffer {
  const body = Buffer.from(`${password}\0`);
  const head = Buffer.alloc(5);
  head.write('p');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/** Reads whole backend messages from a socket. */
class MessageReader {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private ended = false;
  constructor(socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiter?.();
    });
    const end = (): void => {
      this.ended = true;
      this.waiter?.();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }

  async next(): Promise<{ type: string; body: Buffer } | null> {
    for (;;) {
      if (this.buf.length >= 5) {
        const len = this.buf.readInt32BE(1);
        if (this.buf.length >= len + 1) {
          const msg = { type: String.fromCharCode(this.buf[0] ?? 0), body: this.buf.subarray(5, len + 1) };
          this.buf = this.buf.subarray(len + 1);
          return msg;
        }
      }
      if (this.ended) return null;
      await new Promise<void>((resolve) => { this.waiter = resolve; });
      this.waiter = null;
    }
  }
}

function errorFields(body: Buffer): { sqlstate: string; message: string } {
  const fields: Record<string, string> = {};
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const type = String.fromCharCode(body[i] ?? 0);
    const end = body.indexOf(0, i + 1);
    fields[type] = body.subarray(i + 1, end).toString();
    i = end + 1;
  }
  return { sqlstate: fields.C ?? '', message: fields.M ?? '' };
}

/**
 * Sends a StartupMessage and reports the first answer. For a cleartext password request it sends
 * `wrongPassword` and reports the resulting error too (the server log then names the hba line).
 */
export async function startupAnswer(target: Target, params: Record<string, string>, wrongPassword?: string): Promise<ServerAnswer[]> {
  const socket = 'path' in target ? connect(target.path) : connect({ host: target.host, port: target.port, ...(target.localAddress ? { localAddress: target.localAddress } : {}) });
  socket.setTimeout(10_000, () => socket.destroy(new Error('timeout')));
  const reader = new MessageReader(socket);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.write(startupPacket(params));
    const answers: ServerAnswer[] = [];
    for (let msg = await reader.next(); msg !== null; msg = await reader.next()) {
      if (msg.type === 'E') {
        answers.push({ kind: 'error', ...errorFields(msg.body) });
        break;
      }
      if (msg.type !== 'R') continue;
      const code = msg.body.readInt32BE(0);
      answers.push({ kind: 'auth', code });
      if (code !== 3 || wrongPassword === undefined) break;
      socket.write(passwordPacket(wrongPassword));
    }
    return answers;
  } finally {
    socket.destroy();
  }
}
