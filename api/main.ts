/**
 * The API process: `tsx api/main.ts`. Listens on API_PORT (8080); SIGTERM/SIGINT stop
 * taking requests, finish the ones in flight, then close the Temporal connection.
 */
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../deploy/config.js';
import { createLogger } from '../deploy/logger.js';
import { createApiServer } from './server.js';

const config = loadConfig();
const log = createLogger('api', config.logLevel);
const connection = await Connection.connect({ address: config.temporal.address });
const app = createApiServer({ config, temporal: new Client({ connection, namespace: config.temporal.namespace }), log });
await app.listen({ host: config.host, port: config.api.port });
log.info({ url: config.api.publicUrl }, 'api listening');

const stop = (signal: NodeJS.Signals) => {
  log.info({ signal }, 'api stopping');
  void app
    .close()
    .then(() => connection.close())
    .then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
