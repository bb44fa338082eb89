/** `gatehouse config check FILE` and `gatehouse config docs`. */
import type { Command } from 'commander';
import { loadRuntimeState } from '../gateway/state.js';
import { configReference } from '../config/docs.js';
import { readAuditKey } from '../audit/log.js';

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('check a configuration file, or print the configuration reference');
  config
    .command('check')
    .description('load a config and every file it names (hba, ident, auth file, certificates, audit HMAC key) as `serve` would; exit 2 on any error')
    .argument('<file>', 'YAML configuration file')
    .action(async (file: string) => {
      const s = loadRuntimeState(file);
      s.authQuery?.close();
      const audit = s.config.audit;
      if (audit.hmac_key_file) await readAuditKey(audit.hmac_key_file);
      const sinks = audit.sinks.length > 0 ? `, ${audit.sinks.length} audit sink${audit.sinks.length === 1 ? '' : 's'}` : '';
      process.stdout.write(`${file}: OK (${s.hba.rules.length} hba rules${s.users ? `, ${s.users.size} users in the auth file` : ''}${s.tls ? ', TLS on' : ', TLS off'}${sinks})\n`);
    });
  config
    .command('docs')
    .description('print the configuration reference (docs/configuration.md) generated from the schema')
    .action(() => {
      process.stdout.write(configReference());
    });
}
