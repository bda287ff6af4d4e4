/**
 * The campaign's claim against PostgreSQL, on its own: calling windows read in each
 * contact's zone by the database across a DST change (and agreeing with the workflow's
 * arithmetic), shared trunk and provider limits, and a retried claim returning what it
 * already took instead of taking more.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createCampaignActivities } from '../../activities/campaign.js';
import { createDb, type Db } from '../../deploy/db/schema.js';
import { metrics } from '../../deploy/telemetry/metrics.js';
import { nextWindowOpenMs } from '../../workflows/call/calling-window.js';
import { loadCampaignConfig, numberedContacts, seedCampaign, seedTrunk } from '../helpers/campaigns.js';
import { config, uniqueName } from '../helpers/env.js';

let db: Db;
before(() => {
  db = createDb(config.postgres.url, { maxConnections: 4 });
});
after(() => db.destroy());

const at = (iso: string) => Date.parse(iso);
const base = { trunkId: 'main', leaseTtlMs: 60_000 };

async function setup(opts: { maxCallsPerSecond?: number; maxChannels?: number } = {}) {
  const tenantId = uniqueName('t');
  const campaignId = uniqueName('c');
  await seedTrunk(db, tenantId, { id: 'main', maxCallsPerSecond: opts.maxCallsPerSecond ?? 100, maxChannels: opts.maxChannels ?? 100 });
  return { tenantId, campaignId };
}

test('calling windows are read in each contact’s zone, DST included, and the next opening agrees with the workflow’s rules', async () => {
  const { tenantId, campaignId } = await setup();
  await seedCampaign(db, tenantId, campaignId, loadCampaignConfig(), [
    { id: 'ny', phone: '+12125550101', timeZone: 'America/New_York' },
    { id: 'tokyo', phone: '+81355550101', timeZone: 'Asia/Tokyo' },
  ]);
  const acts = createCampaignActivities({ db, capacity: { sttStreams: 1000, ttsStreams: 1000 } });
  const window = { start: '08:00', end: '21:00' };
  // 2026-03-07 12:30Z: 07:30 EST in New York (closed), 21:30 in Tokyo (closed).
  const saturday = at('2026-03-07T12:30:00Z');
  const closed = await acts.claimDials({ ...base, tenantId, campaignId, claimId: 'k1', max: 5, window, nowMs: saturday });
  assert.equal(closed.contacts.length, 0);
  assert.equal(closed.limitedBy, 'nothing_due');
  assert.equal(closed.limitedBy === 'nothing_due' && closed.nextDueAtMs, at('2026-03-07T13:00:00Z'), 'New York opens at 08:00 EST');
  assert.equal(at('2026-03-07T13:00:00Z'), nextWindowOpenMs(window, 'America/New_York', saturday));
  // The next day at the same UTC time New York is on EDT: 08:30, open. Tokyo is 21:30, closed.
  const sunday = await acts.claimDials({ ...base, tenantId, campaignId, claimId: 'k2', max: 5, window, nowMs: at('2026-03-08T12:30:00Z') });
  assert.deepEqual(sunday.contacts.map((c) => c.contactId), ['ny']);
  assert.equal(sunday.contacts[0]!.attempt, 1);
  // Tokyo's turn comes at 08:00 JST.
  const rest = await acts.claimDials({ ...base, tenantId, campaignId, claimId: 'k3', max: 5, window, nowMs: at('2026-03-08T12:30:00Z') });
  assert.equal(rest.limitedBy === 'nothing_due' && rest.nextDueAtMs, at('2026-03-08T23:00:00Z'));
});

test('a claim retried after it committed returns the same contacts and takes no more', async () => {
  const { tenantId, campaignId } = await setup();
  await seedCampaign(db, tenantId, campaignId, loadCampaignConfig(), numberedContacts(10));
  const acts = createCampaignActivities({ db, capacity: { sttStreams: 1000, ttsStreams: 1000 } });
  const now = Date.now();
  const dialsCounted = async () => (await metrics.campaignDials.get()).values.reduce((n, v) => n + v.value, 0);
  const countedBefore = await dialsCounted();
  const first = await acts.claimDials({ ...base, tenantId, campaignId, claimId: 'same', max: 3, nowMs: now, window: { start: '00:00', end: '23:59' } });
  const again = await acts.claimDials({ ...base, tenantId, campaignId, claimId: 'same', max: 3, nowMs: now, window: { start: '00:00', end: '23:59' } });
  assert.deepEqual(again.contacts, first.contacts);
  assert.equal((await dialsCounted()) - countedBefore, 3, 'the dials metric counts the retried claim’s dials once');
  const dialling = await db.selectFrom('contacts').select('id').where('campaign_id', '=', campaignId).where('state', '=', 'dialling').execute();
  assert.equal(dialling.length, 3);
  assert.deepEqual(first.contacts.map((c) => c.callId), ['c0', 'c1', 'c2'].map((c) => `outbound_${tenantId}_${campaignId}_${c}_1`));
});

test('a trunk’s channels and calls per second hold across campaigns; provider streams across tenants', async () => {
  const { tenantId, campaignId } = await setup({ maxCallsPerSecond: 2, maxChannels: 3 });
  const other = uniqueName('c');
  await seedCampaign(db, tenantId, campaignId, loadCampaignConfig(), numberedContacts(10));
  await seedCampaign(db, tenantId, other, loadCampaignConfig(), numberedContacts(10, { firstNumber: 100 }));
  const acts = createCampaignActivities({ db, capacity: { sttStreams: 1000, ttsStreams: 1000 } });
  const claim = (id: string, claimId: string) => acts.claimDials({ ...base, tenantId, campaignId: id, claimId, max: 10, nowMs: Date.now(), window: { start: '00:00', end: '23:59' } });
  const a = await claim(campaignId, 'a1');
  assert.equal(a.contacts.length, 2, 'two calls per second on this trunk');
  const b = await claim(other, 'b1');
  assert.equal(b.contacts.length, 0, 'the other campaign shares the trunk’s pace');
  assert.equal(b.limitedBy, 'trunk_rate');
  assert.ok(b.limitedBy === 'trunk_rate' && b.retryAfterMs > 0 && b.retryAfterMs <= 1000);
  await new Promise((r) => setTimeout(r, 1100));
  const b2 = await claim(other, 'b2');
  assert.equal(b2.contacts.length, 1, 'one channel of three left');
  assert.equal(b2.limitedBy, 'trunk_channels');
  // Ending a call frees its channel.
  await acts.recordOutcomes({ campaignId, outcomes: [{ callId: a.contacts[0]!.callId, contactId: a.contacts[0]!.contactId, attempt: 1, disposition: 'completed' }], allowRetries: true, nowMs: Date.now() });
  await new Promise((r) => setTimeout(r, 1100));
  const a2 = await claim(campaignId, 'a2');
  assert.equal(a2.contacts.length, 1);

  // Provider streams are one pool for the whole deployment.
  const t2 = await setup();
  await seedCampaign(db, t2.tenantId, t2.campaignId, loadCampaignConfig(), numberedContacts(10, { firstNumber: 200 }));
  const tight = createCampaignActivities({ db, capacity: { sttStreams: 1000, ttsStreams: 3 + (await heldTtsLeases()) } });
  const p = await tight.claimDials({ ...base, tenantId: t2.tenantId, campaignId: t2.campaignId, claimId: 'p1', max: 10, nowMs: Date.now(), window: { start: '00:00', end: '23:59' } });
  assert.equal(p.contacts.length, 3);
  assert.equal(p.limitedBy, 'provider_streams');
});

test('claimed ahead, a trunk’s calls per second is counted at each call’s planned dial time', async () => {
  const { tenantId, campaignId } = await setup({ maxCallsPerSecond: 2 });
  const other = uniqueName('c');
  await seedCampaign(db, tenantId, campaignId, loadCampaignConfig(), numberedContacts(10));
  await seedCampaign(db, tenantId, other, loadCampaignConfig(), numberedContacts(10, { firstNumber: 100 }));
  const acts = createCampaignActivities({ db, capacity: { sttStreams: 1000, ttsStreams: 1000 } });
  const now = Date.now();
  const claim = (id: string, claimId: string, firstAtMs: number) =>
    acts.claimDials({ ...base, tenantId, campaignId: id, claimId, max: 6, nowMs: now, window: { start: '00:00', end: '23:59' }, plan: { firstAtMs, intervalMs: 500 } });
  // Six calls over the next three seconds at 2 per second fit the trunk, though claimed at once.
  const a = await claim(campaignId, 'a1', now + 100);
  assert.equal(a.contacts.length, 6);
  // Another campaign planning the same seconds finds them taken, and when they free.
  const b = await claim(other, 'b1', now + 100);
  assert.equal(b.contacts.length, 0);
  assert.ok(b.limitedBy === 'trunk_rate' && b.retryAfterMs >= 1000, 'the first window frees a second after its first dial');
  // After the first campaign's last dial, the trunk has room again.
  const later = await claim(other, 'b2', now + 100 + 6 * 500 + 1000);
  assert.equal(later.contacts.length, 6);
  const dialAt = await db.selectFrom('capacity_leases').select('dial_at').where('holder', '=', a.contacts[5]!.callId).where('pool', '=', `trunk:${tenantId}:main`).executeTakeFirstOrThrow();
  assert.equal(dialAt.dial_at.getTime(), now + 100 + 5 * 500, 'the lease records when its call dials');
});

async function heldTtsLeases(): Promise<number> {
  const row = await db
    .selectFrom('capacity_leases')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('pool', '=', 'provider:tts')
    .where('released_at', 'is', null)
    .where('expires_at', '>', new Date())
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
