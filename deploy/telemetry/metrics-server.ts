/**
 * Serves `GET /metrics` (Prometheus text format) on a process's own port, apart from any
 * port it serves users on: scraping needs no API key and exposes nothing to tenants.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config, ProcessRole } from '../config.js';
import type { Logger } from '../logger.js';
import { collectProcessMetrics, registry } from './metrics.js';

export interface MetricsServer {
  /** The port it listens on (0 when metrics are off for this process). */
  port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(config: Config, role: ProcessRole, log: Logger): Promise<MetricsServer> {
  collectProcessMetrics(role);
  const port = config.telemetry.metricsPorts[role];
  if (port === 0) return { port: 0, close: () => Promise.resolve() };
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: unknown) => {
        log.error({ err }, 'metrics collection failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, config.host, () => resolve());
  });
  // Scrapes are short; an idle keep-alive connection must not hold shutdown up.
  server.keepAliveTimeout = 1_000;
  const bound = (server.address() as AddressInfo).port;
  log.info({ metricsPort: bound }, 'metrics served');
  return {
    port: bound,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
