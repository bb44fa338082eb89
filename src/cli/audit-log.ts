/**
 * `gatehouse audit-log verify FILE... [--hmac-key-file F] [--with-rotated]`: checks the chain of
 * JSON audit files. Exit 0: intact. 1: the first broken or missing record is reported with
 * file:line, expected and found. 2: a file or the key could not be read.
 */
import type { Command } from 'commander';
import { readFile, stat } from 'node:fs/promises';
import { GatehouseError } from '../errors.js';
import { parseHmacKey } from '../audit/chain.js';
import { rotatedFiles } from '../audit/files.js';
import { verifyFiles, type VerifyResult } from '../audit/verify.js';

interface VerifyOptions {
  hmacKeyFile?: string;
  withRotated?: boolean;
}

export function registerAuditLogCommands(program: Command): void {
  const cmd = program.command('audit-log').description('check the audit log written by `serve` (docs/audit-log.md)');
  cmd
    .command('verify')
    .description('recompute the hash chain (and HMACs) of JSON audit files given oldest first; report the first broken or missing record. ' +
      'Exit 0 intact, 1 broken, 2 unreadable')
    .argument('<files...>', 'JSON audit files in chain order (rotated files first: `audit.jsonl.* audit.jsonl` sorts right)')
    .option('--hmac-key-file <file>', 'the audit.hmac_key_file the records were written with: every record\'s hmac is checked')
    .option('--with-rotated', 'put each FILE\'s rotated predecessors (FILE.<UTC time>, from its folder) before it, oldest first')
    .addHelpText('after', '\nExamples:\n  gatehouse audit-log verify --with-rotated /var/log/gatehouse/audit.jsonl\n' +
      '  gatehouse audit-log verify --hmac-key-file /etc/gatehouse/audit.key audit.jsonl.20261203T000000.000Z audit.jsonl\n')
    .action(async (files: string[], o: VerifyOptions) => {
      const key = o.hmacKeyFile ? await readKey(o.hmacKeyFile) : undefined;
      const ordered = o.withRotated ? (await Promise.all(files.map(async (f) => [...(await rotatedFiles(f)), f]))).flat() : files;
      for (const f of ordered) await stat(f).catch((e: Error) => { throw new GatehouseError('GH_AUDIT_READ', e.message, f); });
      let result: VerifyResult;
      try {
        result = await verifyFiles(ordered, key);
      } catch (e) {
        throw new GatehouseError('GH_AUDIT_READ', (e as Error).message);
      }
      report(result, ordered.length, key !== undefined);
    });
}

async function readKey(path: string): Promise<Buffer> {
  const bytes = await readFile(path).catch((e: Error) => { throw new GatehouseError('GH_AUDIT_KEY', e.message, path); });
  const key = parseHmacKey(bytes);
  if (typeof key === 'string') throw new GatehouseError('GH_AUDIT_KEY', key, path);
  return key;
}

function report(r: VerifyResult, files: number, hmac: boolean): void {
  for (const n of r.notes) process.stderr.write(`note: ${n}\n`);
  if (r.problem) {
    const p = r.problem;
    process.stdout.write(`BROKEN at ${p.file}:${p.line}: ${p.message}\n`);
    if (p.expected !== undefined) process.stdout.write(`  expected: ${p.expected}\n  found:    ${p.found ?? ''}\n`);
    process.stdout.write(`  ${r.records} records before it were intact${r.firstSeq !== undefined ? ` (seq ${r.firstSeq}..${r.lastSeq})` : ''}\n`);
    process.exitCode = 1;
    return;
  }
  const range = r.firstSeq !== undefined ? `seq ${r.firstSeq}..${r.lastSeq}` : 'no records';
  process.stdout.write(`OK: ${r.records} records in ${files} file${files === 1 ? '' : 's'}, ${range}, chain intact${hmac ? ', every hmac checked' : ' (no --hmac-key-file: hmac not checked)'}\n`);
}
