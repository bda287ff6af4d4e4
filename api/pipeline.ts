/**
 * What every `/v1` request goes through, in order: the API key (401), the rate limits
 * (429 with Retry-After), the role (403), params (404: a malformed ID names nothing),
 * query and body (400), the Idempotency-Key (replay, 409, 422), the handler in the
 * caller's tenant, and the audit log: every mutating request, and every read refused
 * 403 or 404, is recorded with who, what, when, from where and the result.
 */
import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { WorkflowUpdateFailedError, isGrpcServiceError, type Client } from '@temporalio/client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Db } from '../deploy/db/schema.js';
import type { Logger } from '../deploy/logger.js';
import { FailureType, InvalidInputError } from '../workflows/errors.js';
import { authenticate, roleAllows, type AuthFailure, type Principal } from './api-keys.js';
import { bodyDigest, claimIdempotencyKey, idempotencyKeyPattern, releaseIdempotencyKey, saveIdempotentResponse, type Claim } from './idempotency.js';
import { ApiProblem, problem, sendProblem, type Problem } from './problem.js';
import type { RateLimiter } from './rate-limit.js';
import type { RouteContext, RouteResult, RouteSpec } from './route.js';
import { withTenant } from './tenant-db.js';
import { SpanKind } from '@opentelemetry/api';
import { contextFromTraceparent, inSpan } from '../deploy/telemetry/tracing.js';

export interface PipelineDeps {
  db: Db;
  rateLimit: RateLimiter;
  log: Logger;
  /** Every call a JSON request makes to Temporal shares one deadline, so none hangs the request. */
  temporal?: Client;
  /** That deadline, from the handler's start, in ms. */
  temporalTimeoutMs?: number;
}

// gRPC status codes (grpc/status.proto) for a server that is down, or did not answer in time.
const grpcUnavailable = 14;
const grpcDeadlineExceeded = 4;

/**
 * Temporal did not answer (down, or not within the deadline). The request may or may not
 * have been applied there: a retry under the same key runs again, and the routes that
 * start workflows recognise their own earlier start (calls.ts, by the request in the memo).
 */
function temporalUnavailable(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (isGrpcServiceError(e) && (Number(e.code) === grpcUnavailable || Number(e.code) === grpcDeadlineExceeded)) return true;
  }
  return false;
}

interface AuditState {
  principal: Principal;
  resourceId?: string;
}
const audits = new WeakMap<FastifyRequest, AuditState>();

const authProblems: Record<AuthFailure, string> = {
  missing: 'Send an API key as `Authorization: Bearer kk_...`.',
  malformed: 'The Authorization header does not hold a Kickcall API key (`Bearer kk_<prefix>_<secret>`).',
  unknown: 'The API key is not known.',
  revoked: 'The API key was revoked.',
};

function validationProblem(where: string, error: z.ZodError): Problem {
  const errors = error.issues.map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message }));
  return problem('invalid-request', 400, 'Invalid request', errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
}

/** The problem a handler's error means, or undefined for a server fault. */
function problemOf(err: unknown): { problem: Problem; headers?: Record<string, string> } | undefined {
  if (err instanceof ApiProblem) return { problem: err.problem, headers: err.headers };
  if (temporalUnavailable(err)) {
    return { problem: problem('orchestration-unavailable', 503, 'Orchestration unavailable', 'Temporal did not answer in time; the request may or may not have been applied. Retry it with the same Idempotency-Key.'), headers: { 'retry-after': '1' } };
  }
  if (err instanceof InvalidInputError) return { problem: problem('invalid-request', 400, 'Invalid request', err.message) };
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause as { type?: string; message?: string } | undefined;
    if (cause?.type === FailureType.InvalidTransition) return { problem: problem('invalid-transition', 409, 'Invalid transition', cause.message) };
    if (cause?.type === FailureType.InvalidInput) return { problem: problem('invalid-request', 400, 'Invalid request', cause.message) };
  }
  return undefined;
}

/**
 * Raw bodies are counted and hashed as they stream. Past the limit the stream fails with
 * 413 while the rest of the upload is read and dropped, so the client gets the answer
 * instead of a reset connection.
 */
function meteredStream(source: Readable, maxBytes: number): { stream: Readable; digest: () => string } {
  const hash = createHash('sha256');
  let bytes = 0;
  const meter = new PassThrough();
  const onData = (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > maxBytes) {
      source.off('data', onData);
      source.resume();
      meter.destroy(new ApiProblem(problem('payload-too-large', 413, 'Payload too large', `Uploads are limited to ${maxBytes} bytes.`), { connection: 'close' }));
      return;
    }
    hash.update(chunk);
    if (!meter.write(chunk)) {
      source.pause();
      meter.once('drain', () => source.resume());
    }
  };
  source.on('data', onData);
  source.once('end', () => {
    if (!meter.destroyed) meter.end();
  });
  source.once('error', (err) => meter.destroy(err));
  return { stream: meter, digest: () => hash.copy().digest('hex') };
}

/**
 * Why PostgreSQL cannot store a string as text: a NUL character, or half of a UTF-16
 * surrogate pair (JSON's `"\\ud800"` parses to one, and it is not Unicode text at all).
 */
function unstorable(s: string): string | undefined {
  if (s.includes('\u0000')) return 'contains a NUL character';
  // In a /u pattern a well-formed pair is one code point above U+FFFF: only halves match.
  if (/[\uD800-\uDFFF]/u.test(s)) return 'contains an unpaired UTF-16 surrogate (not valid Unicode text)';
  return undefined;
}

/** The first string in a parsed query or JSON body that PostgreSQL could not store, and why. */
function unstorablePath(where: string, value: unknown, depth = 0): { path: string; message: string } | undefined {
  if (typeof value === 'string') {
    const message = unstorable(value);
    return message ? { path: where, message } : undefined;
  }
  // Parsed JSON only: plain objects and arrays (never a stream or other live object).
  if (value === null || typeof value !== 'object' || depth > 64) return undefined;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return undefined;
  for (const [k, v] of Object.entries(value)) {
    const keyMessage = unstorable(k);
    if (keyMessage) return { path: `${where}.${JSON.stringify(k).slice(1, -1)}`, message: `key ${keyMessage}` };
    const found = unstorablePath(`${where}.${k}`, v, depth + 1);
    if (found) return found;
  }
  return undefined;
}

class ClaimRefused extends Error {
  constructor(readonly claim: Exclude<Claim, { kind: 'claimed' }>) {
    super(claim.kind);
  }
}

function claimProblem(claim: Exclude<Claim, { kind: 'claimed' | 'replay' }>): Problem {
  return claim.kind === 'in-use'
    ? problem('idempotency-key-in-use', 409, 'Idempotency key in use', 'A request with this Idempotency-Key is still being processed; retry shortly.')
    : problem('idempotency-key-reused', 422, 'Idempotency key reused', 'This Idempotency-Key was used with a different request (method, path or body).');
}

/**
 * What a repeat of a request whose answer held a secret gets instead of that answer: the
 * secret is not kept anywhere it need not be (API keys are stored only as hashes).
 */
function secretReplay(result: RouteResult): { status: number; headers: Record<string, string>; body: string } {
  const id = (result.body as { id?: unknown } | undefined)?.id;
  const resourceId = typeof id === 'string' ? id : undefined;
  const p = problem(
    'secret-shown-once',
    409,
    'Secret shown once',
    `The first request with this Idempotency-Key succeeded${resourceId ? ` (${resourceId})` : ''}; the secret in its answer is shown only once and is not kept. If that answer was lost, revoke or rotate and ask again.`,
    resourceId ? { resourceId } : {},
  );
  return { status: 409, headers: { 'content-type': 'application/problem+json' }, body: JSON.stringify(p) };
}

export function mountRoute(app: FastifyInstance, route: RouteSpec, deps: PipelineDeps): void {
  const { db } = deps;
  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const principal = await authenticate(db, request.headers.authorization);
    if (typeof principal === 'string') {
      return sendProblem(reply.header('www-authenticate', 'Bearer'), problem('unauthorized', 401, 'Unauthorized', authProblems[principal]));
    }
    const audit: AuditState = { principal };
    audits.set(request, audit);
    const verdict = await deps.rateLimit(principal.tenantId, principal.keyId);
    if (!verdict.allowed) {
      reply.header('retry-after', String(Math.ceil(verdict.retryAfterMs / 1000)));
      return sendProblem(reply, problem('rate-limited', 429, 'Too many requests', `The ${verdict.limitedBy}'s request rate limit was reached.`));
    }
    if (!roleAllows(principal.role, route.role)) {
      return sendProblem(reply, problem('forbidden', 403, 'Forbidden', `This needs the ${route.role} role; the key has ${principal.role}.`));
    }
    const params = route.params ? route.params.safeParse(request.params) : { success: true as const, data: undefined };
    if (!params.success) return sendProblem(reply, problem('not-found', 404, 'Not found', `${request.method} ${request.url.split('?')[0]} names nothing.`));
    if (params.data && typeof params.data === 'object') audit.resourceId = Object.values(params.data as Record<string, string>).at(-1);
    // The query parser's object has a prototype of its own: its values are strings or arrays.
    const bad = unstorablePath('query', { ...(request.query as object) }) ?? (route.rawBody ? undefined : unstorablePath('body', request.body));
    if (bad) return sendProblem(reply, problem('invalid-request', 400, 'Invalid request', `${bad.path}: ${bad.message}.`, { errors: [bad] }));
    if (!route.query && Object.keys(request.query ?? {}).length > 0) {
      return sendProblem(reply, problem('invalid-request', 400, 'Invalid request', `query: this route takes no query parameters (got ${Object.keys(request.query as object).slice(0, 5).join(', ')}).`));
    }
    const query = route.query ? route.query.safeParse(request.query ?? {}) : { success: true as const, data: undefined };
    if (!query.success) return sendProblem(reply, validationProblem('query', query.error));
    let body: unknown;
    let rawDigest: (() => string) | undefined;
    if (route.rawBody) {
      if (!request.headers['content-type']?.startsWith(route.rawBody.mediaType)) {
        return sendProblem(reply, problem('unsupported-media-type', 415, 'Unsupported media type', `Send the body as ${route.rawBody.mediaType}.`));
      }
      const metered = meteredStream(request.body as Readable, route.rawBody.maxBytes);
      body = metered.stream;
      rawDigest = metered.digest;
    } else if (route.body) {
      const type = request.headers['content-type'];
      const hasBody = type !== undefined || Number(request.headers['content-length'] ?? 0) > 0 || request.headers['transfer-encoding'] !== undefined;
      if (hasBody && !/^application\/json\s*(;|$)/i.test(type ?? '')) {
        return sendProblem(reply, problem('unsupported-media-type', 415, 'Unsupported media type', 'Send the body as application/json.'));
      }
      const parsed = route.body.safeParse(request.body ?? {});
      if (!parsed.success) return sendProblem(reply, validationProblem('body', parsed.error));
      body = parsed.data;
    }

    const idemHeader = request.headers['idempotency-key'];
    const idemKey = route.method === 'POST' && typeof idemHeader === 'string' ? idemHeader : undefined;
    if (idemKey !== undefined && !idempotencyKeyPattern.test(idemKey)) {
      return sendProblem(reply, problem('invalid-request', 400, 'Invalid request', 'Idempotency-Key must be 1-255 visible ASCII characters.'));
    }
    const idem = idemKey === undefined ? undefined : { tenantId: principal.tenantId, apiKeyId: principal.keyId, key: idemKey, method: route.method, path: request.url.split('?')[0] ?? '' };
    const replay = (claim: Exclude<Claim, { kind: 'claimed' }>) => {
      if (claim.kind !== 'replay') return sendProblem(reply, claimProblem(claim));
      return reply.code(claim.response.status).headers({ ...claim.response.headers, 'idempotent-replayed': 'true' }).send(claim.response.body);
    };
    // A JSON request claims its key first; a streamed one once its body has been read,
    // inside the tenant transaction, so a refused claim rolls back what the stream wrote.
    let claimed = false;
    if (idem && !rawDigest) {
      const claim = await claimIdempotencyKey(db, { ...idem, requestSha256: bodyDigest({ query: request.query, body }) });
      if (claim.kind !== 'claimed') return replay(claim);
      claimed = true;
    }
    const ctx: RouteContext<unknown, unknown, unknown> = {
      principal,
      params: params.data,
      query: query.data,
      body,
      request,
      setResourceId: (id) => (audit.resourceId = id),
      tenantDb: (work) =>
        withTenant(db, principal.tenantId, async (tx) => {
          const result = await work(tx);
          if (idem && rawDigest && !claimed) {
            const claim = await claimIdempotencyKey(db, { ...idem, requestSha256: rawDigest() });
            if (claim.kind !== 'claimed') throw new ClaimRefused(claim);
            claimed = true;
          }
          return result;
        }),
    };

    let result: RouteResult;
    try {
      // Streamed uploads take as long as their bytes do: their Temporal calls are best effort.
      const { temporal, temporalTimeoutMs } = deps;
      result = temporal && temporalTimeoutMs && !route.rawBody ? await temporal.withDeadline(Date.now() + temporalTimeoutMs, () => route.handler(ctx)) : await route.handler(ctx);
    } catch (err) {
      if (err instanceof ClaimRefused) return replay(err.claim);
      const known = problemOf(err);
      if (known) {
        if (idem && claimed) {
          // A refusal is the request's answer for good; an outage (5xx) is not: the key is
          // freed so the retry it asks for runs again.
          if (known.problem.status >= 500) await releaseIdempotencyKey(db, idem);
          else await saveIdempotentResponse(db, idem, { status: known.problem.status, headers: { 'content-type': 'application/problem+json', ...known.headers }, body: JSON.stringify(known.problem) });
        }
        return sendProblem(reply.headers(known.headers ?? {}), known.problem);
      }
      if (idem && claimed) await releaseIdempotencyKey(db, idem);
      throw err;
    }
    const payload = result.body === undefined ? '' : JSON.stringify(result.body);
    const headers = { ...(result.body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }), ...result.headers };
    if (idem && claimed) {
      const saved = route.showsSecretOnce && result.status < 300 ? secretReplay(result) : { status: result.status, headers, body: payload };
      await saveIdempotentResponse(db, idem, saved);
    }
    return reply.code(result.status).headers(headers).send(result.body === undefined ? undefined : payload);
  };
  // One server span per request; an integrator's own `traceparent` becomes its parent.
  app.route({
    method: route.method,
    url: route.path,
    handler: (request, reply) =>
      inSpan(
        `${route.method} ${route.path}`,
        { kind: SpanKind.SERVER, parent: contextFromTraceparent(firstHeader(request.headers.traceparent)), attributes: { 'http.request.method': route.method, 'http.route': route.path } },
        async (span) => {
          const sent = await handler(request, reply);
          span.setAttribute('http.response.status_code', reply.statusCode);
          return sent;
        },
      ),
  });
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v && /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/.test(v) ? v : undefined;
}

/** Records mutating requests and refused reads once they are answered. */
export function auditHook(app: FastifyInstance, deps: PipelineDeps): void {
  app.addHook('onResponse', async (request, reply) => {
    const audit = audits.get(request);
    if (!audit) return;
    const status = reply.statusCode;
    if (request.method === 'GET' && status !== 403 && status !== 404) return;
    try {
      await deps.db
        .insertInto('audit_log')
        .values({
          tenant_id: audit.principal.tenantId,
          api_key_id: audit.principal.keyId,
          role: audit.principal.role,
          method: request.method,
          route: request.routeOptions.url ?? 'unknown',
          resource_id: audit.resourceId ?? null,
          status,
          ip: request.ip,
          request_id: request.id,
        })
        .execute();
    } catch (err) {
      deps.log.error({ err, route: request.routeOptions.url }, 'audit record failed');
    }
  });
}
