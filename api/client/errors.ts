/**
 * The client's errors. Each has a `name`, says whether retrying the same request may
 * succeed, and keeps what it came from: the problem details (RFC 9457) the API answered
 * with, or the network error as `cause`.
 */
import type { components } from './schema.js';

export type Problem = components['schemas']['Problem'] & Record<string, unknown>;

/** Statuses at which the same request may succeed later: rate limited, or the API or orchestration unavailable. */
const retryableStatuses = new Set([429, 502, 503, 504]);

const isProblem = (body: unknown): body is Problem =>
  typeof body === 'object' && body !== null && typeof (body as Problem).type === 'string' && typeof (body as Problem).title === 'string';

/** The API answered with an error: branch on `type` (stable), never on `title` or `detail`. */
export class KickcallApiError extends Error {
  override readonly name = 'KickcallApiError';
  readonly status: number;
  /** Stable URI, `https://kickcall.dev/problems/<slug>`; `about:blank` when the body was not problem details. */
  readonly type: string;
  readonly title: string;
  readonly detail: string | undefined;
  readonly retryable: boolean;
  /** From `Retry-After`, in seconds, when the API sent one. */
  readonly retryAfterS: number | undefined;
  /** The problem details as received, extensions included. */
  readonly problem: Problem;

  constructor(problem: Problem, opts: { retryAfterS?: number } = {}) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);
    this.problem = problem;
    this.status = problem.status;
    this.type = problem.type;
    this.title = problem.title;
    this.detail = problem.detail;
    this.retryable = retryableStatuses.has(problem.status);
    this.retryAfterS = opts.retryAfterS;
  }

  /** The last segment of `type`, e.g. `not-found`. */
  get slug(): string {
    return this.type.slice(this.type.lastIndexOf('/') + 1);
  }
}

/** The API could not be reached (refused, reset, DNS): the request may or may not have arrived. */
export class KickcallConnectionError extends Error {
  override readonly name = 'KickcallConnectionError';
  readonly retryable = true;
  constructor(readonly url: string, options: { cause: unknown }) {
    super(`Cannot reach the Kickcall API at ${url}`, options);
  }
}

/**
 * Turns an error response into a `KickcallApiError`. `body` is what openapi-fetch parsed
 * (JSON when it could); a body that is not problem details still gives the status.
 */
export function toKickcallApiError(body: unknown, response: Response): KickcallApiError {
  const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
  const opts = Number.isFinite(retryAfter) ? { retryAfterS: retryAfter } : {};
  if (isProblem(body)) return new KickcallApiError({ ...body, status: typeof body.status === 'number' ? body.status : response.status }, opts);
  const text = typeof body === 'string' && body.length > 0 ? body.slice(0, 500) : undefined;
  return new KickcallApiError({ type: 'about:blank', title: response.statusText || `HTTP ${response.status}`, status: response.status, ...(text && { detail: text }) }, opts);
}
