/**
 * Outbound webhooks: one attempt to deliver one domain event to one endpoint. The body
 * is built the same way on every attempt (its `webhook-id` is the event's ID), signed
 * per Standard Webhooks with the endpoint's secret (and the previous one while it is
 * still valid), and POSTed with a timeout. Each attempt leaves one `webhook_deliveries`
 * row, keyed by (endpoint, event, attempt) so a retried write changes nothing. A non-2xx
 * answer, a timeout or a network error throws a retryable failure: the workflow's retry
 * policy spaces the next attempt.
 *
 * Logs never hold the endpoint's path or query (they can carry tokens) nor the payload.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Db } from '../deploy/db/schema.js';
import type { Logger } from '../deploy/logger.js';
import { FailureType } from '../workflows/errors.js';
import type { WebhookAttemptResult } from '../workflows/webhook/types.js';
import { Agent, fetch } from 'undici';
import { signWebhook } from './webhook-signing.js';
import { guardedLookup, isPrivateHost, PrivateAddressError } from './webhook-address.js';
import { metrics } from '../deploy/telemetry/metrics.js';

export interface WebhookActivityDeps {
  db: Db;
  log: Logger;
  /** How long one POST may take, in ms. Default 10000; keep it under the activity's 30 s timeout. */
  timeoutMs?: number;
  /**
   * Deliver to loopback and private addresses too (`KICKCALL_WEBHOOK_ALLOW_PRIVATE_URLS`,
   * local development). Otherwise every address is checked when the connection is made.
   */
  allowPrivateAddresses: boolean;
}

/** What an integrator receives: the envelope, with the event's own fields under `data`. */
export interface WebhookBody {
  id: string;
  type: string;
  /** ISO 8601. */
  occurredAt: string;
  data: unknown;
}

/** The request body, byte for byte the same on every attempt: `data`'s keys are sorted. */
export function webhookBody(event: { id: string; type: string; occurredAt: Date; payload: unknown }): string {
  const body: WebhookBody = { id: event.id, type: event.type, occurredAt: event.occurredAt.toISOString(), data: sortKeys(event.payload) };
  return JSON.stringify(body);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)]));
}

/** A failed attempt: the receiver answered non-2xx, or did not answer. Retrying may help. */
export class WebhookDeliveryError extends Error {
  override readonly name = 'WebhookDeliveryError';
  readonly failureType = FailureType.WebhookDeliveryFailed;
  readonly retryable = true;
  constructor(
    message: string,
    readonly responseStatus?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The attempt number Temporal gives this run of the activity; 1 when called directly. */
function currentAttempt(): { attempt: number; cancelled?: AbortSignal } {
  try {
    const ctx = Context.current();
    return { attempt: ctx.info.attempt, cancelled: ctx.cancellationSignal };
  } catch {
    return { attempt: 1 };
  }
}

function parseEndpointUrl(raw: string): URL | undefined {
  try {
    const url = new URL(raw);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** An error's text for the deliveries table and logs, without the endpoint's URL. */
function describe(err: unknown, urls: string[], timeoutMs: number): string {
  if (err instanceof Error && err.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  // Said the same however it was found (a literal, or what the name resolved to): no probe oracle.
  if (err instanceof PrivateAddressError || (err as { cause?: unknown }).cause instanceof PrivateAddressError) return `refused: ${new PrivateAddressError().message}`;
  // Only the worker's shutdown aborts an attempt (the activity does not heartbeat, so it never hears a cancellation).
  if (err instanceof Error && err.name === 'AbortError') return 'aborted: the worker is shutting down';
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const detail = e.cause?.code ?? e.cause?.message;
  let text = `${e.name ?? 'Error'}: ${e.message ?? String(err)}${detail ? ` (${detail})` : ''}`;
  for (const url of urls) text = text.replaceAll(url, '<endpoint>');
  return text;
}

export function createWebhookActivities(deps: WebhookActivityDeps) {
  const { db, log } = deps;
  const timeoutMs = deps.timeoutMs ?? 10_000;
  // One pool of connections for every delivery; each new connection's addresses are checked.
  const dispatcher = new Agent(deps.allowPrivateAddresses ? {} : { connect: { lookup: guardedLookup } });

  return {
    /** One attempt; throws a retryable `WebhookDeliveryFailed` failure unless the endpoint answers 2xx. */
    async deliverWebhook(input: { endpointId: string; eventId: string }): Promise<WebhookAttemptResult> {
      const { attempt, cancelled } = currentAttempt();
      const [endpoint, event] = await Promise.all([
        db.selectFrom('webhook_endpoints').selectAll().where('id', '=', input.endpointId).executeTakeFirst(),
        db.selectFrom('domain_events').select(['id', 'tenant_id', 'type', 'payload', 'occurred_at']).where('id', '=', input.eventId).executeTakeFirst(),
      ]);
      const fields = { endpointId: input.endpointId, eventId: input.eventId, attempt };
      if (!endpoint || (event && endpoint.tenant_id !== event.tenant_id)) return { outcome: 'skipped', reason: 'endpoint_missing' };
      if (!endpoint.enabled) return { outcome: 'skipped', reason: 'endpoint_disabled' };
      if (!event) return { outcome: 'skipped', reason: 'event_missing' };
      if (!endpoint.event_types.includes(event.type)) return { outcome: 'skipped', reason: 'not_subscribed' };

      const record = (r: { error?: string; responseStatus?: number; durationMs: number }) =>
        db
          .insertInto('webhook_deliveries')
          .values({
            tenant_id: endpoint.tenant_id,
            endpoint_id: endpoint.id,
            event_id: event.id,
            event_type: event.type,
            attempt,
            outcome: r.error === undefined ? 'delivered' : 'failed',
            response_status: r.responseStatus ?? null,
            error: r.error ?? null,
            duration_ms: r.durationMs,
          })
          .onConflict((oc) => oc.columns(['endpoint_id', 'event_id', 'attempt']).doNothing())
          .execute();

      const url = parseEndpointUrl(endpoint.url);
      if (!url) {
        await record({ error: 'the endpoint URL is not a valid http(s) URL', durationMs: 0 });
        log.warn({ ...fields, eventType: event.type }, 'webhook endpoint URL is not valid');
        throw ApplicationFailure.create({ type: FailureType.InvalidInput, message: `webhook endpoint ${endpoint.id} has no valid http(s) URL`, nonRetryable: true });
      }

      const body = webhookBody({ id: event.id, type: event.type, occurredAt: event.occurred_at, payload: event.payload });
      const nowMs = Date.now();
      const previousValid = endpoint.previous_secret && endpoint.previous_secret_expires_at && endpoint.previous_secret_expires_at.getTime() > nowMs;
      const secrets = previousValid ? [endpoint.secret, endpoint.previous_secret!] : [endpoint.secret];
      const headers = signWebhook({ id: event.id, timestampS: Math.floor(nowMs / 1000), body, secrets });

      const started = performance.now();
      let responseStatus: number | undefined;
      let failure: WebhookDeliveryError | undefined;
      try {
        // An IP literal is never looked up, so the connect-time check would not see it.
        if (!deps.allowPrivateAddresses && isPrivateHost(url.hostname)) throw new PrivateAddressError();
        const timeout = AbortSignal.timeout(timeoutMs);
        const res = await fetch(url, {
          dispatcher,
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json', 'user-agent': 'Kickcall-Webhooks/1' },
          body,
          // A redirect is an answer that is not 2xx: following it would send the payload elsewhere.
          redirect: 'manual',
          signal: cancelled ? AbortSignal.any([timeout, cancelled]) : timeout,
        });
        responseStatus = res.status;
        // The receiver's answer is not kept; free the connection.
        await res.body?.cancel().catch(() => undefined);
        if (res.status < 200 || res.status >= 300) failure = new WebhookDeliveryError(`HTTP ${res.status}`, res.status);
      } catch (err) {
        failure = new WebhookDeliveryError(describe(err, [endpoint.url, url.href], timeoutMs), undefined, { cause: err });
      }
      const durationMs = Math.round(performance.now() - started);
      await record({ ...(failure && { error: failure.message }), ...(responseStatus !== undefined && { responseStatus }), durationMs });
      metrics.webhookDeliveries.inc({ result: !failure ? 'delivered' : responseStatus !== undefined ? 'rejected' : 'failed' });

      const logFields = { ...fields, eventType: event.type, host: url.host, responseStatus, durationMs };
      if (!failure) {
        log.info(logFields, 'webhook delivered');
        return { outcome: 'delivered', attempt, responseStatus: responseStatus! };
      }
      log.warn({ ...logFields, error: failure.message }, 'webhook attempt failed');
      // The cause stays out of the failure: its text can name the endpoint's URL.
      throw ApplicationFailure.create({
        type: failure.failureType,
        message: failure.message,
        nonRetryable: !failure.retryable,
        details: responseStatus !== undefined ? [{ responseStatus }] : [],
      });
    },
  };
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
