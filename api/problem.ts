/**
 * Errors as RFC 9457 problem details, with a stable `type` URI per kind of problem, so
 * integrators branch on `type`, never on message text.
 */
import type { FastifyReply } from 'fastify';

export const problemBase = 'https://kickcall.dev/problems/';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  [extension: string]: unknown;
}

export function problem(slug: string, status: number, title: string, detail?: string, extensions: Record<string, unknown> = {}): Problem {
  return { type: `${problemBase}${slug}`, title, status, ...(detail ? { detail } : {}), ...extensions };
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).type('application/problem+json').send(p);
}
