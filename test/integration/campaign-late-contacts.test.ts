/**
 * Contacts that reach a campaign while it waits are dialled within seconds, not when its
 * timer ends: an upload while it sleeps until a redial an hour away, an upload while it
 * is paused (dialled on resume), and contacts due when a run continued as new carries a
 * due time an hour away. A campaign that has ended refuses an upload. Real API, Temporal
 * and PostgreSQL, in load mode.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { createDb } from '../../deploy/db/schema.js';
import { campaignWorkflow, firstRunState } from '../../workflows/campaign/campaign.js';
import { campaignStatsQuery } from '../../workflows/campaign/messages.js';
import type { CampaignCarry } from '../../workflows/campaign/types.js';
import { campaignWorkflowId } from '../../workflows/ids.js';
import { pollFor, sleep } from '../helpers/async.js';
import { startApi, type ApiHarness } from '../helpers/api.js';
import { loadCampaignConfig, loadModeWorker, numberedContacts, seedCampaign, seedTrunk } from '../helpers/campaigns.js';
import { config, uniqueName } from '../helpers/env.js';
import { saveHistoryIfRecording } from '../helpers/histories.js';
import { temporalClient } from '../helpers/temporal.js';

let temporal: Client;
let closeTemporal: () => Promise<void>;
before(async () => ({ client: temporal, close: closeTemporal } = await temporalClient()));
after(async () => closeTemporal());

/** Every line busy: each call grants its contact a redial in an hour, so the campaign then sleeps an hour. */
const allBusy = { answered: 0, voicemail: 0, busy: 1, no_answer: 0, rejected: 0, failed: 0, opted_out: 0 };
const redialInAnHour = { busy: { maxAttempts: 2, delayS: 3600 } };
/** Far less than the hour the campaign would otherwise sleep. */
const promptlyMs = 15_000;

test('contacts uploaded while the campaign sleeps, or while it is paused, are dialled within seconds; an ended campaign refuses them', async () => {
  const worker = await loadModeWorker({ distribution: allBusy });
  const api: ApiHarness = await startApi({ temporal, taskQueue: worker.taskQueue });
  try {
    const t = await api.newTenant();
    const key = t.keys.operator;
    assert.equal((await api.request('POST', '/v1/trunks', { key: t.keys.admin, body: { id: 'main', address: '127.0.0.1:5080', numbers: ['+14155550100'], maxCallsPerSecond: 20, maxChannels: 20 } })).status, 201);
    const { trunkId: _t, ...rest } = loadCampaignConfig({ callsPerSecond: 10, maxConcurrentCalls: 4, retry: redialInAnHour });
    const created = await api.request('POST', '/v1/campaigns', { key, body: { name: 'Late contacts', config: { ...rest, trunkId: 'main' } } });
    assert.equal(created.status, 201, created.text);
    const campaignId = (created.body as { id: string }).id;
    let next = 0;
    const upload = (n: number) => {
      const rows = Array.from({ length: n }, () => `+1415555${String(3000 + next++)},America/Denver,yes`);
      return api.request('POST', `/v1/campaigns/${campaignId}/contacts`, { key, raw: { contentType: 'text/csv', data: ['phone,time_zone,consent', ...rows].join('\n') } });
    };
    assert.equal(((await upload(3)).body as { imported: number }).imported, 3);
    const handle = temporal.workflow.getHandle<typeof campaignWorkflow>(campaignWorkflowId(t.tenantId, campaignId));
    const stats = () => handle.query(campaignStatsQuery);
    const settledAt = (dials: number, what: string) => pollFor(async () => {
      const s = await stats();
      return s.dials === dials && s.inFlight === 0 ? s : undefined;
    }, promptlyMs, what);
    const asleep = () => pollFor(async () => {
      const row = await api.db.selectFrom('campaigns').select('wake_when').where('id', '=', campaignId).executeTakeFirstOrThrow();
      return row.wake_when === 'idle_or_due' ? true : undefined;
    }, promptlyMs, 'the campaign never slept until its next due contact');

    await worker.worker.runUntil(async () => {
      assert.equal((await api.request('POST', `/v1/campaigns/${campaignId}/start`, { key, body: {} })).status, 202);
      await settledAt(3, 'the first three contacts were not dialled');
      await asleep();

      // Asleep until the redials an hour away: the upload wakes it.
      const added = await upload(2);
      assert.equal(added.status, 201, added.text);
      await settledAt(5, 'contacts uploaded while the campaign slept were not dialled promptly');
      await asleep();

      // Paused: an upload is kept, not dialled; a resume dials it without waiting for the hour.
      assert.equal((await api.request('POST', `/v1/campaigns/${campaignId}/pause`, { key, body: {} })).status, 200);
      assert.equal((await upload(2)).status, 201);
      await sleep(1500);
      assert.equal((await stats()).dials, 5, 'nothing dialled while paused');
      assert.equal((await api.request('POST', `/v1/campaigns/${campaignId}/resume`, { key, body: {} })).status, 200);
      await settledAt(7, 'contacts uploaded while paused were not dialled promptly on resume');

      assert.equal((await api.request('POST', `/v1/campaigns/${campaignId}/cancel`, { key, body: { reason: 'test over' } })).status, 200);
      const result = await handle.result();
      await saveHistoryIfRecording(handle, 'campaign-late-contacts');
      assert.equal(result.status, 'cancelled');
      assert.equal(result.dials, 7, 'each contact dialled once: no redial came due');
      assert.equal(result.contacts.cancelled, 7, 'the redials an hour away were cancelled with the campaign');
    });

    const refused = await upload(1);
    assert.equal(refused.status, 409, refused.text);
    assert.match((refused.body as { detail: string }).detail, /is cancelled; it takes no more contacts/);
    const kept = await api.db.selectFrom('contacts').select((eb) => eb.fn.countAll<string>().as('n')).where('campaign_id', '=', campaignId).executeTakeFirstOrThrow();
    assert.equal(Number(kept.n), 7, 'the refused upload kept nothing');
  } finally {
    await api.close();
    await worker.close();
  }
});

test('a run continued as new claims before sleeping until the due time it carried', async () => {
  const worker = await loadModeWorker({ distribution: { ...allBusy, busy: 0, answered: 1 } });
  const db = createDb(config.postgres.url, { maxConnections: 2 });
  try {
    const tenantId = uniqueName('t');
    const campaignId = uniqueName('carry');
    const campaignConfig = loadCampaignConfig({ callsPerSecond: 10, maxConcurrentCalls: 4, retry: redialInAnHour });
    await seedTrunk(db, tenantId, { id: 'main', maxCallsPerSecond: 50, maxChannels: 50 });
    await seedCampaign(db, tenantId, campaignId, campaignConfig, numberedContacts(3));
    await db.updateTable('campaigns').set({ status: 'running' }).where('id', '=', campaignId).execute();
    // As a run that continued as new while its last claim saw the next contact an hour
    // away; contacts fell due since (a call's redial, an upload), and nothing woke it.
    const now = Date.now();
    const carry: CampaignCarry = { ...firstRunState(now), runs: 1, nextDueAtMs: now + 3_600_000 };
    const result = await worker.worker.runUntil(async () => {
      const handle = await temporal.workflow.start(campaignWorkflow, { workflowId: campaignWorkflowId(tenantId, campaignId), taskQueue: worker.taskQueue, args: [{ tenantId, campaignId, config: campaignConfig, carry }] });
      const ended = await pollFor(async () => {
        const d = await handle.describe();
        return d.status.name === 'COMPLETED' ? handle.result() : undefined;
      }, promptlyMs, 'the carried due time held up contacts due now');
      await saveHistoryIfRecording(handle, 'campaign-carried-due-time');
      return ended;
    });
    assert.equal(result.status, 'completed');
    assert.equal(result.dials, 3);
    assert.equal(result.contacts.done, 3);
  } finally {
    await db.destroy();
    await worker.close();
  }
});
