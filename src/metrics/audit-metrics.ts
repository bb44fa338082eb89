/**
 * The audit log's metrics (docs/audit-log.md): records written and dropped per sink, failed writes,
 * and whether each sink is up. Fed by the `audit.sink` event; the writer never imports prom-client.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AuditSinkEvent, GatewayEvents } from '../events.js';

export function addAuditMetrics(registry: Registry, events: GatewayEvents): () => void {
  const written = new Counter({
    name: 'gatehouse_audit_records_written_total',
    help: 'Audit records a sink has taken (a pgaudit-format statement with log_relation counts one per line).',
    labelNames: ['sink'] as const,
    registers: [registry],
  });
  const dropped = new Counter({
    name: 'gatehouse_audit_records_dropped_total',
    help: 'Audit records a sink did not take: on_sink_failure drop_and_count while it was down, a full queue (queue_limit), or records left at shutdown.',
    labelNames: ['sink'] as const,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'gatehouse_audit_sink_errors_total',
    help: 'Failed writes or reopen attempts of an audit sink.',
    labelNames: ['sink'] as const,
    registers: [registry],
  });
  const up = new Gauge({
    name: 'gatehouse_audit_sink_up',
    help: '1 while an audit sink takes records, 0 while it is failing (set from its first transition or record).',
    labelNames: ['sink'] as const,
    registers: [registry],
  });
  const onSink = (e: AuditSinkEvent): void => {
    const labels = { sink: e.sink };
    switch (e.event) {
      case 'written':
        written.inc(labels, e.count ?? 0);
        up.set(labels, 1);
        break;
      case 'dropped':
        dropped.inc(labels, e.count ?? 0);
        break;
      case 'error':
        errors.inc(labels);
        break;
      case 'down':
        up.set(labels, 0);
        break;
      case 'up':
        up.set(labels, 1);
        break;
    }
  };
  events.on('audit.sink', onSink);
  return () => events.off('audit.sink', onSink);
}
