import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { registerHbaCommands, runHbaCheck, runHbaLint, type CliIo, type HbaCheckOptions } from '../../../src/cli/hba.js';

const dir = mkdtempSync(join(tmpdir(), 'gh-hba-cli-'));
const hba = join(dir, 'pg_hba.conf');
const ident = join(dir, 'pg_ident.conf');
writeFileSync(hba, [
  'local   all  all                    peer',
  'hostssl app  +admins  10.0.0.0/8    scram-sha-256 clientcert=verify-full',
  'hostssl all  all      10.0.0.0/8    cert map=certs',
  'host    all  all      127.0.0.1/32  scram-sha-256',
  'host    replication repl 10.0.0.0/8 scram-sha-256',
].join('\n'));
writeFileSync(ident, 'certs /^(.*)@corp$ \\1\n');
const bad = join(dir, 'bad.conf');
writeFileSync(bad, 'local all all trust\nhost all all 10.0.0.0/33 trust\nlocal all all md4\n');

function capture(): CliIo & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', out: (t: string) => { io.stdout += t; }, err: (t: string) => { io.stderr += t; } };
  return io;
}

const base: HbaCheckOptions = { hba, type: 'hostssl', database: 'app', user: 'bob', address: '10.1.2.3' };

describe('gatehouse hba check', () => {
  it('names the deciding line with its method and options', async () => {
    const io = capture();
    assert.equal(await runHbaCheck({ ...base, groups: ['admins'] }, io), 0);
    assert.equal(io.stdout, `matched ${hba}:2: hostssl app  +admins  10.0.0.0/8    scram-sha-256 clientcert=verify-full\n  method: scram-sha-256\n  options: clientcert=verify-full\n  client certificate: verify-full\n`);
  });
  it('prints JSON, with the ident map verdict for a certificate name', async () => {
    const io = capture();
    assert.equal(await runHbaCheck({ ...base, ident, certCn: 'bob@corp', json: true }, io), 0);
    assert.deepEqual(JSON.parse(io.stdout), {
      matched: true, file: hba, line: 3, type: 'hostssl', method: 'cert', options: { map: 'certs' }, text: 'hostssl all  all      10.0.0.0/8    cert map=certs',
      clientcert: 'verify-full', ident: { map: 'certs', allowed: true },
    });
    const denied = capture();
    await runHbaCheck({ ...base, ident, certCn: 'eve@corp', json: true }, denied);
    assert.deepEqual((JSON.parse(denied.stdout) as { ident: unknown }).ident, { map: 'certs', allowed: false });
  });
  it('says implicit reject when nothing matches, and exits 0', async () => {
    const io = capture();
    assert.equal(await runHbaCheck({ ...base, type: 'host', address: '192.0.2.1' }, io), 0);
    assert.equal(io.stdout, 'no pg_hba.conf entry matches (implicit reject)\n');
    const json = capture();
    await runHbaCheck({ ...base, type: 'host', address: '192.0.2.1', json: true }, json);
    assert.equal(json.stdout, '{"matched":false}\n');
  });
  it('matches physical replication only on the replication keyword', async () => {
    const io = capture();
    await runHbaCheck({ ...base, type: 'host', user: 'repl', replication: 'physical', json: true }, io);
    assert.equal((JSON.parse(io.stdout) as { line: number }).line, 5);
  });
  it('treats a dual-stack ::ffff: address as IPv4', async () => {
    const io = capture();
    await runHbaCheck({ ...base, type: 'host', address: '::ffff:127.0.0.1', json: true }, io);
    assert.equal((JSON.parse(io.stdout) as { line: number }).line, 4);
  });
  it('exits 2 and prints file:line: message for every error when the file does not load', async () => {
    const io = capture();
    assert.equal(await runHbaCheck({ ...base, hba: bad }, io), 2);
    assert.equal(io.stderr, `${bad}:2: invalid CIDR mask in address "10.0.0.0/33"\n${bad}:3: invalid authentication method "md4"\n`);
    assert.equal(io.stdout, '');
  });
});

describe('gatehouse hba lint', () => {
  it('exits 1 on errors and prints errors then warnings with fixes', () => {
    const io = capture();
    assert.equal(runHbaLint(bad, {}, io), 1);
    assert.equal(io.stdout, [
      `${bad}:2: error: invalid CIDR mask in address "10.0.0.0/33"`,
      `${bad}:3: error: invalid authentication method "md4"`,
      `${bad}:1: warning GH-HBA-010: trust on a local line: every operating-system user on this machine can log in as all without a password`,
      '  fix: Use peer (add map= when OS and role names differ) or a password: local all all peer',
      '2 error(s), 1 warning(s)',
      '',
    ].join('\n'));
  });
  it('exits 0 on warnings only, and prints JSON', () => {
    const io = capture();
    assert.equal(runHbaLint(hba, { json: true, ssl: 'off' }, io), 0);
    const parsed = JSON.parse(io.stdout) as { errors: unknown[]; warnings: { id: string; line: number }[] };
    assert.deepEqual(parsed.errors, []);
    assert.deepEqual(parsed.warnings.map((w) => `${w.line} ${w.id}`), ['2 GH-HBA-008', '3 GH-HBA-008']);
  });
});

describe('command registration', () => {
  function program(): { p: Command; out: string[] } {
    const out: string[] = [];
    const p = new Command().exitOverride().configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => out.push(s) });
    registerHbaCommands(p);
    for (const c of p.commands) c.exitOverride().configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => out.push(s) });
    for (const c of p.commands.flatMap((c) => c.commands)) c.exitOverride().configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => out.push(s) });
    return { p, out };
  }
  it('documents exit codes in --help', async () => {
    const { p, out } = program();
    await assert.rejects(p.parseAsync(['node', 'gatehouse', 'hba', 'check', '--help']));
    assert.match(out.join(''), /Exit status: 0 when the file loads \(match or implicit reject\), 2 when PostgreSQL would refuse it/);
    const lint = program();
    await assert.rejects(lint.p.parseAsync(['node', 'gatehouse', 'hba', 'lint', '--help']));
    assert.match(lint.out.join(''), /--ssl <on\|off>/);
  });
  it('requires --address for TCP types', async () => {
    const { p, out } = program();
    await assert.rejects(p.parseAsync(['node', 'gatehouse', 'hba', 'check', '--hba', hba, '--type', 'host', '--database', 'd', '--user', 'u']));
    assert.match(out.join(''), /--address is required unless --type local/);
  });
  it('refuses an unknown --type', async () => {
    const { p, out } = program();
    await assert.rejects(p.parseAsync(['node', 'gatehouse', 'hba', 'check', '--hba', hba, '--type', 'hostgss', '--database', 'd', '--user', 'u']));
    assert.match(out.join(''), /Allowed choices are local, host, hostssl, hostnossl/);
  });
});
