/**
 * An in-process media worker for a test: its health port taken from below the kernel's
 * ephemeral range, and its start raced against its failure. Waiting for
 * `worker_registered` alone hung the whole file until the runner's timeout when the
 * server could not start (a port already taken): the event never comes and nothing said why.
 */
import { once } from 'node:events';
import type { AgentServer } from '@livekit/agents';
import { createMediaServer, stopMediaServer } from '../../workers/media.js';
import { config } from './env.js';
import { freeListenPorts } from './ports.js';

export interface TestMediaServer {
  server: AgentServer;
  /** Drains the worker (hands live calls back) and waits for it to end. */
  stop(drainTimeoutMs?: number): Promise<void>;
}

export async function startTestMediaServer(agentName: string, opts: { idleProcesses: number }): Promise<TestMediaServer> {
  const [port] = await freeListenPorts(config.host, 1);
  const server = createMediaServer({ ...config, media: { ...config.media, agentName } }, { port, production: false, idleProcesses: opts.idleProcesses });
  const registered = once(server.event, 'worker_registered');
  const running = server.run();
  const failed = running.then(
    () => Promise.reject(new Error(`media worker ${agentName} ended before it registered`)),
    (cause: unknown) => Promise.reject(new Error(`media worker ${agentName} failed to start on port ${port}`, { cause })),
  );
  failed.catch(() => undefined); // after registration, the normal end at stop() is no failure
  await Promise.race([registered, failed]);
  return {
    server,
    async stop(drainTimeoutMs = 5_000) {
      await stopMediaServer(server, drainTimeoutMs);
      await running;
    },
  };
}

/** A free port, as a string for a child process's environment. */
export async function freePortForChild(): Promise<string> {
  const [port] = await freeListenPorts(config.host, 1);
  return String(port);
}
