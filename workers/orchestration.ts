/**
 * The orchestration worker: runs Kickcall's workflows and activities. Clients are made
 * once here and handed to the activity factories. The process also runs the webhook
 * outbox relay. SIGINT/SIGTERM make the Temporal runtime stop polling and let running
 * activities finish; then the relay stops and connections close.
 */
import { withErrorTaxonomy } from '../activities/error-taxonomy.js';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../deploy/nats.js';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { AgentDispatchClient, RoomServiceClient } from 'livekit-server-sdk';
import OpenAI from 'openai';
import { loadConfig, type Config } from '../deploy/config.js';
import { createDb } from '../deploy/db/schema.js';
import { createLogger } from '../deploy/logger.js';
import { startMetricsServer } from '../deploy/telemetry/metrics-server.js';
import { temporalWorkerTracing } from '../deploy/telemetry/temporal-tracing.js';
import { startTracing, type Tracing } from '../deploy/telemetry/tracing.js';
import { createAgentActivities } from '../activities/agent.js';
import { createAnalysisActivities } from '../activities/analysis.js';
import { createCallRecordActivities } from '../activities/call-records.js';
import { createCampaignActivities } from '../activities/campaign.js';
import { createCallStartActivities } from '../activities/call-starts.js';
import { createComplianceActivities } from '../activities/compliance.js';
import { createTelephonyActivities } from '../activities/telephony.js';
import { createGatewayDialer } from '../activities/sip-gateway-dialer.js';
import { createTelephonySimulator } from '../activities/telephony-simulator.js';
import { createWebhookActivities } from '../activities/webhooks.js';
import { createRetentionActivities } from '../activities/retention.js';
import { createStrandedAttemptActivities } from '../activities/stranded-attempts.js';
import { ensureRetentionSchedule, ensureStrandedAttemptsSchedule } from './schedules.js';
import { startWebhookRelay, type WebhookRelay } from './webhook-relay.js';

/** The task queue orchestration workers poll. Names a role, never a tenant or a number. */
export const orchestrationTaskQueue = 'kickcall-orchestration';

/** Every activity, built over the given clients: what the worker registers. */
export function createActivities(deps: {
  config: Config;
  rooms: RoomServiceClient;
  dispatch: AgentDispatchClient;
  nc: NatsConnection;
  db: ReturnType<typeof createDb>;
  openai: OpenAI;
  /** Starts campaign calls (`activities/call-starts.ts`). */
  temporal: Client;
  agentName?: string;
}) {
  const { config, nc, db, openai } = deps;
  // Load mode: the telephony simulator stands in for rooms, dispatch and SIP, nothing else.
  const sim = config.telephony.mode === 'simulated' ? createTelephonySimulator({
          nc,
          db,
          seed: config.telephony.seed,
          timeScale: config.telephony.timeScale,
          ...(config.telephony.distribution ? { distribution: config.telephony.distribution } : {}),
        }) : undefined;
  const rooms = sim?.rooms ?? deps.rooms;
  const dispatch = sim?.dispatch ?? deps.dispatch;
  const dialer = sim?.dialer ?? createGatewayDialer(config.sip.controlUrl);
  const campaigns = createCampaignActivities({ db, capacity: config.capacity, prices: config.prices });
  return withErrorTaxonomy({
    ...createTelephonyActivities({ rooms, dialer }),
    ...createAgentActivities({ dispatch, rooms, nc, agentName: deps.agentName ?? config.media.agentName }),
    ...createComplianceActivities({ db }),
    ...createCallRecordActivities({ db }),
    ...createAnalysisActivities({ db, openai, model: config.providers.openai.model }),
    ...campaigns,
    ...createStrandedAttemptActivities({ db, temporal: deps.temporal, campaigns, log: createLogger('stranded-attempts', config.logLevel) }),
    ...createCallStartActivities({ client: deps.temporal }),
    ...createWebhookActivities({ db, log: createLogger('webhooks', config.logLevel), allowPrivateAddresses: config.api.webhookAllowPrivateUrls }),
    ...createRetentionActivities({ db }),
  });
}

/** Builds the worker and its clients; the caller runs it and then calls `close`. */
export async function createOrchestrationWorker(
  config: Config,
  opts: {
    taskQueue?: string;
    agentName?: string;
    /**
     * Also run the deployment's background duties: the webhook outbox relay (starting
     * deliveries on this worker's queue), the daily retention schedule and the sweep for
     * campaign attempts left stranded. The process entrypoint turns it on; default off,
     * so a test's worker never takes another test's events.
     */
    deploymentDuties?: boolean;
    /** The process's tracing: when on, workflows and activities are traced. */
    tracing?: Tracing;
  } = {},
): Promise<{ worker: Worker; close: () => Promise<void> }> {
  const lk = [config.livekit.httpUrl, config.livekit.apiKey, config.livekit.apiSecret] as const;
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const nc = await connectNats(config.nats.url, 'kickcall-orchestration');
  const db = createDb(config.postgres.url);
  let relay: WebhookRelay | undefined;
  const close = async () => {
    await relay?.stop();
    await nc.drain();
    await db.destroy();
    await connection.close();
  };
  try {
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const activities = createActivities({
      config,
      temporal: client,
      rooms: new RoomServiceClient(...lk),
      dispatch: new AgentDispatchClient(...lk),
      nc,
      db,
      openai: new OpenAI({ baseURL: config.providers.openai.baseUrl, apiKey: config.providers.openai.apiKey, maxRetries: 1 }),
      ...(opts.agentName ? { agentName: opts.agentName } : {}),
    });
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: opts.taskQueue ?? orchestrationTaskQueue,
      // A worker that dies holds its workflows' cached state; after 3 s (not the default 10)
      // their next tasks go to any worker, so a crash costs a campaign seconds, not tens.
      stickyQueueScheduleToStartTimeout: '3 seconds',
      ...(config.temporal.workflowBundlePath
        ? { workflowBundle: { codePath: config.temporal.workflowBundlePath } }
        : { workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)) }),
      activities,
      ...(opts.tracing ? temporalWorkerTracing(opts.tracing, { prebuiltBundle: config.temporal.workflowBundlePath !== undefined }) : {}),
    });
    if (opts.deploymentDuties) {
      await ensureRetentionSchedule(client, worker.options.taskQueue);
      await ensureStrandedAttemptsSchedule(client, worker.options.taskQueue);
      relay = startWebhookRelay({
        db,
        client,
        taskQueue: worker.options.taskQueue,
        log: createLogger('webhook-relay', config.logLevel),
      });
    }
    return { worker, close };
  } catch (err) {
    await close();
    throw err;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const config = loadConfig();
  const log = createLogger('orchestration', config.logLevel);
  const tracing = startTracing(config, 'orchestration');
  const metricsServer = await startMetricsServer(config, 'orchestration', log);
  const { worker, close } = await createOrchestrationWorker(config, { taskQueue: config.temporal.taskQueue, deploymentDuties: config.deploymentDuties, tracing });
  try {
    log.info({ taskQueue: worker.options.taskQueue }, 'orchestration worker polling');
    await worker.run();
    log.info('orchestration worker stopped');
  } finally {
    await close();
    await metricsServer.close();
    await tracing.shutdown();
  }
}
