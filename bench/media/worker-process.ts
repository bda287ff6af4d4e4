/**
 * A media worker for the benchmark, in a process of its own so its process tree (this
 * process and the job processes it forks) can be measured apart from the simulated
 * callers. Started by `run.ts` with `fork`; talks to it over the IPC channel.
 *
 * argv: <variant: ours|bare> <agentName> <httpPort> <maxConcurrentCalls>
 *
 * `ours` is exactly `createMediaServer` from workers/media.ts; `bare` builds the same
 * ServerOptions around `bench/bare-agent.ts`.
 */
import { fileURLToPath } from 'node:url';
import { AgentServer, ServerOptions, initializeLogger } from '@livekit/agents';
import { loadConfig, type Config } from '../../deploy/config.js';
import { createMediaServer, stopMediaServer } from '../../workers/media.js';
import { variants, workerShape, type RunnerMessage, type Variant, type WorkerMessage } from './worker-protocol.js';

const bareEntryPath = fileURLToPath(new URL('../bare-agent.ts', import.meta.url));

/** The same ServerOptions as `createMediaServer`, around the bare agent. */
function createBareServer(config: Config, port: number): AgentServer {
  initializeLogger({ pretty: false, level: config.logLevel === 'silent' ? 'fatal' : config.logLevel });
  const maxCalls = config.media.maxConcurrentCalls;
  return new AgentServer(
    new ServerOptions({
      agent: bareEntryPath,
      agentName: config.media.agentName,
      wsURL: config.livekit.wsUrl,
      apiKey: config.livekit.apiKey,
      apiSecret: config.livekit.apiSecret,
      production: workerShape.production,
      numIdleProcesses: workerShape.idleProcesses,
      port,
      host: config.host,
      loadFunc: (server) => Promise.resolve(server.activeJobs.length / maxCalls),
      loadThreshold: 1,
      drainTimeout: config.media.drainTimeoutMs,
      initializeProcessTimeout: 30_000,
    }),
  );
}

function send(message: WorkerMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const [variant, agentName, port, maxCalls] = process.argv.slice(2);
  if (!variants.includes(variant as Variant) || !agentName || !port || !maxCalls) {
    throw new Error('usage: worker-process.ts <ours|bare> <agentName> <httpPort> <maxConcurrentCalls>');
  }
  const base = loadConfig();
  const config: Config = { ...base, media: { ...base.media, agentName, maxConcurrentCalls: Number(maxCalls) } };
  const server =
    variant === 'ours' ? createMediaServer(config, { port: Number(port), ...workerShape }) : createBareServer(config, Number(port));
  server.event.once('worker_registered', () => send({ type: 'registered' }));

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await stopMediaServer(server, 10_000);
    send({ type: 'stopped' });
    process.disconnect?.();
  };
  process.on('message', (m: RunnerMessage) => {
    if (m.type === 'status') send({ type: 'status', activeJobs: server.activeJobs.length });
    if (m.type === 'stop') void stop();
  });
  // The benchmark going away must not leave a worker registered.
  process.once('disconnect', () => void stop().finally(() => process.exit(0)));
  await server.run();
}

main().catch((err: unknown) => {
  send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  process.exitCode = 1;
});
