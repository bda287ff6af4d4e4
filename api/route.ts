/**
 * One declaration per route: method, path, the least role allowed, and zod schemas for
 * params, query, body and each response. The same declaration validates requests, is
 * served as the OpenAPI document, and is what the contract tests check responses against.
 */
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { ApiRole } from '../deploy/db/schema.js';
import type { Principal } from './api-keys.js';
import type { TenantTx } from './tenant-db.js';

export interface RouteResponse {
  description: string;
  /** Absent for an empty body (204). */
  schema?: z.ZodType;
}

export interface RouteContext<P, Q, B> {
  principal: Principal;
  params: P;
  query: Q;
  body: B;
  request: FastifyRequest;
  /** Runs `body` in a transaction that can see only the caller's tenant (row-level security). */
  tenantDb: <T>(body: (tx: TenantTx) => Promise<T>) => Promise<T>;
  /** Names the resource the request acted on, for the audit log (set by handlers that create one). */
  setResourceId: (id: string) => void;
}

export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RouteSpec<P = unknown, Q = unknown, B = unknown> {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Fastify style: `/v1/calls/:callId`. */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  /** The least role that may call it. */
  role: ApiRole;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /**
   * The body's media type when it is not JSON: the handler then receives the raw stream
   * as `request.body` (CSV uploads are streamed, never buffered).
   */
  rawBody?: { mediaType: 'text/csv'; description: string; maxBytes: number };
  responses: Record<number, RouteResponse>;
  /**
   * The success response carries a secret shown this once (an API key, a signing secret).
   * It is never saved for an Idempotency-Key replay: a repeat answers 409
   * `secret-shown-once` naming the resource, and the secret exists only where it must.
   */
  showsSecretOnce?: true;
  handler: (ctx: RouteContext<P, Q, B>) => Promise<RouteResult>;
}

/** Keeps each route's types while the list holds routes of different shapes. */
export function defineRoute<P, Q, B>(spec: RouteSpec<P, Q, B>): RouteSpec {
  return spec as unknown as RouteSpec;
}
