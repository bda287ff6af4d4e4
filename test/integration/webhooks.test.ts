/**
 * Outbound webhooks against the real stack: the outbox relay reading PostgreSQL, delivery
 * workflows on the Temporal dev server retrying a flaky receiver (a local HTTP server),
 * signatures checked with the Standard Webhooks reference library, one deliveries row per
 * attempt, and a relay pass run again starting nothing twice. Also `campaign.progress`
 * events from the campaign's outcome writes.
 */
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { pino } from 'pino';
import { Webhook } from 'standardwebhooks';
import { createCampaignActivities } from '../../activities/campaign.js';
import { newWebhookSecret } from '../../activities/webhook-signing.js';
import { isPrivateAddress, isPrivateHost } from '../../activities/webhook-address.js';
import { createWebhookActivities } from '../../activities/webhooks.js';
import { createDb, type Db } from '../../deploy/db/schema.js';
import { relayWebhookEvents, startWebhookRelay } from '../../workers/webhook-relay.js';
import { webhookDeliveryWorkflow } from '../../workflows/webhook/delivery.js';
import { webhookDeliveryWorkflowId } from '../../workflows/webhook/ids.js';
import { waitFor } from '../helpers/async.js';
import { loadCampaignConfig, numberedContacts, seedCampaign, seedTrunk } from '../helpers/campaigns.js';
import { config, uniqueName } from '../helpers/env.js';
import { temporalClient, withWorker } from '../helpers/temporal.js';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let db: Db;
let client: Client;
let closeTemporal: () => Promise<void>;
let server: Server;
let baseUrl: string;
const received: Received[] = [];
/** The status the receiver answers for a path, given how many requests that path had before. */
const answers = new Map<string, (previous: number) => number>();
/** Everything the activities and the relay log, to prove no URL query or payload gets there. */
const logLines: string[] = [];
const log = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });

before(async () => {
  db = createDb(config.postgres.url, { maxConnections: 4 });
  ({ client, close: closeTemporal } = await temporalClient());
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const previous = received.filter((r) => r.path === path).length;
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(answers.get(path)?.(previous) ?? 200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((resolve) => server.close(resolve));
  await db.destroy();
  await closeTemporal();
});

async function seedTenant(): Promise<string> {
  const tenantId = uniqueName('t');
  await db.insertInto('tenants').values({ id: tenantId, name: tenantId }).execute();
  return tenantId;
}

async function seedEndpoint(tenantId: string, opts: { path: string; query?: string; eventTypes: string[]; enabled?: boolean; previousSecret?: string; url?: string }) {
  const id = uniqueName('we');
  const secret = newWebhookSecret();
  await db
    .insertInto('webhook_endpoints')
    .values({
      id,
      tenant_id: tenantId,
      url: opts.url ?? `${baseUrl}${opts.path}${opts.query ?? ''}`,
      event_types: JSON.stringify(opts.eventTypes),
      secret,
      previous_secret: opts.previousSecret ?? null,
      previous_secret_expires_at: opts.previousSecret ? new Date(Date.now() + 3600_000) : null,
      enabled: opts.enabled ?? true,
    })
    .execute();
  return { id, secret };
}

/** `dispatched`: already relayed, for a test that starts its deliveries itself (no relay may pick it up later). */
async function seedEvent(tenantId: string, type: string, payload: Record<string, unknown>, opts: { dispatched?: boolean } = {}): Promise<string> {
  const callId = `outbound_${tenantId}_direct_${uniqueName('c')}_1`;
  const id = `${callId}:${type}`;
  await db
    .insertInto('domain_events')
    .values({
      id,
      tenant_id: tenantId,
      type,
      call_id: callId,
      campaign_id: null,
      payload: JSON.stringify(payload),
      occurred_at: '2026-02-01T10:00:00.250Z',
      dispatched_at: opts.dispatched ? new Date() : null,
    })
    .execute();
  return id;
}

/** A loopback port nothing listens on: the connection is refused. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const dispatchedAt = async (eventId: string) =>
  (await db.selectFrom('domain_events').select('dispatched_at').where('id', '=', eventId).executeTakeFirstOrThrow()).dispatched_at;

test('an event reaches a flaky endpoint on the third attempt, signed, with one webhook-id, and the relay starts it once', async () => {
  const tenantId = await seedTenant();
  const path = `/${uniqueName('flaky')}`;
  answers.set(path, (previous) => (previous < 2 ? 500 : 200));
  const previousSecret = newWebhookSecret();
  const flaky = await seedEndpoint(tenantId, { path, query: '?token=never-logged', eventTypes: ['call.started', 'call.ended'], previousSecret });
  const otherPath = `/${uniqueName('other')}`;
  const unsubscribed = await seedEndpoint(tenantId, { path: otherPath, eventTypes: ['campaign.completed'] });
  const disabled = await seedEndpoint(tenantId, { path: otherPath, eventTypes: ['call.ended'], enabled: false });
  const payload = { callId: 'x', disposition: 'completed', summary: 'payload-marker-not-for-logs', durationS: 42 };
  const eventId = await seedEvent(tenantId, 'call.ended', payload);

  const activities = createWebhookActivities({ db, log, timeoutMs: 5000, allowPrivateAddresses: true });
  const result = await withWorker(activities, async (taskQueue) => {
    const relayDeps = { db, client, taskQueue, log, intervalMs: 100, tenantIds: [tenantId], retry: { initialIntervalMs: 500, maximumIntervalMs: 1000 } };
    const relay = startWebhookRelay(relayDeps);
    try {
      await waitFor(async () => (await dispatchedAt(eventId)) !== null, 10_000, 'the relay never dispatched the event');
    } finally {
      await relay.stop();
    }
    // The stack's orchestration worker runs the deployment's relay too, and may take the
    // event first: then its delivery runs there, with the default spacing. Either way
    // there is exactly one delivery, to the subscribed and enabled endpoint.
    assert.ok(relay.stats.started <= 1 && relay.stats.alreadyStarted === 0);
    const handle = client.workflow.getHandle<typeof webhookDeliveryWorkflow>(webhookDeliveryWorkflowId(flaky.id, eventId));
    const described = await handle.describe();
    const ranHere = described.taskQueue === taskQueue;
    assert.equal(ranHere, relay.stats.started === 1, 'the delivery runs where the relay that started it said');
    const outcome = await handle.result();

    // A relay pass over the event again (as after a crash before its commit) starts nothing:
    // Temporal refuses the duplicate ID (or the deployment's relay got there first).
    await db.updateTable('domain_events').set({ dispatched_at: null }).where('id', '=', eventId).execute();
    const stats = { started: 0, alreadyStarted: 0, dispatched: 0 };
    await relayWebhookEvents(relayDeps, stats);
    assert.equal(stats.started, 0, 'never a second delivery');
    await waitFor(async () => (await dispatchedAt(eventId)) !== null, 10_000, 'the event was not marked dispatched again');
    assert.equal((await handle.describe()).runId, described.runId, 'the same run, never a second');

    for (const id of [unsubscribed.id, disabled.id]) {
      await assert.rejects(client.workflow.getHandle(webhookDeliveryWorkflowId(id, eventId)).describe(), WorkflowNotFoundError);
    }
    return { outcome, ranHere };
  });

  assert.deepEqual(result.outcome, { outcome: 'delivered', attempt: 3, responseStatus: 200 });
  const requests = received.filter((r) => r.path === path);
  assert.equal(requests.length, 3, 'two 500s, then the 200; nothing after');
  assert.ok(requests.every((r) => r.headers['webhook-id'] === eventId), 'the same webhook-id on every attempt');
  assert.ok(requests.every((r) => r.body === requests[0]!.body), 'the same body on every attempt');
  assert.deepEqual(JSON.parse(requests[0]!.body), { id: eventId, type: 'call.ended', occurredAt: '2026-02-01T10:00:00.250Z', data: payload });
  for (const r of requests) {
    assert.equal(r.headers['content-type'], 'application/json');
    const headers = { 'webhook-id': String(r.headers['webhook-id']), 'webhook-timestamp': String(r.headers['webhook-timestamp']), 'webhook-signature': String(r.headers['webhook-signature']) };
    assert.equal(headers['webhook-signature'].split(' ').length, 2, 'signed with the new and the still-valid old secret');
    // The reference library throws unless a signature matches: both secrets verify.
    new Webhook(flaky.secret).verify(r.body, headers);
    new Webhook(previousSecret).verify(r.body, headers);
  }
  assert.equal(received.filter((r) => r.path === otherPath).length, 0, 'the unsubscribed and the disabled endpoint received nothing');

  const rows = await db
    .selectFrom('webhook_deliveries')
    .select(['attempt', 'outcome', 'response_status', 'error', 'event_type', 'tenant_id'])
    .where('event_id', '=', eventId)
    .orderBy('attempt')
    .execute();
  assert.deepEqual(rows, [
    { attempt: 1, outcome: 'failed', response_status: 500, error: 'HTTP 500', event_type: 'call.ended', tenant_id: tenantId },
    { attempt: 2, outcome: 'failed', response_status: 500, error: 'HTTP 500', event_type: 'call.ended', tenant_id: tenantId },
    { attempt: 3, outcome: 'delivered', response_status: 200, error: null, event_type: 'call.ended', tenant_id: tenantId },
  ]);

  const logged = logLines.join('');
  // These logs are this test's worker's: they hold the delivery when it ran here.
  if (result.ranHere) assert.match(logged, /webhook delivered/);
  assert.doesNotMatch(logged, /never-logged|payload-marker-not-for-logs/, 'no URL query and no payload in logs');
});

test('a delivery that never succeeds ends as failed; a disabled endpoint is skipped; an unreachable one records why', async () => {
  const tenantId = await seedTenant();
  const downPath = `/${uniqueName('down')}`;
  answers.set(downPath, () => 503);
  const down = await seedEndpoint(tenantId, { path: downPath, eventTypes: ['call.ended'] });
  const off = await seedEndpoint(tenantId, { path: downPath, eventTypes: ['call.ended'], enabled: false });
  const unreachable = await seedEndpoint(tenantId, { path: '', url: `http://127.0.0.1:${await closedPort()}/hook?token=never-logged`, eventTypes: ['call.ended'] });
  const eventId = await seedEvent(tenantId, 'call.ended', { disposition: 'busy' }, { dispatched: true });

  const activities = createWebhookActivities({ db, log, timeoutMs: 5000, allowPrivateAddresses: true });
  const [failed, skipped, refused] = await withWorker(activities, (taskQueue) => {
    const run = (endpointId: string, maximumAttempts: number) =>
      client.workflow.execute(webhookDeliveryWorkflow, {
        workflowId: webhookDeliveryWorkflowId(endpointId, eventId),
        taskQueue,
        args: [{ tenantId, endpointId, eventId, retry: { initialIntervalMs: 200, maximumAttempts } }],
      });
    return Promise.all([run(down.id, 3), run(off.id, 3), run(unreachable.id, 1)]);
  });

  assert.deepEqual(failed, { outcome: 'failed', error: 'HTTP 503' });
  assert.deepEqual(skipped, { outcome: 'skipped', reason: 'endpoint_disabled' });
  assert.equal(refused.outcome, 'failed');
  assert.equal(received.filter((r) => r.path === downPath).length, 3, 'three attempts, from the enabled endpoint only');

  const rows = await db.selectFrom('webhook_deliveries').select(['endpoint_id', 'attempt', 'outcome', 'response_status', 'error']).where('event_id', '=', eventId).orderBy('endpoint_id').orderBy('attempt').execute();
  assert.deepEqual(
    rows.filter((r) => r.endpoint_id === down.id).map((r) => [r.attempt, r.outcome, r.response_status]),
    [[1, 'failed', 503], [2, 'failed', 503], [3, 'failed', 503]],
  );
  assert.equal(rows.filter((r) => r.endpoint_id === off.id).length, 0);
  const refusedRow = rows.find((r) => r.endpoint_id === unreachable.id);
  assert.equal(refusedRow?.response_status, null);
  assert.match(refusedRow?.error ?? '', /ECONNREFUSED/);
  assert.doesNotMatch(refusedRow?.error ?? '', /never-logged/);
  assert.doesNotMatch(logLines.join(''), /never-logged/);
});

test('a deployment that refuses private addresses delivers nothing inside it, and says only that', async () => {
  const tenantId = await seedTenant();
  const path = `/${uniqueName('inside')}`;
  answers.set(path, () => 200);
  // The receiver listens on loopback: an internal address this deployment must not reach.
  const literal = await seedEndpoint(tenantId, { path, query: '?token=never-logged', eventTypes: ['call.ended'] });
  // The machine's own name, when it resolves inside, is a name no check of the URL can
  // catch: only the connect-time lookup sees where it points.
  const own = hostname();
  const ownResolvesInside = await lookup(own).then((a) => isPrivateAddress(a.address), () => false);
  const namedHost = ownResolvesInside && !isPrivateHost(own) ? own : 'localhost';
  const named = await seedEndpoint(tenantId, { path: '', url: `${baseUrl.replace(/\/\/[^:/]+/, `//${namedHost}`)}${path}`, eventTypes: ['call.ended'] });
  const eventId = await seedEvent(tenantId, 'call.ended', { disposition: 'completed' }, { dispatched: true });
  const activities = createWebhookActivities({ db, log, timeoutMs: 5000, allowPrivateAddresses: false });
  const outcomes = await withWorker(activities, (taskQueue) =>
    Promise.all(
      [literal, named].map((endpoint) =>
        client.workflow.execute(webhookDeliveryWorkflow, {
          workflowId: webhookDeliveryWorkflowId(endpoint.id, eventId),
          taskQueue,
          args: [{ tenantId, endpointId: endpoint.id, eventId, retry: { initialIntervalMs: 200, maximumAttempts: 1 } }],
        }),
      ),
    ),
  );
  for (const outcome of outcomes) assert.equal(outcome.outcome, 'failed');
  assert.equal(received.filter((r) => r.path === path).length, 0, 'no request reached the receiver');
  const rows = await db.selectFrom('webhook_deliveries').select(['error', 'response_status']).where('event_id', '=', eventId).execute();
  assert.equal(rows.length, 2);
  for (const row of rows) {
    assert.equal(row.error, 'refused: the endpoint resolves to a loopback or private address');
    assert.equal(row.response_status, null);
  }
});

test('campaign.progress: one event per tenth of contacts finished, each once, counts only', async () => {
  const tenantId = uniqueName('t');
  const campaignId = uniqueName('c');
  await seedTrunk(db, tenantId, { id: 'main', maxCallsPerSecond: 100, maxChannels: 100 });
  await seedCampaign(db, tenantId, campaignId, loadCampaignConfig(), numberedContacts(10));
  const acts = createCampaignActivities({ db, capacity: { sttStreams: 10_000, ttsStreams: 10_000 } });
  const claim = await acts.claimDials({ tenantId, campaignId, trunkId: 'main', claimId: 'k1', max: 10, nowMs: Date.now(), leaseTtlMs: 60_000, window: { start: '00:00', end: '23:59', days: [1, 2, 3, 4, 5, 6, 7] } });
  assert.equal(claim.contacts.length, 10);
  const outcomes = claim.contacts.map((c) => ({ callId: c.callId, contactId: c.contactId, attempt: 1, disposition: 'completed' as const }));
  const progress = async () =>
    (await db.selectFrom('domain_events').select(['id', 'type', 'payload']).where('campaign_id', '=', campaignId).where('type', '=', 'campaign.progress').execute())
      .map((e) => e.id)
      .sort((a, b) => Number(a.split(':')[2]) - Number(b.split(':')[2]));

  await acts.recordOutcomes({ campaignId, outcomes: outcomes.slice(0, 3), allowRetries: true, nowMs: Date.now() });
  assert.deepEqual(await progress(), [10, 20, 30].map((p) => `${campaignId}:campaign.progress:${p}`));
  // The same outcomes again (a retried activity) add nothing.
  await acts.recordOutcomes({ campaignId, outcomes: outcomes.slice(0, 3), allowRetries: true, nowMs: Date.now() });
  assert.equal((await progress()).length, 3);
  await acts.recordOutcomes({ campaignId, outcomes: outcomes.slice(3, 5), allowRetries: true, nowMs: Date.now() });
  assert.deepEqual(await progress(), [10, 20, 30, 40, 50].map((p) => `${campaignId}:campaign.progress:${p}`));

  const fifty = await db.selectFrom('domain_events').selectAll().where('id', '=', `${campaignId}:campaign.progress:50`).executeTakeFirstOrThrow();
  assert.equal(fifty.tenant_id, tenantId);
  const body = fifty.payload as { campaignId: string; percent: number; contacts: { total: number; done: number } };
  assert.equal(body.percent, 50);
  assert.equal(body.contacts.total, 10);
  assert.equal(body.contacts.done, 5);
  assert.doesNotMatch(JSON.stringify(body), /\+\d{6,}/, 'no phone numbers');
});
