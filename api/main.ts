/**
 * The API process: `tsx api/main.ts` (in the stack: `npm run stack:up -- api`). Listens on
 * HOST:API_PORT (127.0.0.1:8080). SIGTERM/SIGINT stop taking requests and finish the ones
 * in flight, then the Temporal connection closes.
 */
import { Client, Connection } from '@temporalio/client';
import { Redis } from 'ioredis';
import { loadConfig } from '../deploy/config.js';
import { createDb } from '../deploy/db/schema.js';
import { createLogger } from '../deploy/logger.js';
import { startMetricsServer } from '../deploy/telemetry/metrics-server.js';
import { temporalClientInterceptors } from '../deploy/telemetry/temporal-tracing.js';
import { startTracing } from '../deploy/telemetry/tracing.js';
import { createApiServer } from './server.js';

const config = loadConfig();
const log = createLogger('api', config.logLevel);
const tracing = startTracing(config, 'api');
const metricsServer = await startMetricsServer(config, 'api', log);
const connection = await Connection.connect({ address: config.temporal.address });
const db = createDb(config.postgres.url);
const redis = new Redis({ host: config.host, port: config.redis.port, maxRetriesPerRequest: 2 });
const app = createApiServer({ config, temporal: new Client({ connection, namespace: config.temporal.namespace, interceptors: temporalClientInterceptors(tracing) }), db, redis, log });

async function shutdown(): Promise<void> {
  try {
    await app.close();
  } finally {
    await Promise.allSettled([connection.close(), db.destroy(), redis.quit(), metricsServer.close()]);
    await tracing.shutdown();
  }
}

try {
  await app.listen({ host: config.host, port: config.api.port });
} catch (err) {
  log.error({ err, port: config.api.port }, 'api could not listen');
  await shutdown();
  process.exit(1);
}
log.info({ url: config.api.publicUrl, taskQueue: config.temporal.taskQueue }, 'api listening');

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    log.info({ signal }, 'api stopping');
    shutdown().then(
      () => {
        log.info('api stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'api shutdown failed');
        process.exit(1);
      },
    );
  });
}
