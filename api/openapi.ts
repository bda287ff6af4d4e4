/**
 * The OpenAPI 3.1 document, built from the route declarations: the schemas that validate
 * requests are the ones integrators read (JSON Schema 2020-12, which OpenAPI 3.1 uses as is).
 */
import { z } from 'zod';
import { problemBase } from './problem.js';
import type { RouteSpec } from './route.js';

export const openApiPath = '/v1/openapi.json';

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

const problemSchema: JsonSchema = {
  type: 'object',
  description: `RFC 9457 problem details; \`type\` is stable (${problemBase}<slug>).`,
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    errors: {
      type: 'array',
      description: 'With invalid-request: each field that failed, as `body.config.callsPerSecond`, and why.',
      items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } }, required: ['path', 'message'] },
    },
  },
  required: ['type', 'title', 'status'],
};

/** Problems every authenticated route can answer with, besides its own. */
const commonProblems: Record<number, string> = {
  400: 'The request is malformed or fails validation.',
  401: 'No API key, or one that is unknown or revoked.',
  403: 'The key’s role may not do this.',
  429: 'Rate limited: retry after `Retry-After` seconds.',
  431: 'The URL and headers together exceed 16 KiB.',
  500: 'A fault of the server (`internal`); the request may be retried.',
  503: 'Temporal did not answer in time (`orchestration-unavailable`); retry after `Retry-After` seconds, with the same Idempotency-Key.',
};

/** Problems of every POST, from its Idempotency-Key. */
const idempotencyProblems: Record<number, string> = {
  409: 'A request with this Idempotency-Key is still being processed (`idempotency-key-in-use`).',
  422: 'This Idempotency-Key was used with a different request (`idempotency-key-reused`).',
};

/** Problems of any route that takes a body. */
const bodyProblems: Record<number, string> = {
  413: 'The body is larger than the route accepts.',
  415: 'The body is not of the media type the route takes.',
};

/** Fastify's `:name` to OpenAPI's `{name}`. */
export const openApiPathOf = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

function parameters(route: RouteSpec): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const [where, schema] of [['path', route.params], ['query', route.query]] as const) {
    if (!schema) continue;
    const s = jsonSchema(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, prop] of Object.entries(s.properties ?? {})) {
      const { description, ...rest } = prop;
      out.push({ name, in: where, required: where === 'path' || (s.required ?? []).includes(name), schema: rest, ...(description ? { description } : {}) });
    }
  }
  if (route.method === 'POST') {
    out.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description: 'Up to 255 characters. The first response to a key is saved for 24 hours and replayed; the same key with a different request is refused (422).',
      schema: { type: 'string', maxLength: 255 },
    });
  }
  return out;
}

export function buildOpenApiDocument(routes: RouteSpec[], opts: { serverUrl: string; version: string }): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const responses: Record<string, JsonSchema> = {};
    for (const [status, r] of Object.entries(route.responses)) {
      const content = r.schema
        ? { 'application/json': { schema: jsonSchema(r.schema, 'output') } }
        : Number(status) >= 400
          ? { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } }
          : undefined;
      responses[status] = { description: r.description, ...(content ? { content } : {}) };
    }
    const withBody = route.rawBody || route.body ? bodyProblems : {};
    const problemContent = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };
    for (const [status, description] of Object.entries({ ...commonProblems, ...withBody })) {
      responses[status] ??= { description, content: problemContent };
    }
    if (route.method === 'POST') {
      for (const [status, description] of Object.entries(idempotencyProblems)) {
        const own = responses[status] as { description?: string } | undefined;
        responses[status] = { description: own?.description ? `${own.description} Or: ${description}` : description, content: problemContent };
      }
    }
    const body = route.rawBody
      ? { required: true, description: `${route.rawBody.description} At most ${route.rawBody.maxBytes} bytes.`, content: { [route.rawBody.mediaType]: { schema: { type: 'string' } } } }
      : route.body
        ? // A body whose every field has a default may be left out.
          { required: !route.body.safeParse({}).success, content: { 'application/json': { schema: jsonSchema(route.body, 'input') } } }
        : undefined;
    (paths[openApiPathOf(route.path)] ??= {})[route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      description: `Requires the ${route.role} role or above.`,
      'x-kickcall-role': route.role,
      parameters: parameters(route),
      ...(body ? { requestBody: body } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Kickcall API',
      version: opts.version,
      description: 'Place and answer phone calls with AI voice agents, run outbound campaigns, receive signed webhooks. Authenticate with `Authorization: Bearer kk_...`.',
    },
    servers: [{ url: opts.serverUrl }],
    security: [{ apiKey: [] }],
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key (`kk_<prefix>_<secret>`), shown once when made.' } },
      schemas: { Problem: problemSchema },
    },
    paths,
  };
}
