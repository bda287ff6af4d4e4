/**
 * An integrator's whole journey through the API, against the real stack in load mode:
 * subscribe a webhook endpoint, add a trunk, create a campaign, upload its contacts as
 * CSV, start it, and receive every call's and the campaign's events at the endpoint,
 * signed (checked with the `standardwebhooks` library, an implementation independent of
 * ours), each event once by its ID, with a delivery log in the API.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { pino } from 'pino';
import { Webhook } from 'standardwebhooks';
import { startWebhookRelay } from '../../workers/webhook-relay.js';
import { waitFor } from '../helpers/async.js';
import { startApi, type ApiHarness } from '../helpers/api.js';
import { loadCampaignConfig, loadModeWorker } from '../helpers/campaigns.js';
import { config } from '../helpers/env.js';
import { temporalClient } from '../helpers/temporal.js';

let temporal: Client;
let closeTemporal: () => Promise<void>;
before(async () => ({ client: temporal, close: closeTemporal } = await temporalClient()));
after(async () => closeTemporal());

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** An integrator's receiver: answers 200, and 503 to the first delivery to show retries keep the ID. */
async function receiver() {
  const received: Received[] = [];
  let refusedOnce = false;
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      const refuse = !refusedOnce;
      refusedOnce = true;
      res.writeHead(refuse ? 503 : 200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, config.host, r));
  return { url: `http://${config.host}:${(server.address() as AddressInfo).port}/hooks/kickcall`, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('a campaign run through the API reaches the integrator as signed webhooks, each event once', async () => {
  const worker = await loadModeWorker({ distribution: { answered: 1, voicemail: 0, busy: 0, no_answer: 0, rejected: 0, failed: 0, opted_out: 0 }, webhookAllowPrivateUrls: true });
  const api: ApiHarness = await startApi({ temporal, taskQueue: worker.taskQueue, webhookAllowPrivateUrls: true });
  const hooks = await receiver();
  try {
    const t = await api.newTenant();
    const key = t.keys.admin;
    const endpoint = await api.request('POST', '/v1/webhook-endpoints', { key, body: { url: hooks.url, eventTypes: ['call.started', 'call.ended', 'campaign.progress', 'campaign.completed'] } });
    assert.equal(endpoint.status, 201, endpoint.text);
    const { id: endpointId, secret } = endpoint.body as { id: string; secret: string };
    assert.match(secret, /^whsec_/);
    assert.equal((await api.request('POST', '/v1/trunks', { key, body: { id: 'main', address: '127.0.0.1:5080', numbers: ['+14155550100'], maxCallsPerSecond: 20, maxChannels: 20 } })).status, 201);
    const { trunkId: _t, ...rest } = loadCampaignConfig();
    const created = await api.request('POST', '/v1/campaigns', { key: t.keys.operator, body: { name: 'Webhook journey', config: { ...rest, trunkId: 'main' } } });
    assert.equal(created.status, 201, created.text);
    const campaignId = (created.body as { id: string }).id;
    const csv = ['phone,time_zone,consent,first_name', ...Array.from({ length: 5 }, (_, i) => `+1415555${String(2000 + i)},America/Denver,yes,Name${i}`)].join('\n');
    const upload = await api.request('POST', `/v1/campaigns/${campaignId}/contacts`, { key: t.keys.operator, raw: { contentType: 'text/csv', data: csv } });
    assert.equal((upload.body as { imported: number }).imported, 5, upload.text);

    const relay = startWebhookRelay({ db: api.db, client: temporal, taskQueue: worker.taskQueue, log: pino({ level: 'silent' }), intervalMs: 200, tenantIds: [t.tenantId], retry: { initialIntervalMs: 200, maximumIntervalMs: 1000 } });
    try {
      await worker.worker.runUntil(async () => {
        assert.equal((await api.request('POST', `/v1/campaigns/${campaignId}/start`, { key: t.keys.operator, body: {} })).status, 202);
        await waitFor(() => hooks.received.some((r) => r.body.includes('"campaign.completed"')), 120_000, 'campaign.completed never arrived');
        // Each event is its own delivery, so order is not promised: progress milestones
        // written in the same pass as the completion can arrive just after it.
        const milestones = () => new Set(hooks.received.filter((r) => r.body.includes('"campaign.progress"')).map((r) => /"percent":(\d+)/.exec(r.body)?.[1]));
        await waitFor(() => milestones().size >= 10, 30_000, 'not every campaign.progress milestone arrived');
        // Deliveries still retrying after the refused first one settle shortly after.
        await waitFor(async () => {
          const log = await api.request('GET', `/v1/webhook-endpoints/${endpointId}/deliveries?limit=500`, { key });
          return (log.body as { items: { outcome: string }[] }).items.filter((d) => d.outcome === 'delivered').length >= new Set(hooks.received.map((r) => r.headers['webhook-id'])).size;
        }, 30_000, 'delivery log incomplete');
      });
    } finally {
      await relay.stop();
    }

    const wh = new Webhook(secret);
    const events = hooks.received.map((r) => {
      const verified = wh.verify(r.body, { 'webhook-id': String(r.headers['webhook-id']), 'webhook-timestamp': String(r.headers['webhook-timestamp']), 'webhook-signature': String(r.headers['webhook-signature']) }) as { id: string; type: string; data: Record<string, unknown> };
      assert.equal(verified.id, r.headers['webhook-id'], 'the body names the event the header does');
      return verified;
    });
    // The refused first delivery came again with the same ID; every other event arrived once.
    const byId = new Map<string, number>();
    for (const e of events) byId.set(e.id, (byId.get(e.id) ?? 0) + 1);
    assert.deepEqual([...byId.values()].filter((n) => n > 1), [2], 'one event came twice (refused, then retried), every other once');
    const unique = [...new Map(events.map((e) => [e.id, e])).values()];
    const count = (type: string) => unique.filter((e) => e.type === type).length;
    assert.equal(count('call.started'), 5);
    assert.equal(count('call.ended'), 5);
    assert.equal(count('campaign.completed'), 1);
    assert.deepEqual(unique.filter((e) => e.type === 'campaign.progress').map((e) => (e.data as { percent: number }).percent).sort((x, y) => x - y), [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    assert.ok(!hooks.received.some((r) => r.body.includes('+1415555')), 'no phone number in any delivery');

    // The delivery log shows the refused attempt and its retry under one event ID.
    const log = await api.request('GET', `/v1/webhook-endpoints/${endpointId}/deliveries?limit=500`, { key });
    const attempts = (log.body as { items: { eventId: string; attempt: number; outcome: string; responseStatus: number | null }[] }).items;
    const retried = attempts.filter((a) => a.outcome === 'failed');
    assert.equal(retried.length, 1);
    assert.equal(retried[0]?.responseStatus, 503);
    assert.ok(attempts.some((a) => a.eventId === retried[0]?.eventId && a.outcome === 'delivered' && a.attempt === 2));

    // The campaign's worker has stopped: its stats come from what it recorded, at once.
    const askedAt = Date.now();
    const stats = await api.request('GET', `/v1/campaigns/${campaignId}/stats`, { key: t.keys.viewer });
    assert.equal(stats.status, 200, stats.text);
    assert.ok(Date.now() - askedAt < 5_000, 'no wait on a workflow nobody runs');
    const figures = stats.body as { status: string; dials: number; inFlight: number; contacts: { total: number; done: number }; attempts: Record<string, number> };
    assert.deepEqual([figures.status, figures.contacts.total, figures.contacts.done, figures.dials, figures.inFlight], ['completed', 5, 5, 5, 0]);
    assert.equal(Object.values(figures.attempts).reduce((a, b) => a + b, 0), 5);
  } finally {
    await hooks.close();
    await api.close();
    await worker.close();
  }
});
