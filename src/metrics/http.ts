/**
 * The metrics endpoint: Prometheus text at GET /metrics on `metrics.listen`, 404 for any other
 * path, 405 for other methods. Plain HTTP; keep it on a loopback or management address.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { GatehouseError } from '../errors.js';

/** Splits `host:port` or `[v6]:port`. */
export function parseHostPort(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) throw new GatehouseError('GH_METRICS_LISTEN', `invalid address "${value}": use host:port`, 'metrics.listen');
  return { host: m[1] ?? m[2]!, port };
}

export interface MetricsServer {
  address: { host: string; port: number };
  close(): Promise<void>;
}

export async function serveMetrics(listen: string, registry: Registry): Promise<MetricsServer> {
  const { host, port } = parseHostPort(listen);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new GatehouseError('GH_METRICS_LISTEN', `could not listen on ${listen}: ${e.message}`, 'metrics.listen')));
    server.listen({ host, port }, resolve);
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  return {
    address: { host, port: bound },
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
