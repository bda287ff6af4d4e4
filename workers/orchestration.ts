/**
 * The orchestration worker: runs Kickcall's workflows and activities. Clients are made
 * once here and handed to the activity factories. SIGINT/SIGTERM make the Temporal
 * runtime stop polling and let running activities finish; then connections close.
 */
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { RoomServiceClient } from 'livekit-server-sdk';
import { loadConfig, type Config } from '../deploy/config.js';
import { createLogger } from '../deploy/logger.js';
import { createTelephonyActivities } from '../activities/telephony.js';
import { createGatewayDialer } from '../activities/sip-gateway-dialer.js';

/** The task queue orchestration workers poll. Names a role, never a tenant or a number. */
export const orchestrationTaskQueue = 'kickcall-orchestration';

/** Builds the worker and its clients; the caller runs it and then calls `close`. */
export async function createOrchestrationWorker(
  config: Config,
  opts: { taskQueue?: string } = {},
): Promise<{ worker: Worker; close: () => Promise<void> }> {
  const rooms = new RoomServiceClient(config.livekit.httpUrl, config.livekit.apiKey, config.livekit.apiSecret);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  try {
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: opts.taskQueue ?? orchestrationTaskQueue,
      workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)),
      activities: createTelephonyActivities({ rooms, dialer: createGatewayDialer(config.sip.controlUrl) }),
    });
    return { worker, close: () => connection.close() };
  } catch (err) {
    await connection.close();
    throw err;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const config = loadConfig();
  const log = createLogger('orchestration', config.logLevel);
  const { worker, close } = await createOrchestrationWorker(config);
  try {
    log.info({ taskQueue: worker.options.taskQueue }, 'orchestration worker polling');
    await worker.run();
    log.info('orchestration worker stopped');
  } finally {
    await close();
  }
}
