/**
 * `gatehouse serve --config FILE`: run the gateway in the foreground.
 * Signals: SIGHUP reloads (all or nothing), SIGTERM stops accepting and waits for sessions up to
 * shutdown_timeout, SIGINT ends sessions at once with 57P01.
 */
import type { Command } from 'commander';
import { Gateway, type ListenAddress } from '../gateway/gateway.js';
import { createLogger, logEvents } from '../log.js';

export interface ServeHandle {
  gateway: Gateway;
  addresses: ListenAddress[];
  /** Resolves when the gateway has shut down. */
  stopped: Promise<void>;
}

/** Starts the gateway and installs signal handlers. Rejects when the config does not load. */
export async function startServe(configPath: string, opts: { signals?: boolean } = {}): Promise<ServeHandle> {
  const gateway = new Gateway(configPath);
  const log = createLogger(gateway.state.config.log.level);
  logEvents(gateway.events, log);
  const addresses = await gateway.listen();
  log.info({ listen: addresses.map((a) => a.where), hba: gateway.state.config.hba, rules: gateway.state.hba.rules.length }, 'gatehouse is ready');
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  const stop = (mode: 'smart' | 'fast'): void => {
    log.info({ mode }, mode === 'smart' ? 'received SIGTERM: waiting for sessions to end' : 'received SIGINT: ending sessions');
    void gateway.shutdown(mode).then(() => {
      log.info('gatehouse stopped');
      log.flush();
      resolveStopped();
    });
  };
  if (opts.signals !== false) {
    process.on('SIGHUP', () => gateway.reload());
    process.on('SIGTERM', () => stop('smart'));
    process.on('SIGINT', () => stop('fast'));
  }
  return { gateway, addresses, stopped };
}

/** Runs until a signal stops the gateway. */
export async function runServe(configPath: string): Promise<void> {
  const h = await startServe(configPath);
  await h.stopped;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the gateway in front of PostgreSQL (foreground; SIGHUP reloads, SIGTERM drains, SIGINT ends sessions)')
    .requiredOption('-c, --config <file>', 'YAML configuration file (see docs/configuration.md)')
    .action(async (o: { config: string }) => {
      await runServe(o.config);
      // Everything is closed; do not wait for stray handles (a client socket's last unref'd timer).
      process.exit(0);
    });
}
