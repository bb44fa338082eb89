/**
 * The guard's metrics (docs/guard.md): refusals at the door by reason, bans made, active bans,
 * handshakes in progress, classified connection failures, and the shared store's health.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ConnectionEvent, GatewayEvents, GatewayEventMap } from '../events.js';
import type { GatewayView } from '../admin/view.js';
import { classifyFailure } from '../net/guard/classify.js';

export function addGuardMetrics(registry: Registry, events: GatewayEvents, view: GatewayView): () => void {
  const rejected = new Counter({
    name: 'gatehouse_guard_rejected_total',
    help: 'Connections closed at accept time by the guard, by reason (denied, not allowed, banned, rate, connections, handshakes, global handshakes).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const bans = new Counter({
    name: 'gatehouse_guard_bans_total',
    help: 'Bans made, by who made them (failures, admin, store: learnt from another instance).',
    labelNames: ['by'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'gatehouse_bans_active',
    help: 'Active bans: the rows of SHOW BANS (banned addresses and roles locked by lock_role_after).',
    registers: [registry],
    collect() {
      this.set(view.guard().bans().length);
    },
  });
  new Gauge({
    name: 'gatehouse_handshakes_in_progress',
    help: 'Unauthenticated connections in progress (TLS, startup, authentication), the number guard.max_handshakes caps.',
    registers: [registry],
    collect() {
      this.set(view.guard().handshakesInProgress);
    },
  });
  const failures = new Counter({
    name: 'gatehouse_auth_failures_total',
    help: 'Failed connections that count against their source, by hba method (none before an hba line matched) and reason (auth, hba, protocol).',
    labelNames: ['method', 'reason'] as const,
    registers: [registry],
  });
  const storeErrors = new Counter({
    name: 'gatehouse_guard_store_errors_total',
    help: 'Failed operations on the guard\'s shared store (redis) or its state file.',
    labelNames: ['store'] as const,
    registers: [registry],
  });
  const storeUp = new Gauge({
    name: 'gatehouse_guard_store_up',
    help: '1 while the Redis store is reachable, 0 while the guard runs on local state alone (absent with store: memory).',
    registers: [registry],
  });
  const onGuard = (e: GatewayEventMap['guard'][0]): void => rejected.inc({ reason: e.reason });
  const onBan = (e: GatewayEventMap['guard.ban'][0]): void => bans.inc({ by: e.by });
  const onConnection = (e: ConnectionEvent): void => {
    const kind = classifyFailure(e);
    if (kind) failures.inc({ method: e.method ?? 'none', reason: kind });
  };
  const onStore = (e: GatewayEventMap['guard.store'][0]): void => {
    if (e.state === 'error' || e.state === 'down') storeErrors.inc({ store: e.store });
    if (e.store === 'redis' && e.state !== 'error') storeUp.set(e.state === 'up' ? 1 : 0);
  };
  events.on('guard', onGuard);
  events.on('guard.ban', onBan);
  events.on('connection', onConnection);
  events.on('guard.store', onStore);
  return () => {
    events.off('guard', onGuard);
    events.off('guard.ban', onBan);
    events.off('connection', onConnection);
    events.off('guard.store', onStore);
  };
}
