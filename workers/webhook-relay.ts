/**
 * The webhook outbox relay: domain events written by activities (`domain_events`, in the
 * same transaction as the change they describe) become one delivery workflow per
 * subscribed endpoint. A pass takes the oldest undispatched events under
 * `FOR UPDATE SKIP LOCKED` (so several relays share the work), starts each delivery with
 * its deterministic workflow ID and marks the events dispatched in the same transaction.
 *
 * At-least-once into Temporal, exactly once out of it: a relay that dies after starting
 * workflows but before committing leaves the events undispatched, and the next pass's
 * starts are refused as already started (REJECT_DUPLICATE keeps a finished delivery
 * from running again too).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { sql } from 'kysely';
import type { Db } from '../deploy/db/schema.js';
import type { Logger } from '../deploy/logger.js';
import { tenantIdKey } from '../workflows/search-attributes.js';
import { webhookDeliveryWorkflow } from '../workflows/webhook/delivery.js';
import { webhookDeliveryWorkflowId } from '../workflows/webhook/ids.js';
import type { WebhookRetryOptions } from '../workflows/webhook/types.js';

export interface WebhookRelayDeps {
  db: Db;
  client: Client;
  /** Where the delivery workflows run: the orchestration worker's queue. */
  taskQueue: string;
  log: Logger;
  /** Pause between passes once the outbox is empty, in ms. Default 500. */
  intervalMs?: number;
  /** Events per pass (one transaction). Default 100. */
  batchSize?: number;
  /** Relays only these tenants' events (tests; sharding). Default every tenant. */
  tenantIds?: string[];
  /** Given to every delivery workflow; default its own (about two hours of retries). */
  retry?: WebhookRetryOptions;
}

export interface WebhookRelayStats {
  /** Delivery workflows started. */
  started: number;
  /** Starts Temporal refused because that delivery already exists: the idempotency at work. */
  alreadyStarted: number;
  /** Events marked dispatched. */
  dispatched: number;
}

export interface WebhookRelay {
  /** Finishes the pass under way, then stops. */
  stop(): Promise<void>;
  readonly stats: Readonly<WebhookRelayStats>;
}

/** After a failed pass (database or Temporal down), wait this long before the next. */
const errorBackoffMs = 5000;

/**
 * One pass over the outbox: how many events it took and how many it marked dispatched.
 * An event whose deliveries could not all be started stays for the next pass, and so
 * does every later one of the pass.
 */
export async function relayWebhookEvents(
  deps: WebhookRelayDeps,
  stats: WebhookRelayStats = { started: 0, alreadyStarted: 0, dispatched: 0 },
): Promise<{ events: number; dispatched: number }> {
  const { client, taskQueue, log } = deps;
  return deps.db.transaction().execute(async (trx) => {
    if (deps.tenantIds?.length === 0) return { events: 0, dispatched: 0 };
    let q = trx.selectFrom('domain_events').select(['id', 'tenant_id', 'type']).where('dispatched_at', 'is', null);
    if (deps.tenantIds) q = q.where('tenant_id', 'in', deps.tenantIds);
    const events = await q.orderBy('created_at').limit(deps.batchSize ?? 100).forUpdate().skipLocked().execute();
    if (events.length === 0) return { events: 0, dispatched: 0 };

    const endpoints = await trx
      .selectFrom('webhook_endpoints')
      .select(['id', 'tenant_id', 'event_types'])
      .where('tenant_id', 'in', [...new Set(events.map((e) => e.tenant_id))])
      .where('enabled', '=', true)
      .execute();

    const dispatched: string[] = [];
    try {
      for (const event of events) {
        for (const endpoint of endpoints) {
          if (endpoint.tenant_id !== event.tenant_id || !endpoint.event_types.includes(event.type)) continue;
          try {
            await client.workflow.start(webhookDeliveryWorkflow, {
              workflowId: webhookDeliveryWorkflowId(endpoint.id, event.id),
              taskQueue,
              args: [{ tenantId: event.tenant_id, endpointId: endpoint.id, eventId: event.id, ...(deps.retry && { retry: deps.retry }) }],
              workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
              typedSearchAttributes: [{ key: tenantIdKey, value: event.tenant_id }],
            });
            stats.started++;
          } catch (err) {
            if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
            stats.alreadyStarted++;
          }
        }
        dispatched.push(event.id);
      }
    } catch (err) {
      // Keep what was started; the rest (in order) waits for the next pass.
      log.error({ err, dispatched: dispatched.length, pending: events.length - dispatched.length }, 'webhook relay could not start a delivery');
    }
    if (dispatched.length > 0) {
      await trx.updateTable('domain_events').set({ dispatched_at: sql<Date>`now()` }).where('id', 'in', dispatched).execute();
    }
    stats.dispatched += dispatched.length;
    return { events: events.length, dispatched: dispatched.length };
  });
}

/** Relays in a loop until `stop()`: passes back to back while there is a backlog, then every `intervalMs`. */
export function startWebhookRelay(deps: WebhookRelayDeps): WebhookRelay {
  const intervalMs = deps.intervalMs ?? 500;
  const batchSize = deps.batchSize ?? 100;
  const stats: WebhookRelayStats = { started: 0, alreadyStarted: 0, dispatched: 0 };
  const stopping = new AbortController();

  const loop = async () => {
    while (!stopping.signal.aborted) {
      let waitMs = intervalMs;
      try {
        const pass = await relayWebhookEvents({ ...deps, batchSize }, stats);
        if (pass.dispatched < pass.events) waitMs = errorBackoffMs;
        else if (pass.events >= batchSize) waitMs = 0;
      } catch (err) {
        deps.log.error({ err }, 'webhook relay pass failed');
        waitMs = errorBackoffMs;
      }
      if (waitMs > 0) await sleep(waitMs, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
  };
  const done = loop();
  deps.log.info({ taskQueue: deps.taskQueue, intervalMs }, 'webhook relay started');

  return {
    stats,
    async stop() {
      stopping.abort();
      await done;
      deps.log.info(stats, 'webhook relay stopped');
    },
  };
}
