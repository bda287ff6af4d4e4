/**
 * The HTTP API: one Fastify app built from injected clients, so tests run it in-process
 * against the real stack. It serves health, the LiveKit webhook receiver, the integrator
 * API (`/v1/...`, every route through the pipeline in pipeline.ts), its OpenAPI
 * document at `/v1/openapi.json`, and the operations console at `/console/`.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { ConfigError, type Config } from '../deploy/config.js';
import type { Db } from '../deploy/db/schema.js';
import type { Logger } from '../deploy/logger.js';
import { metrics } from '../deploy/telemetry/metrics.js';
import { consoleRoutes } from './console/routes.js';
import { liveKitWebhookRoutes } from './livekit-webhook.js';
import { buildOpenApiDocument, openApiPath } from './openapi.js';
import { auditHook, mountRoute } from './pipeline.js';
import { problem, sendProblem, type Problem } from './problem.js';
import { createRateLimiter } from './rate-limit.js';
import type { RouteSpec } from './route.js';
import { v1Routes } from './v1/index.js';

export const apiVersion = '1.0.0';

/** Largest request body the API reads, in bytes. */
export const bodyLimitBytes = 1024 * 1024;

export interface ApiDeps {
  config: Config;
  temporal: Client;
  db: Db;
  /** Rate-limit counters, shared by every API process. */
  redis: Redis;
  log: Logger;
  /**
   * Where workflows the API starts run. Default `config.temporal.taskQueue`, the queue the
   * orchestration worker polls (`kickcall-orchestration` unless TEMPORAL_TASK_QUEUE says otherwise).
   */
  taskQueue?: string;
  /** How long a request may wait on Temporal before it is answered 503, in ms. Default 5000. */
  temporalTimeoutMs?: number;
}

/** Client errors Fastify raises itself (body too large, bad media type, bad JSON) as problems. */
function clientProblem(err: FastifyError, status: number): Problem {
  if (status === 413) return problem('payload-too-large', 413, 'Payload too large', `Bodies are limited to ${bodyLimitBytes} bytes.`);
  if (status === 415) return problem('unsupported-media-type', 415, 'Unsupported media type', err.message);
  return problem('bad-request', status, 'Bad request', err.message);
}

export function createApiServer(deps: ApiDeps): FastifyInstance {
  const { erasureKey } = deps.config.api;
  if (!erasureKey) {
    throw new ConfigError('Missing secrets', [
      `KICKCALL_ERASURE_KEY: required by the API (erasure records are keyed by it)${deps.config.profile === 'local' ? `; run npm run stack:up to add it to ${deps.config.paths.secretsFile}` : ''}`,
    ]);
  }
  const app = Fastify({
    logger: false,
    bodyLimit: bodyLimitBytes,
    genReqId: () => randomUUID(),
    // Call IDs name tenant, campaign, contact and attempt: up to about 130 characters.
    routerOptions: { maxParamLength: 300 },
    // The router's own refusals (a broken percent-escape, an over-long segment) name nothing.
    frameworkErrors: (_err, request, reply) => {
      void sendProblem(reply, problem('not-found', 404, 'Not found', `${request.method} ${request.url.split('?')[0]?.slice(0, 200)} names nothing.`));
    },
    // Requests too broken to route (headers or URL past Node's limits) still get a problem.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const [status, title] = err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request header fields too large'] : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request timeout'] : [400, 'Bad request'];
      const body = JSON.stringify(problem(status === 431 ? 'headers-too-large' : 'bad-request', status, title, status === 431 ? 'The URL and headers together exceed 16 KiB.' : undefined));
      if (socket.writable) socket.write(`HTTP/1.1 ${status} ${title}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/problem+json\r\nConnection: close\r\n\r\n${body}`);
      socket.destroy(err);
    },
  });
  // JSON only; anything else a route does not take explicitly is refused with 415.
  app.removeContentTypeParser('text/plain');
  app.get('/health', (_req, reply) => reply.type('text/plain').send('ok'));
  // Route templates, never raw URLs, label the request metrics: IDs stay out of labels.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.apiRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.apiDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    done();
  });
  const taskQueue = deps.taskQueue ?? deps.config.temporal.taskQueue;
  const routes: RouteSpec[] = v1Routes({ db: deps.db, temporal: deps.temporal, taskQueue, webhookAllowPrivateUrls: deps.config.api.webhookAllowPrivateUrls, erasureKey, prices: deps.config.prices, log: deps.log });
  const openApi = buildOpenApiDocument(routes, { serverUrl: deps.config.api.publicUrl, version: apiVersion });
  app.get(openApiPath, (_req, reply) => reply.send(openApi));
  void app.register((v1, _opts, done) => {
    // CSV uploads reach their route as a stream, counted and capped there.
    v1.addContentTypeParser('text/csv', (_req, payload, done) => done(null, payload));
    const pipelineDeps = { db: deps.db, rateLimit: createRateLimiter(deps.redis, deps.config.api.rateLimits), log: deps.log, temporal: deps.temporal, temporalTimeoutMs: deps.temporalTimeoutMs ?? 5000 };
    auditHook(v1, pipelineDeps);
    for (const route of routes) mountRoute(v1, route, pipelineDeps);
    done();
  });
  void app.register(liveKitWebhookRoutes, {
    temporal: deps.temporal,
    apiKey: deps.config.livekit.apiKey,
    apiSecret: deps.config.livekit.apiSecret,
    taskQueue,
    log: deps.log,
    ...(deps.temporalTimeoutMs === undefined ? {} : { temporalTimeoutMs: deps.temporalTimeoutMs }),
  });
  // The operations console: static pages that use the /v1 API above with the operator's key.
  void app.register(consoleRoutes, { temporalUiUrl: deps.config.temporal.uiUrl, namespace: deps.config.temporal.namespace });
  app.setNotFoundHandler((request, reply) => sendProblem(reply, problem('not-found', 404, 'Not found', `${request.method} ${request.url} is not a Kickcall route.`)));
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) return sendProblem(reply, clientProblem(err, status));
    deps.log.error({ err, method: request.method, route: request.routeOptions.url }, 'request failed');
    return sendProblem(reply, problem('internal', 500, 'Internal error'));
  });
  return app;
}
