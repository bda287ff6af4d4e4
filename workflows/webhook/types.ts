/**
 * The webhook delivery workflow's contract, shared by the workflow, its activity and the
 * outbox relay that starts it. Plain JSON; free of Node APIs.
 */

/** How attempts are spaced. Every field is optional; defaults in `defaultWebhookRetry`. */
export interface WebhookRetryOptions {
  /** Wait before the second attempt, in ms. Default 2000. */
  initialIntervalMs?: number;
  /** Each wait is the previous one times this. Default 2. */
  backoffCoefficient?: number;
  /** The longest wait between attempts, in ms. Default 600000 (10 min). */
  maximumIntervalMs?: number;
  /** Attempts in all, the first included. Default 20 (about two hours in all). */
  maximumAttempts?: number;
}

/**
 * 2 s doubling to 10 min: waits of 2, 4, ... 512 s (17 min together), then 10 min each.
 * Twenty attempts span about two hours, long enough to ride out a receiver's deploy or
 * outage, not so long that a dead endpoint keeps a workflow open for days.
 */
export const defaultWebhookRetry: Required<WebhookRetryOptions> = {
  initialIntervalMs: 2000,
  backoffCoefficient: 2,
  maximumIntervalMs: 600_000,
  maximumAttempts: 20,
};

export interface WebhookDeliveryInput {
  tenantId: string;
  endpointId: string;
  /** The domain event's ID; the `webhook-id` on every attempt. */
  eventId: string;
  /** Overrides the attempt spacing (tests use seconds, not minutes). */
  retry?: WebhookRetryOptions;
}

/** What one successful or skipped activity call reports. */
export type WebhookAttemptResult =
  | { outcome: 'delivered'; attempt: number; responseStatus: number }
  /** The endpoint is disabled, gone or no longer subscribed, or the event is gone: nothing to deliver. */
  | { outcome: 'skipped'; reason: 'endpoint_disabled' | 'endpoint_missing' | 'event_missing' | 'not_subscribed' };

export type WebhookDeliveryResult =
  | WebhookAttemptResult
  /** Every attempt failed; `error` is the last attempt's. */
  | { outcome: 'failed'; error: string };

/** Every event type an endpoint can subscribe to, defined once. */
export const webhookEventTypes = ['call.started', 'call.answered', 'call.ended', 'call.analyzed', 'campaign.progress', 'campaign.completed'] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];
