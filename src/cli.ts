#!/usr/bin/env node
/** The `gatehouse` command. */
import { Command } from 'commander';
import { createRequire } from 'node:module';
import { GatehouseError } from './errors.js';
import { registerServeCommand } from './cli/serve.js';
import { registerHbaCommands } from './cli/hba.js';
import { registerPasswdCommand } from './cli/passwd.js';
import { registerConfigCommands } from './cli/config.js';
import { registerAuditCommand } from './cli/audit.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

const program = new Command()
  .name('gatehouse')
  .description('The secure front door for PostgreSQL: exact pg_hba.conf rules, TLS, SCRAM-SHA-256-PLUS and a relay to your server.')
  .version(version);
registerServeCommand(program);
registerHbaCommands(program);
registerPasswdCommand(program);
registerConfigCommands(program);
registerAuditCommand(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof GatehouseError) {
    process.stderr.write(`gatehouse: ${e.message} [${e.code}]\n`);
    process.exit(2);
  }
  process.stderr.write(`gatehouse: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
