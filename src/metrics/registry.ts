/**
 * The Prometheus registry of one gateway, and the hook other modules use to add their metrics to
 * it ({@link registerMetrics}). The core never imports this folder: metrics subscribe to the
 * gateway's events and read its {@link GatewayView} at scrape time (DESIGN.md).
 */
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { GatewayEvents } from '../events.js';
import type { GatewayView } from '../admin/view.js';
import { addEventMetrics } from './event-metrics.js';
import { addViewMetrics } from './view-metrics.js';
import { addGuardMetrics } from './guard-metrics.js';
import { addAuditMetrics } from './audit-metrics.js';

/** Adds metrics to a gateway's registry: create them with `registers: [registry]`, feed them from `events` or `view`. */
export type MetricsPlugin = (registry: Registry, events: GatewayEvents, view: GatewayView) => void;

const plugins: MetricsPlugin[] = [];
const live = new Set<{ registry: Registry; events: GatewayEvents; view: GatewayView }>();

/**
 * Registers more metrics on every gateway registry, those created before and after the call
 * (e.g. the guard's `gatehouse_guard_rejected_total`). Names must start with `gatehouse_`.
 */
export function registerMetrics(plugin: MetricsPlugin): void {
  plugins.push(plugin);
  for (const m of live) plugin(m.registry, m.events, m.view);
}

/** A registry fed by `events` and `view`, with every registered plugin applied. `dispose()` detaches it. */
export function createMetricsRegistry(events: GatewayEvents, view: GatewayView): { registry: Registry; dispose(): void } {
  const registry = new Registry();
  // Process CPU, memory, file descriptors, event-loop lag and GC, prefixed gatehouse_.
  collectDefaultMetrics({ register: registry, prefix: 'gatehouse_' });
  const detach = addEventMetrics(registry, events);
  const detachGuard = addGuardMetrics(registry, events, view);
  const detachAudit = addAuditMetrics(registry, events);
  addViewMetrics(registry, view);
  const entry = { registry, events, view };
  live.add(entry);
  for (const p of plugins) p(registry, events, view);
  return {
    registry,
    dispose() {
      detach();
      detachGuard();
      detachAudit();
      live.delete(entry);
    },
  };
}
