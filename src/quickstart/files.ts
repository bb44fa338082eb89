/**
 * What the quick start writes in `.gatehouse/`: a self-signed server certificate, secrets kept
 * 0600, the PgBouncer-format auth file with the SCRAM verifier, gatehouse's pg_hba.conf and
 * gatehouse.yaml. Files that hold a choice (certificate, passwords, pg_hba.conf) are made once and
 * reused; derived files (users.txt, gatehouse.yaml) are rewritten on every run.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes a file only its owner can read. */
export function writeSecret(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** The secret stored at `path`, made (random, 24 bytes base64url) on first use. */
export function ensureSecret(path: string): { value: string; created: boolean } {
  if (existsSync(path)) {
    const value = readFileSync(path, 'utf8').trim();
    if (value) return { value, created: false };
  }
  const value = randomBytes(24).toString('base64url');
  writeSecret(path, `${value}\n`);
  return { value, created: true };
}

/**
 * A self-signed certificate for CN=localhost with SAN DNS:localhost, IP:127.0.0.1 (RSA 2048,
 * SHA-256). Clients trust it with `sslrootcert=<cert>` and `sslmode=verify-full`.
 */
export function ensureServerCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  if (existsSync(cert) && existsSync(key)) return { cert, key };
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '825',
      '-keyout', key, '-out', cert, '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-addext', 'extendedKeyUsage=serverAuth',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT') {
      throw new Error('openssl is needed to make the TLS certificate and was not found: install it (Debian/Ubuntu: apt-get install openssl; macOS: brew install openssl)', { cause: e });
    }
    throw new Error(`openssl could not make the certificate: ${err.stderr?.toString().trim() ?? err.message}`, { cause: e });
  }
  chmodSync(key, 0o600);
  return { cert, key };
}

/** PgBouncer auth file line: `"user" "secret"` with `"` doubled. */
const authLine = (user: string, secret: string): string =>
  `"${user.replace(/"/g, '""')}" "${secret.replace(/"/g, '""')}"`;

/**
 * users.txt with the role's SCRAM verifier as PostgreSQL stores it (pg_authid), so gatehouse can
 * pass SCRAM through. Rewritten on every run; no comment line, as PgBouncer's format has none.
 */
export function writeUsersFile(path: string, user: string, verifier: string): void {
  writeSecret(path, `${authLine(user, verifier)}\n`);
}

/** gatehouse's own pg_hba.conf; made once, then it is yours to edit (SIGHUP or a restart reloads it). */
export function ensureGatehouseHba(path: string, user: string): void {
  if (existsSync(path)) return;
  writeFileSync(path, [
    "# gatehouse's pg_hba.conf, written by the quick start (npm start). Same format and rules as",
    "# PostgreSQL's: the first line that matches decides. Edit it freely; it is not rewritten.",
    '#',
    '# TYPE   DATABASE  USER  ADDRESS        METHOD',
    `hostssl  all       ${user}   127.0.0.1/32   scram-sha-256`,
    '',
  ].join('\n'));
}

export interface GatehouseYaml { gatehousePort: number; pgPort: number }

/** gatehouse.yaml, rewritten on every run because the ports can change. Paths are relative to it. */
export function writeGatehouseYaml(path: string, o: GatehouseYaml): void {
  writeFileSync(path, `# Written by gatehouse's quick start (npm start) on every run: copy it to customise.
# Reference: docs/configuration.md
listen:
  addresses: [127.0.0.1]
  port: ${o.gatehousePort}
tls:
  cert: server.crt
  key: server.key
hba: pg_hba.conf
auth:
  users: users.txt
databases:
  "*":
    host: 127.0.0.1
    port: ${o.pgPort}
    sslmode: disable
`);
}
