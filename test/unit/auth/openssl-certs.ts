/** Self-signed test certificates made with the openssl CLI, in a temp dir removed at exit. */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let dir: string | null = null;
function workDir(): string {
  if (!dir) {
    const made = mkdtempSync(join(tmpdir(), 'gatehouse-authcerts-'));
    process.on('exit', () => rmSync(made, { recursive: true, force: true }));
    dir = made;
  }
  return dir;
}

let n = 0;
/** Makes a self-signed certificate: `newkey` and `extra` are `openssl req` arguments. Returns its PEM path and DER. */
export function selfSigned(newkey: string[], subject = '/CN=test', extra: string[] = []): { pem: string; key: string; der: Buffer } {
  const base = join(workDir(), `c${n++}`);
  execFileSync('openssl', ['req', '-x509', '-newkey', ...newkey, '-nodes', '-subj', subject, '-days', '2',
    '-keyout', `${base}.key`, '-out', `${base}.crt`, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { pem: `${base}.crt`, key: `${base}.key`, der: new X509Certificate(execFileSync('cat', [`${base}.crt`])).raw };
}

/** openssl's fingerprint of a certificate with `digest` (sha256, sha384, sha512), as bytes. */
export function fingerprint(pem: string, digest: string): Buffer {
  const out = execFileSync('openssl', ['x509', '-in', pem, '-noout', '-fingerprint', `-${digest}`], { encoding: 'utf8' });
  return Buffer.from(out.trim().split('=')[1]!.replace(/:/g, ''), 'hex');
}

/** openssl's subject line in RFC 2253 form (what PostgreSQL's clientname=DN compares). */
export function opensslDn(pem: string): string {
  return execFileSync('openssl', ['x509', '-in', pem, '-noout', '-subject', '-nameopt', 'RFC2253'], { encoding: 'utf8' })
    .replace(/^subject=/, '').replace(/\n$/, '');
}
