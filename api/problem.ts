/**
 * Errors as RFC 9457 problem details, with a stable `type` URI per kind of problem, so
 * integrators branch on `type`, never on message text. Every kind is listed once here.
 */
import type { FastifyReply } from 'fastify';

export const problemBase = 'https://kickcall.dev/problems/';

/** Each kind of problem the API answers with; the slug is the last segment of its `type`. */
export const problemSlugs = [
  'bad-request',
  'invalid-request',
  'unauthorized',
  'forbidden',
  'rate-limited',
  'idempotency-key-reused',
  'idempotency-key-in-use',
  'secret-shown-once',
  'conflict',
  'invalid-transition',
  'invalid-webhook-body',
  'invalid-webhook-signature',
  'not-found',
  'payload-too-large',
  'headers-too-large',
  'unsupported-media-type',
  'orchestration-unavailable',
  'internal',
] as const;
export type ProblemSlug = (typeof problemSlugs)[number];

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  [extension: string]: unknown;
}

export function problem(slug: ProblemSlug, status: number, title: string, detail?: string, extensions: Record<string, unknown> = {}): Problem {
  return { ...extensions, type: `${problemBase}${slug}`, title, status, ...(detail ? { detail } : {}) };
}

/** Thrown by a route handler: answered as the problem it carries. */
export class ApiProblem extends Error {
  override readonly name = 'ApiProblem';
  constructor(readonly problem: Problem, readonly headers: Record<string, string> = {}) {
    super(problem.detail ?? problem.title);
  }
}

export const notFound = (what: string) => new ApiProblem(problem('not-found', 404, 'Not found', `${what} does not exist.`));

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).type('application/problem+json').send(p);
}
