/**
 * Webhook endpoints: where a tenant's events are delivered, signed per the Standard
 * Webhooks scheme. The signing secret is shown when the endpoint is made and when it is
 * rotated, never again; after a rotation the old secret keeps signing alongside the new
 * one for a grace period, so receivers can switch without dropping a delivery. Each
 * endpoint keeps a log of every delivery attempt.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { z } from 'zod';
import { isPrivateHost } from '../../activities/webhook-address.js';
import { newWebhookSecret } from '../../activities/webhook-signing.js';
import { webhookEventTypes } from '../../workflows/webhook/types.js';
import { notFound } from '../problem.js';
import { defineRoute } from '../route.js';
import { idParam } from '../schemas.js';

const endpoint = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string().nullable(),
  eventTypes: z.array(z.enum(webhookEventTypes)),
  enabled: z.boolean(),
  /** When the previous secret stops signing, after a rotation. */
  previousSecretExpiresAt: z.string().nullable(),
  createdAt: z.string(),
});
const delivery = z.object({
  eventId: z.string(),
  eventType: z.string(),
  attempt: z.number().int(),
  outcome: z.enum(['delivered', 'failed']),
  responseStatus: z.number().int().nullable(),
  error: z.string().nullable(),
  durationMs: z.number().int(),
  attemptedAt: z.string(),
});
const endpointParams = z.object({ endpointId: idParam });
const columns = ['id', 'url', 'description', 'event_types', 'enabled', 'previous_secret_expires_at', 'created_at'] as const;
type EndpointRow = { id: string; url: string; description: string | null; event_types: string[]; enabled: boolean; previous_secret_expires_at: Date | null; created_at: Date };
const toEndpoint = (e: EndpointRow) => ({
  id: e.id,
  url: e.url,
  description: e.description,
  eventTypes: e.event_types as (typeof webhookEventTypes)[number][],
  enabled: e.enabled,
  previousSecretExpiresAt: e.previous_secret_expires_at ? new Date(e.previous_secret_expires_at).toISOString() : null,
  createdAt: e.created_at.toISOString(),
});

export function webhookEndpointRoutes(deps: { allowPrivateUrls: boolean }) {
  const url = z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .refine((u) => deps.allowPrivateUrls || !isPrivateHost(new URL(u).hostname), 'must not point at a loopback or private address')
    .meta({ description: 'Where events are POSTed; https in production.' });
  const eventTypes = z.array(z.enum(webhookEventTypes)).min(1).max(webhookEventTypes.length);

  return [
    defineRoute({
      method: 'POST',
      path: '/v1/webhook-endpoints',
      operationId: 'createWebhookEndpoint',
      summary: 'Add a webhook endpoint (its signing secret is in this response only)',
      tag: 'Webhooks',
      role: 'admin',
      body: z.strictObject({ url, eventTypes, description: z.string().max(500).optional() }),
      responses: { 201: { description: 'The endpoint and its signing secret.', schema: endpoint.extend({ secret: z.string() }) }, 409: { description: 'A repeat under the same Idempotency-Key: the secret is not shown twice (`secret-shown-once`).' } },
      showsSecretOnce: true,
      handler: async ({ principal, body, tenantDb, setResourceId }) => {
        const id = `whe-${randomBytes(8).toString('hex')}`;
        const secret = newWebhookSecret();
        setResourceId(id);
        const row = await tenantDb((tx) =>
          tx
            .insertInto('webhook_endpoints')
            .values({ id, tenant_id: principal.tenantId, url: body.url, description: body.description ?? null, event_types: JSON.stringify([...new Set(body.eventTypes)]), secret })
            .returning(columns)
            .executeTakeFirstOrThrow(),
        );
        return { status: 201, body: { ...toEndpoint(row), secret }, headers: { location: `/v1/webhook-endpoints/${id}` } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/webhook-endpoints',
      operationId: 'listWebhookEndpoints',
      summary: 'List webhook endpoints',
      tag: 'Webhooks',
      role: 'admin',
      responses: { 200: { description: 'Every endpoint of the tenant.', schema: z.object({ items: z.array(endpoint) }) } },
      handler: async ({ tenantDb }) => ({ status: 200, body: { items: (await tenantDb((tx) => tx.selectFrom('webhook_endpoints').select(columns).orderBy('created_at', 'desc').execute())).map(toEndpoint) } }),
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/webhook-endpoints/:endpointId',
      operationId: 'getWebhookEndpoint',
      summary: 'A webhook endpoint',
      tag: 'Webhooks',
      role: 'admin',
      params: endpointParams,
      responses: { 200: { description: 'The endpoint.', schema: endpoint }, 404: { description: 'No such endpoint in this tenant.' } },
      handler: async ({ params, tenantDb }) => {
        const row = await tenantDb((tx) => tx.selectFrom('webhook_endpoints').select(columns).where('id', '=', params.endpointId).executeTakeFirst());
        if (!row) throw notFound(`Webhook endpoint ${params.endpointId}`);
        return { status: 200, body: toEndpoint(row) };
      },
    }),
    defineRoute({
      method: 'PATCH',
      path: '/v1/webhook-endpoints/:endpointId',
      operationId: 'updateWebhookEndpoint',
      summary: 'Change an endpoint’s URL, events or description, or disable it',
      tag: 'Webhooks',
      role: 'admin',
      params: endpointParams,
      body: z.strictObject({ url: url.optional(), eventTypes: eventTypes.optional(), description: z.string().max(500).nullable().optional(), enabled: z.boolean().optional() }),
      responses: { 200: { description: 'The endpoint.', schema: endpoint }, 404: { description: 'No such endpoint in this tenant.' } },
      handler: async ({ params, body, tenantDb }) => {
        const row = await tenantDb((tx) =>
          tx
            .updateTable('webhook_endpoints')
            .set({
              ...(body.url !== undefined && { url: body.url }),
              ...(body.eventTypes !== undefined && { event_types: JSON.stringify([...new Set(body.eventTypes)]) }),
              ...(body.description !== undefined && { description: body.description }),
              ...(body.enabled !== undefined && { enabled: body.enabled }),
              updated_at: sql<Date>`now()`,
            })
            .where('id', '=', params.endpointId)
            .returning(columns)
            .executeTakeFirst(),
        );
        if (!row) throw notFound(`Webhook endpoint ${params.endpointId}`);
        return { status: 200, body: toEndpoint(row) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/v1/webhook-endpoints/:endpointId',
      operationId: 'deleteWebhookEndpoint',
      summary: 'Delete a webhook endpoint (pending deliveries to it are skipped)',
      tag: 'Webhooks',
      role: 'admin',
      params: endpointParams,
      responses: { 204: { description: 'Deleted.' }, 404: { description: 'No such endpoint in this tenant.' } },
      handler: async ({ params, tenantDb }) => {
        const removed = await tenantDb((tx) => tx.deleteFrom('webhook_endpoints').where('id', '=', params.endpointId).executeTakeFirst());
        if (removed.numDeletedRows === 0n) throw notFound(`Webhook endpoint ${params.endpointId}`);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/webhook-endpoints/:endpointId/rotate-secret',
      operationId: 'rotateWebhookSecret',
      summary: 'Rotate the signing secret; the old one keeps signing for a grace period',
      tag: 'Webhooks',
      role: 'admin',
      params: endpointParams,
      body: z.strictObject({ graceS: z.number().int().min(0).max(7 * 86400).default(86400).meta({ description: 'How long the old secret still signs. Default a day.' }) }),
      responses: {
        200: { description: 'The endpoint and its new secret.', schema: endpoint.extend({ secret: z.string() }) },
        404: { description: 'No such endpoint in this tenant.' },
        409: { description: 'A repeat under the same Idempotency-Key: the secret is not shown twice (`secret-shown-once`).' },
      },
      showsSecretOnce: true,
      handler: async ({ params, body, tenantDb }) => {
        const secret = newWebhookSecret();
        const row = await tenantDb((tx) =>
          tx
            .updateTable('webhook_endpoints')
            .set((eb) => ({
              previous_secret: eb.ref('secret'),
              previous_secret_expires_at: sql<Date>`now() + make_interval(secs => ${body.graceS})`,
              secret,
              updated_at: sql<Date>`now()`,
            }))
            .where('id', '=', params.endpointId)
            .returning(columns)
            .executeTakeFirst(),
        );
        if (!row) throw notFound(`Webhook endpoint ${params.endpointId}`);
        return { status: 200, body: { ...toEndpoint(row), secret } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/webhook-endpoints/:endpointId/deliveries',
      operationId: 'listWebhookDeliveries',
      summary: 'Delivery attempts to an endpoint, newest first',
      tag: 'Webhooks',
      role: 'admin',
      params: endpointParams,
      query: z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100), eventId: z.string().max(300).optional() }),
      responses: { 200: { description: 'Attempts, newest first.', schema: z.object({ items: z.array(delivery) }) }, 404: { description: 'No such endpoint in this tenant.' } },
      handler: async ({ params, query, tenantDb }) => {
        const rows = await tenantDb(async (tx) => {
          const exists = await tx.selectFrom('webhook_endpoints').select('id').where('id', '=', params.endpointId).executeTakeFirst();
          if (!exists) throw notFound(`Webhook endpoint ${params.endpointId}`);
          let q = tx.selectFrom('webhook_deliveries').selectAll().where('endpoint_id', '=', params.endpointId);
          if (query.eventId) q = q.where('event_id', '=', query.eventId);
          return q.orderBy('id', 'desc').limit(query.limit).execute();
        });
        return {
          status: 200,
          body: {
            items: rows.map((d) => ({ eventId: d.event_id, eventType: d.event_type, attempt: d.attempt, outcome: d.outcome, responseStatus: d.response_status, error: d.error, durationMs: d.duration_ms, attemptedAt: d.attempted_at.toISOString() })),
          },
        };
      },
    }),
  ];
}
