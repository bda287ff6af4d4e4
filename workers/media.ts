/**
 * The media worker: a LiveKit Agents server that takes call jobs by explicit dispatch
 * only (its agent name), one forked process per call (`media/agent/entry.ts`).
 *
 * Load is the number of calls it carries against `MEDIA_MAX_CONCURRENT_CALLS`, not CPU:
 * on a small box the default CPU threshold would mark the worker full at the first call.
 *
 * SIGTERM drains: no new jobs; running calls may finish for `MEDIA_DRAIN_TIMEOUT_MS`;
 * calls still running after that are handed back (each job publishes `agent.left` with
 * reason `drained`, and its call workflow dispatches a replacement agent).
 */
import { fileURLToPath } from 'node:url';
import { AgentServer, ServerOptions, initializeLogger } from '@livekit/agents';
import { ConfigError, loadConfig, type Config } from '../deploy/config.js';
import { assertJobMainHonoured, forkedJob, jobMainVariable, localEotVariable, type ForkedJob } from '../deploy/module-paths.js';
import { createLogger } from '../deploy/logger.js';
import { measureActiveCalls, metrics } from '../deploy/telemetry/metrics.js';
import { startMetricsServer } from '../deploy/telemetry/metrics-server.js';

/**
 * The job entry, compiled when this worker is (deploy/build.ts), so job processes need no
 * TypeScript loader: then bundled with the framework's job main, which loads it faster.
 */
const ourJob = forkedJob(import.meta.url, '../media/agent/entry');

export function createMediaServer(
  config: Config,
  opts: {
    port?: number;
    production?: boolean;
    idleProcesses?: number;
    /** The job entry to fork; the benchmark swaps in a bare agent to measure our layer. */
    job?: ForkedJob;
  } = {},
): AgentServer {
  initializeLogger({ pretty: false, level: config.logLevel === 'silent' ? 'fatal' : config.logLevel });
  const maxCalls = config.media.maxConcurrentCalls;
  const job = opts.job ?? ourJob;
  // Read by the patched framework whenever it forks a job process, so one value per
  // process: servers forking different job mains cannot share one.
  const current = process.env[jobMainVariable];
  if (current !== undefined && current !== (job.jobMainPath ?? '')) {
    throw new ConfigError('a media server cannot share this process', [`it already forks job processes from ${current || "the framework's own job main"}, this one would fork ${job.jobMainPath ?? "the framework's own"}`]);
  }
  if (job.jobMainPath) {
    assertJobMainHonoured();
    process.env[jobMainVariable] = job.jobMainPath;
  }
  // Turns are detected by VAD alone (media/agent/session.ts): the end-of-turn model's
  // process would hold about 330 MB and spend 1-2 CPU s starting, for nothing.
  process.env[localEotVariable] = 'off';
  return new AgentServer(
    new ServerOptions({
      agent: job.agentPath,
      agentName: config.media.agentName,
      wsURL: config.livekit.wsUrl,
      apiKey: config.livekit.apiKey,
      apiSecret: config.livekit.apiSecret,
      // Production mode keeps warm processes so a greeting is not delayed by a fork.
      production: opts.production ?? true,
      numIdleProcesses: opts.idleProcesses ?? config.media.idleProcesses,
      port: opts.port ?? config.media.httpPort,
      host: config.host,
      loadFunc: (server) => Promise.resolve(server.activeJobs.length / maxCalls),
      loadThreshold: 1,
      drainTimeout: config.media.drainTimeoutMs,
      initializeProcessTimeout: 30_000,
      // After the drain, a job has this long to hand its call back (publish agent.left,
      // leave the room) before its process is killed. The framework's 60 s default also
      // applied to warm processes still starting at close, which never answer it.
      shutdownProcessTimeout: 10_000,
    }),
  );
}

/** Feeds the worker's metrics: the active-call gauge, and each new job counted once. */
function instrument(server: AgentServer): () => void {
  measureActiveCalls('media', () => server.activeJobs.length);
  const seen = new Set<string>();
  const timer = setInterval(() => {
    const running = new Set(server.activeJobs.map((j) => j.job.id));
    for (const id of running) if (!seen.has(id)) metrics.mediaJobs.inc();
    seen.clear();
    for (const id of running) seen.add(id);
  }, 1_000);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Drains, then closes: running jobs get a shutdown request and hand their calls back.
 * Known framework behaviour (agents 1.9): a warm process still starting up when `close`
 * runs misses its shutdown request and is killed after `shutdownProcessTimeout` (10 s
 * here). No call is lost (it had none), but shutdown can take that long with idle processes.
 */
export async function stopMediaServer(server: AgentServer, drainTimeoutMs: number): Promise<void> {
  await server.drain(drainTimeoutMs).catch(() => undefined);
  await server.close();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const config = loadConfig();
  const log = createLogger('media-worker', config.logLevel);
  const server = createMediaServer(config);
  const metricsServer = await startMetricsServer(config, 'media-worker', log);
  const stopInstrumenting = instrument(server);
  server.event.on('worker_registered', (workerId: string) => log.info({ workerId, agentName: config.media.agentName }, 'media worker registered'));
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log.info({ signal, activeCalls: server.activeJobs.length, drainTimeoutMs: config.media.drainTimeoutMs }, 'media worker draining');
      void stopMediaServer(server, config.media.drainTimeoutMs).then(async () => {
        stopInstrumenting();
        await metricsServer.close();
        log.info('media worker stopped');
        process.exit(0);
      });
    });
  }
  await server.run();
}
