/**
 * Test certificates made with the openssl CLI: one CA, one server certificate signed by it, and
 * client certificates on demand. RSA 2048, SHA-256, PEM. Keys are written 0600.
 *
 * The files belong to the user running the tests; a cluster that needs them gets its own copies
 * (owned by postgres, 0600) in its data directory, see `startCluster({ certs })` in pg.ts.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertSet {
  /** Directory holding every file below. */
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** Issues (once per CN, then reuses) a client certificate with CN=cn and extendedKeyUsage=clientAuth. */
  client(cn: string): Promise<{ cert: string; key: string }>;
}

export interface CertOptions {
  /** Subject CN of the server certificate. Default: localhost. */
  serverCN?: string;
  /** subjectAltName entries. Default: DNS:localhost, IP:127.0.0.1, IP:::1. */
  san?: string[];
}

const DEFAULT_SAN = ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1'];
const createdDirs = new Set<string>();
process.on('exit', () => {
  for (const dir of createdDirs) rmSync(dir, { recursive: true, force: true });
});

/** Runs openssl; the error names the command and carries openssl's stderr. */
export function openssl(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, timeout: 30_000 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      const why = missing ? 'openssl is not installed (apt-get install -y openssl)' : stderr.trim() || err.message;
      reject(new Error(`openssl ${args.join(' ')} failed: ${why}`));
    });
  });
}

const serial = (): string => `0x${randomBytes(12).toString('hex')}`;

/** Writes an x509v3 extension section for `openssl x509 -req -extfile`. */
async function extFile(dir: string, name: string, lines: string[]): Promise<string> {
  const path = join(dir, `${name}.ext`);
  await writeFile(path, `[ext]\n${lines.join('\n')}\n`);
  return path;
}

/** Makes a key and a certificate for `subject`, signed by the CA in `dir`. */
async function issue(dir: string, base: string, subject: string, ext: string[]): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${base}.key`);
  const cert = join(dir, `${base}.crt`);
  const csr = join(dir, `${base}.csr`);
  await openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', subject], dir);
  await chmod(key, 0o600);
  const extPath = await extFile(dir, base, ext);
  await openssl(
    ['x509', '-req', '-in', csr, '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-set_serial', serial(),
      '-days', '825', '-sha256', '-extfile', extPath, '-extensions', 'ext', '-out', cert],
    dir,
  );
  return { cert, key };
}

/** Escapes a value for an openssl `-subj` string. */
const subj = (cn: string): string => `/CN=${cn.replace(/[/\\]/g, (c) => `\\${c}`)}`;

/**
 * Creates a CA, a server certificate (CN=localhost, SAN localhost/127.0.0.1/::1 by default) and a
 * factory for client certificates in `dir` (a new temp dir, removed at exit, when omitted).
 */
export async function makeCertSet(dir?: string, o: CertOptions = {}): Promise<CertSet> {
  const target = dir ?? (await mkdtemp(join(tmpdir(), 'gatehouse-certs-')));
  if (dir === undefined) createdDirs.add(target);
  else await mkdir(target, { recursive: true });
  const caKey = join(target, 'ca.key');
  const caCert = join(target, 'ca.crt');
  await openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650', '-keyout', caKey, '-out', caCert,
      '-subj', '/CN=gatehouse test CA', '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    target,
  );
  await chmod(caKey, 0o600);
  const server = await issue(target, 'server', subj(o.serverCN ?? 'localhost'), [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    `subjectAltName=${(o.san ?? DEFAULT_SAN).join(',')}`,
  ]);
  const clients = new Map<string, Promise<{ cert: string; key: string }>>();
  const client = (cn: string): Promise<{ cert: string; key: string }> => {
    let made = clients.get(cn);
    if (!made) {
      const base = `client-${cn.replace(/[^A-Za-z0-9_.-]/g, '_')}-${clients.size}`;
      made = issue(target, base, subj(cn), [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=clientAuth',
      ]);
      clients.set(cn, made);
    }
    return made;
  };
  return { dir: target, caCert, caKey, serverCert: server.cert, serverKey: server.key, client };
}
