/** Counters fed by the gateway's events: authentication attempts, reloads and errors. */
import { Counter, type Registry } from 'prom-client';
import type { ConnectionEvent, GatewayEvents, ReloadEvent } from '../events.js';

/** The SQLSTATE class: its first two characters (PostgreSQL's errcodes.txt classes). */
const sqlstateClass = (sqlstate: string): string => sqlstate.slice(0, 2);

export function addEventMetrics(registry: Registry, events: GatewayEvents): () => void {
  const auth = new Counter({
    name: 'gatehouse_auth_attempts_total',
    help: 'Client authentication attempts that reached an hba line, by method and outcome (success, failure, abandoned).',
    labelNames: ['method', 'outcome'] as const,
    registers: [registry],
  });
  const reloads = new Counter({
    name: 'gatehouse_reloads_total',
    help: 'Configuration reloads (SIGHUP or RELOAD), by outcome (success, failure).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'gatehouse_errors_total',
    help: 'Errors sent to clients, by SQLSTATE class: gatehouse\'s own (connection failures, console errors) and those relayed from servers.',
    labelNames: ['sqlstate_class', 'source'] as const,
    registers: [registry],
  });
  const onConnection = (e: ConnectionEvent): void => {
    if (e.method !== undefined && e.outcome !== 'cancel') {
      const outcome = e.authenticated ? 'success' : e.outcome === 'abandoned' ? 'abandoned' : 'failure';
      auth.inc({ method: e.method, outcome });
    }
    if (e.sqlstate !== undefined) errors.inc({ sqlstate_class: sqlstateClass(e.sqlstate), source: 'gatehouse' });
  };
  const onReload = (e: ReloadEvent): void => reloads.inc({ outcome: e.ok ? 'success' : 'failure' });
  const onServerError = (e: { sqlstate: string }): void => errors.inc({ sqlstate_class: sqlstateClass(e.sqlstate), source: 'server' });
  const onConsoleError = (e: { sqlstate: string }): void => errors.inc({ sqlstate_class: sqlstateClass(e.sqlstate), source: 'gatehouse' });
  events.on('connection', onConnection);
  events.on('reload', onReload);
  events.on('server.error', onServerError);
  events.on('console.error', onConsoleError);
  return () => {
    events.off('connection', onConnection);
    events.off('reload', onReload);
    events.off('server.error', onServerError);
    events.off('console.error', onConsoleError);
  };
}
