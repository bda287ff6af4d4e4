/**
 * Process entrypoint for the provider simulators: a Deepgram-compatible server on
 * `PROVIDER_SIM_DEEPGRAM_PORT` (default 8091) and an OpenAI-compatible one on
 * `PROVIDER_SIM_OPENAI_PORT` (default 8092), both on `KICKCALL_HOST`.
 *
 *   npx tsx workers/provider-simulators.ts
 *   curl http://127.0.0.1:8091/health    # → ok
 *
 * SIGTERM/SIGINT: stop accepting, close open streams (WebSockets get 1001), exit 0.
 */
import { loadConfig } from '../deploy/config.js';
import { createLogger } from '../deploy/logger.js';
import { startProviderSimulators } from '../media/simulators/index.js';
import { startMetricsServer } from '../deploy/telemetry/metrics-server.js';

// The simulators need no LiveKit secrets; do not fail before the stack has made them.
const config = loadConfig(process.env, { requireSecrets: false });
const logger = createLogger('provider-simulators', config.logLevel);

const simulators = await startProviderSimulators({
  host: config.host,
  deepgramPort: config.providers.simulator.deepgramPort,
  openaiPort: config.providers.simulator.openaiPort,
  logger,
});
const metricsServer = await startMetricsServer(config, 'provider-sim', logger);
logger.info({ deepgramUrl: simulators.deepgram.url, openaiUrl: simulators.openai.url }, 'provider simulators ready');

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'provider simulators stopping');
  // A stuck client must not keep the process from exiting.
  const force = setTimeout(() => {
    logger.warn('provider simulators forced to exit');
    process.exit(1);
  }, 5000);
  force.unref();
  try {
    await simulators.close();
    await metricsServer.close();
    logger.info('provider simulators stopped');
  } finally {
    clearTimeout(force);
  }
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    shutdown(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'provider simulators failed to stop cleanly');
        process.exit(1);
      },
    );
  });
}
