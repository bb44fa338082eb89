#!/usr/bin/env node
/** The `gatehouse` command. */
import { Command } from 'commander';
import { createRequire } from 'node:module';
import { GatehouseError } from './errors.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/**
 * Each command's module, loaded only when needed: `gatehouse audit` need not load the gateway
 * (pino, prom-client, ioredis), which was most of a short audit's time. `--help` and anything
 * unknown load them all, so the top-level help lists every command.
 */
const COMMANDS: Record<string, () => Promise<(program: Command) => void>> = {
  serve: async () => (await import('./cli/serve.js')).registerServeCommand,
  hba: async () => (await import('./cli/hba.js')).registerHbaCommands,
  passwd: async () => (await import('./cli/passwd.js')).registerPasswdCommand,
  config: async () => (await import('./cli/config.js')).registerConfigCommands,
  audit: async () => (await import('./cli/audit.js')).registerAuditCommand,
  'audit-log': async () => (await import('./cli/audit-log.js')).registerAuditLogCommands,
};

const program = new Command()
  .name('gatehouse')
  .description('The secure front door for PostgreSQL: exact pg_hba.conf rules, TLS, SCRAM-SHA-256-PLUS and a relay to your server.')
  .version(version);
const named = process.argv[2];
const wanted = named !== undefined && Object.hasOwn(COMMANDS, named) ? [COMMANDS[named]!] : Object.values(COMMANDS);
for (const register of await Promise.all(wanted.map((load) => load()))) register(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof GatehouseError) {
    process.stderr.write(`gatehouse: ${e.message} [${e.code}]\n`);
    process.exit(2);
  }
  process.stderr.write(`gatehouse: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
