/**
 * One webhook delivery: a domain event to one endpoint. The activity makes one attempt;
 * Temporal spaces the retries (exponential backoff over about two hours by default), so
 * a receiver that is down for a while still gets the event, with the same `webhook-id`
 * on every attempt. When every attempt has failed the workflow reports `failed` and
 * completes: an endpoint's outage is an outcome, not a workflow failure.
 */
import { ActivityFailure, isCancellation, log, proxyActivities } from '@temporalio/workflow';
import type { WebhookActivities } from '../../activities/webhooks.js';
import { nonRetryableFailureTypes } from '../errors.js';
import { defaultWebhookRetry, type WebhookDeliveryInput, type WebhookDeliveryResult } from './types.js';

export async function webhookDeliveryWorkflow(input: WebhookDeliveryInput): Promise<WebhookDeliveryResult> {
  const r = input.retry ?? {};
  const { deliverWebhook } = proxyActivities<WebhookActivities>({
    // Above the activity's own request timeout (10 s by default) plus a database write.
    startToCloseTimeout: '30 seconds',
    retry: {
      initialInterval: r.initialIntervalMs ?? defaultWebhookRetry.initialIntervalMs,
      backoffCoefficient: r.backoffCoefficient ?? defaultWebhookRetry.backoffCoefficient,
      maximumInterval: r.maximumIntervalMs ?? defaultWebhookRetry.maximumIntervalMs,
      maximumAttempts: r.maximumAttempts ?? defaultWebhookRetry.maximumAttempts,
      nonRetryableErrorTypes: nonRetryableFailureTypes,
    },
  });
  try {
    return await deliverWebhook({ endpointId: input.endpointId, eventId: input.eventId });
  } catch (err) {
    if (isCancellation(err) || !(err instanceof ActivityFailure)) throw err;
    const error = err.cause?.message ?? err.message;
    log.warn('webhook delivery gave up', { tenantId: input.tenantId, endpointId: input.endpointId, eventId: input.eventId, error });
    return { outcome: 'failed', error };
  }
}
