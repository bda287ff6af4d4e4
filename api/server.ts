/**
 * The HTTP API: one Fastify app built from injected clients, so tests run it in-process
 * against the real stack. Today it serves health and the LiveKit webhook receiver; the
 * integrator API (`/v1/...`) grows here.
 */
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from '../deploy/config.js';
import type { Logger } from '../deploy/logger.js';
import { registerLiveKitWebhook } from './livekit-webhook.js';
import { problem, sendProblem } from './problem.js';

export interface ApiDeps {
  config: Config;
  temporal: Client;
  log: Logger;
  /** Where workflows the API starts run. Default the configured orchestration queue. */
  taskQueue?: string;
}

export function createApiServer(deps: ApiDeps): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  app.get('/health', (_req, reply) => reply.type('text/plain').send('ok'));
  registerLiveKitWebhook(app, {
    temporal: deps.temporal,
    apiKey: deps.config.livekit.apiKey,
    apiSecret: deps.config.livekit.apiSecret,
    taskQueue: deps.taskQueue ?? deps.config.temporal.taskQueue,
    log: deps.log,
  });
  app.setNotFoundHandler((request, reply) => sendProblem(reply, problem('not-found', 404, 'Not found', `${request.method} ${request.url} is not a Kickcall route.`)));
  app.setErrorHandler((err: Error & { statusCode?: number }, _request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) deps.log.error({ err }, 'request failed');
    return sendProblem(reply, problem(status === 500 ? 'internal' : 'bad-request', status, status === 500 ? 'Internal error' : 'Bad request', status === 500 ? undefined : err.message));
  });
  return app;
}
