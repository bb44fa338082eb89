/**
 * `gatehouse serve --config FILE`: run the gateway in the foreground.
 * Signals: SIGHUP reloads (all or nothing), SIGTERM stops accepting and waits for sessions up to
 * shutdown_timeout, SIGINT ends sessions at once with 57P01.
 */
import type { Command } from 'commander';
import { Gateway, type ListenAddress } from '../gateway/gateway.js';
import { createLogger, logEvents } from '../log.js';
import { GatehouseError } from '../errors.js';
import { nativeRelayStatus, pinNativeRelay } from '../session/native-relay.js';
import { createMetricsRegistry, serveMetrics, type MetricsServer } from '../metrics/index.js';

export interface ServeHandle {
  gateway: Gateway;
  addresses: ListenAddress[];
  /** The /metrics endpoint, when metrics.listen is set. */
  metrics: MetricsServer | null;
  /** Resolves when the gateway has shut down. */
  stopped: Promise<void>;
}

/** The TLS engine the loaded state uses (`auto` resolved), for the start-up log. */
function tlsEngineInUse(state: Gateway['state']): string {
  const set = state.config.tls_engine;
  if (!state.tls) return `${set} (no tls section)`;
  const used = state.tls.native ? 'native' : 'node';
  return set === 'auto' ? `auto: ${used}` : used;
}

/** Starts the gateway and installs signal handlers. Rejects when the config does not load. */
export async function startServe(configPath: string, opts: { signals?: boolean } = {}): Promise<ServeHandle> {
  const gateway = new Gateway(configPath);
  const log = createLogger(gateway.state.config.log.level);
  logEvents(gateway.events, log);
  const engine = gateway.state.config.relay_engine;
  const native = nativeRelayStatus();
  if (engine === 'native' && !native.available) {
    throw new GatehouseError('GH_CONFIG_INVALID', `relay_engine is native but the ${native.detail} (run npm install with a C compiler, or set relay_engine: auto)`, 'relay_engine');
  }
  if (gateway.state.config.transaction_engine === 'native' && !native.available) {
    throw new GatehouseError('GH_CONFIG_INVALID', `transaction_engine is native but the ${native.detail} (run npm install with a C compiler, or set transaction_engine: node)`, 'transaction_engine');
  }
  const cpus = gateway.state.config.relay_cpus;
  if (cpus.length > 0) {
    if ((engine === 'node' && gateway.state.config.transaction_engine === 'node') || !native.available) {
      log.warn({ relay_cpus: cpus }, `relay_cpus is ignored: ${engine === 'node' ? 'relay_engine is node' : native.detail}`);
    } else {
      const refused = pinNativeRelay(cpus);
      if (refused) throw new GatehouseError('GH_CONFIG_INVALID', `the native relay's thread cannot run on CPUs ${cpus.join(', ')}: ${refused} (see taskset -pc $$ for the CPUs this process may use)`, 'relay_cpus');
    }
  }
  await gateway.openAudit(log);
  const addresses = await gateway.listen().catch(async (e: unknown) => {
    await gateway.audit.close();
    throw e;
  });
  const metrics = await startMetrics(gateway);
  log.info({ listen: addresses.map((a) => a.where), metrics: gateway.state.config.metrics.listen,
    hba: gateway.state.config.hba, rules: gateway.state.hba.rules.length,
    relay_engine: engine === 'node' ? 'node (JavaScript relay)' : native.detail, tls_engine: tlsEngineInUse(gateway.state),
    transaction_engine: gateway.state.config.transaction_engine }, 'gatehouse is ready');
  // Whoever stops the gateway (a signal or the console's SHUTDOWN), the process ends after it.
  const stopped = gateway.stopped.then(async () => {
    await metrics?.close();
    log.info('gatehouse stopped');
    log.flush();
  });
  const stop = (mode: 'smart' | 'fast'): void => {
    log.info({ mode }, mode === 'smart' ? 'received SIGTERM: waiting for sessions to end' : 'received SIGINT: ending sessions');
    void gateway.shutdown(mode);
  };
  if (opts.signals !== false) {
    process.on('SIGHUP', () => gateway.reload());
    process.on('SIGTERM', () => stop('smart'));
    process.on('SIGINT', () => stop('fast'));
  }
  return { gateway, addresses, metrics, stopped };
}

/** Serves /metrics when metrics.listen is set (off by default); a failure to bind stops the start. */
async function startMetrics(gateway: Gateway): Promise<MetricsServer | null> {
  const listen = gateway.state.config.metrics.listen;
  if (!listen) return null;
  const { registry } = createMetricsRegistry(gateway.events, gateway.view);
  gateway.audit.announce();
  try {
    return await serveMetrics(listen, registry);
  } catch (e) {
    await gateway.shutdown('fast');
    throw e;
  }
}

/** Runs until a signal stops the gateway. */
export async function runServe(configPath: string): Promise<void> {
  const h = await startServe(configPath);
  await h.stopped;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the gateway in front of PostgreSQL (foreground; SIGHUP reloads, SIGTERM drains, SIGINT ends sessions); ' +
      'with `audit.sinks` it writes the audit log (docs/audit-log.md)')
    .requiredOption('-c, --config <file>', 'YAML configuration file (see docs/configuration.md)')
    .action(async (o: { config: string }) => {
      await runServe(o.config);
      // Everything is closed; do not wait for stray handles (a client socket's last unref'd timer).
      process.exit(0);
    });
}
