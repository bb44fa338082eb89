/** Prometheus metrics for gatehouse (docs/metrics.md). */
export { createMetricsRegistry, registerMetrics, type MetricsPlugin } from './registry.js';
export { serveMetrics, parseHostPort, type MetricsServer } from './http.js';
