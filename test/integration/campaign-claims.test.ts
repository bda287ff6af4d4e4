/**
 * The campaign's claim against PostgreSQL, on its own: calling windows read in each
 * contact's zone by the database across a DST change (and agreeing with the workflow's
 * arithmetic), shared trunk and provider limits, a retried claim returning what it
 * already took instead of taking more, and contacts added while the campaign waits or
 * finishes.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { createCampaignActivities } from '../../activities/campaign.js';
import { unowedSlotLeadMs } from '../../activities/campaign-claim.js';
import { contactsArrived } from '../../activities/campaign-ledger.js';
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

test('the window is checked for when the calls dial: a contact whose window shuts before its slot waits for the next opening', async () => {
  const { tenantId, campaignId } = await setup();
  await seedCampaign(db, tenantId, campaignId, loadCampaignConfig(), [{ id: 'chi', phone: '+13125550101', timeZone: 'America/Chicago' }]);
  const acts = createCampaignActivities({ db, capacity: { sttStreams: 1000, ttsStreams: 1000 } });
  const window = { start: '08:00', end: '21:00' };
  // 2026-07-15 20:59:58 CDT: open now, but the third slot, a second apart, is after 21:00.
  const edge = at('2026-07-16T01:59:58Z');
  const late = await acts.claimDials({ ...base, tenantId, campaignId, claimId: 'k1', max: 3, window, nowMs: edge, plan: { firstAtMs: edge, intervalMs: 1000 } });
  assert.equal(late.contacts.length, 0, 'not claimed to dial into a shut window');
  assert.equal(late.limitedBy === 'nothing_due' && late.nextDueAtMs, at('2026-07-16T13:00:00Z'), 'due when the window next opens, 08:00 CDT');
  // Ten seconds earlier every slot falls inside the window.
  const inTime = await acts.claimDials({ ...base, tenantId, campaignId, claimId: 'k2', max: 3, window, nowMs: edge - 10_000, plan: { firstAtMs: edge - 10_000, intervalMs: 1000 } });
  assert.deepEqual(inTime.contacts.map((c) => c.contactId), ['chi']);
});

test('a claim retried after it committed returns the same contacts and takes no more', async () => {
  const { tenantId, campaignId } = await setup();
  await seedCampaign(db, tenantId, campaignId, loadCampaignConfig(), numberedContacts(10));
  const acts = createCampaignActivities({ db, capacity: { sttStreams: 1000, ttsStreams: 1000 } });
  const now = Date.now();
  const dialsCounted = async () => (await metrics.campaignDials.get()).values.reduce((n, v) => n + v.value, 0);
  const countedBefore = await dialsCounted();
  const first = await acts.claimDials({ ...base, tenantId, campaignId, claimId: 'same', max: 3, nowMs: now, window: { start: '00:00', end: '23:59' } });
  // Rows written since (here the first contact's) move in PostgreSQL's heap; the retry must
  // still return the claim's order, since the campaign gives the i-th contact the i-th slot.
  await db.updateTable('contacts').set({ updated_at: sql`now()` }).where('campaign_id', '=', campaignId).where('id', '=', 'c0').execute();
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

test('calls settle their own ends: lines freed, redials set, figures counted once, and a sleeping campaign woken, with a number, only by the end it waits for', async () => {
  const { tenantId, campaignId } = await setup();
  await seedCampaign(db, tenantId, campaignId, loadCampaignConfig(), numberedContacts(4));
  const acts = createCampaignActivities({ db, capacity: { sttStreams: 1000, ttsStreams: 1000 } });
  const allDay = { start: '00:00', end: '23:59' };
  const claim = (claimId: string, more: { lines: number; budget?: { limitUsd: number; estimatedCostPerCallUsd: number } }) =>
    acts.claimDials({ ...base, tenantId, campaignId, claimId, max: 10, nowMs: Date.now(), window: allDay, ...more });
  const wakeState = async () => (await db.selectFrom('campaigns').select(['wake_when', 'wake_due_before']).where('id', '=', campaignId).executeTakeFirstOrThrow()).wake_when;
  const end = (c: { callId: string; contactId: string }, disposition: 'completed' | 'busy', retryDelayMs?: number) =>
    acts.settleCampaignAttempt({ campaignId, outcome: { callId: c.callId, contactId: c.contactId, attempt: 1, disposition, ...(retryDelayMs !== undefined ? { retryDelayMs } : {}) }, endedAtMs: Date.now() });

  // Two lines: two calls, then the campaign sleeps until a call ends.
  const first = await claim('k1', { lines: 2 });
  assert.equal(first.contacts.length, 2);
  assert.equal(first.limitedBy, 'campaign_lines');
  assert.equal(first.figures?.dialling, 2);
  assert.equal(await wakeState(), 'call_ends');
  assert.deepEqual([first.figures?.wakeSeq, first.figures?.sleepsUntilWoken], [0, true], 'the claim says it sleeps, having seen no wake');
  const [a, b] = first.contacts as [typeof first.contacts[0], typeof first.contacts[0]];
  assert.deepEqual(await end(a, 'busy', 3_600_000), { wakeCampaign: true, wakeSeq: 1 }, 'the first end frees a line and wakes it, as wake 1');
  assert.equal(await wakeState(), null, 'once: the wait is cleared');
  const second = await claim('k2', { lines: 2 });
  assert.equal(second.contacts.length, 1, 'the freed line is used');
  assert.equal(second.figures?.wakeSeq, 1, 'the next claim has seen wake 1');
  const c = second.contacts[0]!;
  // One contact left undialled, waiting an hour: nothing due now, two calls in flight.
  const third = await claim('k3', { lines: 3 });
  assert.equal(third.contacts.length, 1);
  const d = third.contacts[0]!;
  const idle = await claim('k4', { lines: 10 });
  assert.equal(idle.limitedBy, 'nothing_due');
  assert.equal(await wakeState(), 'idle_or_due');
  assert.deepEqual(await end(b, 'completed'), { wakeCampaign: false }, 'an end that changes nothing lets it sleep');
  assert.deepEqual(await end(c, 'busy', 60_000), { wakeCampaign: true, wakeSeq: 2 }, 'a redial due before the hour wakes it');
  const awake = await claim('k5', { lines: 10 });
  assert.equal(awake.figures?.wakeSeq, 2);
  assert.deepEqual(await end(d, 'completed'), { wakeCampaign: true, wakeSeq: 3 }, 'the last call in flight wakes it');

  // A retried settle changes nothing and wakes again (its first try's wake may be lost),
  // with the number the campaign compares against what its last claim saw.
  assert.deepEqual(await end(d, 'completed'), { wakeCampaign: true, wakeSeq: 3 });
  const row = await db.selectFrom('campaigns').select(['attempt_outcomes']).where('id', '=', campaignId).executeTakeFirstOrThrow();
  assert.deepEqual(row.attempt_outcomes, { busy: 2, completed: 2 }, 'each attempt counted once');
  const contacts = await db.selectFrom('contacts').select(['id', 'state']).where('campaign_id', '=', campaignId).orderBy('id').execute();
  assert.deepEqual(Object.fromEntries(contacts.map((r) => [r.id, r.state])), { [a.contactId]: 'retry_wait', [b.contactId]: 'done', [c.contactId]: 'retry_wait', [d.contactId]: 'done' });

  // Stopping: a redial the policy grants is not made, and draining sleeps until the last call.
  const fourth = await acts.claimDials({ ...base, tenantId, campaignId, claimId: 'k6', max: 1, nowMs: Date.now() + 3_700_000, window: allDay, lines: 10 });
  assert.equal(fourth.contacts.length, 1);
  // Paused, the campaign watches its calls finish: the next end wakes it.
  const watched = await acts.readCampaignFigures({ campaignId, sleeps: true });
  assert.equal(watched.figures.dialling, 1);
  assert.equal(watched.figures.sleepsUntilWoken, true);
  assert.equal(await wakeState(), 'call_ends');
  assert.equal((await acts.readCampaignFigures({ campaignId, sleeps: false })).figures.sleepsUntilWoken, false, 'about to continue as new, it does not sleep');
  await db.updateTable('campaigns').set({ status: 'stopping' }).where('id', '=', campaignId).execute();
  const drained = await acts.drainCampaign({ campaignId, sleeps: true });
  assert.equal(drained.figures.dialling, 1);
  assert.equal(drained.tally.cancelled, 1, 'the queued redial is cancelled');
  assert.deepEqual(await end(fourth.contacts[0]!, 'busy', 60_000), { wakeCampaign: true, wakeSeq: 4 });
  const stopped = await db.selectFrom('contacts').select('state').where('campaign_id', '=', campaignId).where('id', '=', fourth.contacts[0]!.contactId).executeTakeFirstOrThrow();
  assert.equal(stopped.state, 'cancelled', 'no redial once the campaign stops');
  const empty = await acts.drainCampaign({ campaignId, sleeps: true });
  assert.deepEqual([empty.figures.dialling, empty.figures.sleepsUntilWoken, empty.figures.wakeSeq], [0, false, 4], 'nothing in flight: nothing to wait for');
});

test('a campaign’s budget is held by its claim from the spend its calls settled', async () => {
  const { tenantId, campaignId } = await setup();
  await seedCampaign(db, tenantId, campaignId, loadCampaignConfig(), numberedContacts(10));
  const acts = createCampaignActivities({ db, capacity: { sttStreams: 1000, ttsStreams: 1000 } });
  await db.updateTable('campaigns').set({ cost_usd: 0.3, costed_calls: 3 }).where('id', '=', campaignId).execute();
  // $0.10 a call so far and $0.65 budget: 0.3 spent, 3 more calls fit (0.6), not a fourth.
  const claimed = await acts.claimDials({ ...base, tenantId, campaignId, claimId: 'b1', max: 10, nowMs: Date.now(), window: { start: '00:00', end: '23:59' }, lines: 10, budget: { limitUsd: 0.65, estimatedCostPerCallUsd: 0.05 } });
  assert.equal(claimed.contacts.length, 3);
  assert.equal(claimed.limitedBy, 'budget');
  const none = await acts.claimDials({ ...base, tenantId, campaignId, claimId: 'b2', max: 10, nowMs: Date.now(), window: { start: '00:00', end: '23:59' }, lines: 10, budget: { limitUsd: 0.65, estimatedCostPerCallUsd: 0.05 } });
  assert.equal(none.contacts.length, 0, 'calls in flight are projected at the average');
  assert.equal(none.limitedBy, 'budget');
});

test('contacts added to a campaign asleep until something falls due wake it with a number; a finishing campaign keeps them; an ended one refuses them', async () => {
  const { tenantId, campaignId } = await setup();
  await seedCampaign(db, tenantId, campaignId, loadCampaignConfig(), numberedContacts(1));
  await db.updateTable('campaigns').set({ status: 'running' }).where('id', '=', campaignId).execute();
  const acts = createCampaignActivities({ db, capacity: { sttStreams: 1000, ttsStreams: 1000 } });
  const claim = (claimId: string) => acts.claimDials({ ...base, tenantId, campaignId, claimId, max: 10, nowMs: Date.now(), window: { start: '00:00', end: '23:59' }, lines: 10 });
  // As an import does: the contacts and the arrival in one transaction.
  const add = (ids: string[]) =>
    db.transaction().execute(async (trx) => {
      await trx
        .insertInto('contacts')
        .values(ids.map((id) => ({ campaign_id: campaignId, id, tenant_id: tenantId, phone_e164: `+1555999${id.slice(-1)}000`, time_zone: 'UTC', consent: true, import_id: 'late', source_row: 1 })))
        .execute();
      return contactsArrived(trx, campaignId);
    });

  // Lines full (a call in flight, one line): new contacts need no wake, a call's end brings it.
  const busy = await acts.claimDials({ ...base, tenantId, campaignId, claimId: 'k1', max: 10, nowMs: Date.now(), window: { start: '00:00', end: '23:59' }, lines: 1 });
  assert.equal(busy.contacts.length, 1);
  const inFlight = busy.contacts[0]!;
  assert.deepEqual(await add(['late1']), { accepted: true }, 'asleep on its lines: no wake');
  await acts.settleCampaignAttempt({ campaignId, outcome: { callId: inFlight.callId, contactId: inFlight.contactId, attempt: 1, disposition: 'completed' }, endedAtMs: Date.now() });
  const taken = await claim('k2');
  assert.deepEqual(taken.contacts.map((c) => c.contactId), ['late1']);
  await acts.settleCampaignAttempt({ campaignId, outcome: { callId: taken.contacts[0]!.callId, contactId: 'late1', attempt: 1, disposition: 'completed' }, endedAtMs: Date.now() });

  // Nothing due, nothing left: the campaign sleeps until something falls due.
  const idle = await claim('k3');
  assert.equal(idle.limitedBy, 'nothing_due');
  const seen = idle.figures!.wakeSeq;
  const woken = await add(['late2']);
  assert.deepEqual(woken, { accepted: true, wakeSeq: seen + 1 }, 'the import takes the next wake number');
  // The last claim found nothing, but the finish looks again under the lock the import took.
  const kept = await acts.finishCampaign({ tenantId, campaignId, status: 'completed', costUsd: 0, dials: 2, unlessContactsOpen: true });
  assert.equal(kept.pending, 1, 'the finish reports the added contact');
  const row = async () => db.selectFrom('campaigns').select(['status', 'finished_at']).where('id', '=', campaignId).executeTakeFirstOrThrow();
  assert.deepEqual(await row(), { status: 'running', finished_at: null }, 'and leaves the campaign running');
  const completed = await db.selectFrom('domain_events').select('id').where('id', '=', `${campaignId}:campaign.completed`).executeTakeFirst();
  assert.equal(completed, undefined, 'no campaign.completed was announced');

  const last = await claim('k4');
  assert.deepEqual(last.contacts.map((c) => c.contactId), ['late2']);
  await acts.settleCampaignAttempt({ campaignId, outcome: { callId: last.contacts[0]!.callId, contactId: 'late2', attempt: 1, disposition: 'completed' }, endedAtMs: Date.now() });
  assert.equal((await claim('k5')).limitedBy, 'nothing_due');
  const done = await acts.finishCampaign({ tenantId, campaignId, status: 'completed', costUsd: 0, dials: 3, unlessContactsOpen: true });
  assert.deepEqual([done.done, done.pending], [3, 0]);
  assert.equal((await row()).status, 'completed');
  // Whatever an import read before, under the lock it finds the campaign ended (the API then rolls it back, 409).
  assert.deepEqual(await add(['late3']), { accepted: false, status: 'completed' });
});

test('redials whose delay has passed go before contacts not yet dialled, unless the campaign dials its first pass first', async () => {
  const allDay = { start: '00:00', end: '23:59' };
  const acts = createCampaignActivities({ db, capacity: { sttStreams: 1000, ttsStreams: 1000 } });
  // Six contacts; the first three dialled and busy: c2 may be redialled after 0.5 s, c0
  // after 1 s, c1 only after a minute.
  const campaignWithRedials = async () => {
    const { tenantId, campaignId } = await setup();
    await seedCampaign(db, tenantId, campaignId, loadCampaignConfig(), numberedContacts(6));
    const t0 = Date.now();
    const first = await acts.claimDials({ ...base, tenantId, campaignId, claimId: 'k1', max: 3, nowMs: t0, window: allDay });
    assert.deepEqual(first.contacts.map((c) => c.contactId), ['c0', 'c1', 'c2']);
    const delayMs: Record<string, number> = { c0: 1_000, c1: 60_000, c2: 500 };
    for (const c of first.contacts) {
      await acts.settleCampaignAttempt({ campaignId, outcome: { callId: c.callId, contactId: c.contactId, attempt: 1, disposition: 'busy', retryDelayMs: delayMs[c.contactId]! }, endedAtMs: t0 });
    }
    return { tenantId, campaignId, later: t0 + 2_000 };
  };
  const claimed = (claim: { contacts: { contactId: string; attempt: number }[] }) => claim.contacts.map((c) => `${c.contactId}#${c.attempt}`);

  const onTime = await campaignWithRedials();
  const byDefault = await acts.claimDials({ ...base, ...onTime, claimId: 'k2', max: 3, nowMs: onTime.later, window: allDay });
  assert.deepEqual(claimed(byDefault), ['c2#2', 'c0#2', 'c3#1'], 'the due redials first, the longest due first; the one not yet due waits');

  const firstPass = await campaignWithRedials();
  const pass = { ...base, ...firstPass, redialOrder: 'after_first_pass' as const, nowMs: firstPass.later, window: allDay };
  assert.deepEqual(claimed(await acts.claimDials({ ...pass, claimId: 'k2', max: 2 })), ['c3#1', 'c4#1']);
  assert.deepEqual(claimed(await acts.claimDials({ ...pass, claimId: 'k3', max: 3 })), ['c5#1', 'c2#2', 'c0#2'], 'redials once every contact has been dialled');
});

test('slots owed to no one start a lead past the claim, and a retried claim returns the times it leased', async () => {
  const { tenantId, campaignId } = await setup();
  await seedCampaign(db, tenantId, campaignId, loadCampaignConfig(), numberedContacts(4));
  const acts = createCampaignActivities({ db, capacity: { sttStreams: 1000, ttsStreams: 1000 } });
  const allDay = { start: '00:00', end: '23:59' };
  // The workflow's clock lags after a signal woke it: its plan starts 2 s in the past.
  const before = Date.now();
  const stale = { firstAtMs: before - 2_000, intervalMs: 200 };
  const owed = await acts.claimDials({ ...base, tenantId, campaignId, claimId: 'owed', max: 1, nowMs: stale.firstAtMs, window: allDay, plan: stale });
  assert.equal(owed.plannedFirstAtMs, stale.firstAtMs, 'slots the campaign was late for keep their times');
  const unowed = await acts.claimDials({ ...base, tenantId, campaignId, claimId: 'unowed', max: 2, nowMs: stale.firstAtMs, window: allDay, plan: { ...stale, unowed: true } });
  assert.equal(unowed.contacts.length, 2);
  // Past the claim by the lead its calls need to be started and running by then.
  assert.ok(unowed.plannedFirstAtMs! >= before + unowedSlotLeadMs, `unowed slots start ${unowedSlotLeadMs} ms past the claim, not ${unowed.plannedFirstAtMs! - before} ms`);
  const leases = await db
    .selectFrom('capacity_leases')
    .select(sql<number>`extract(epoch from dial_at) * 1000`.as('atMs'))
    .where('pool', '=', `trunk:${tenantId}:main`)
    .where('holder', 'in', unowed.contacts.map((c) => c.callId))
    .orderBy('dial_at')
    .execute();
  assert.deepEqual(leases.map((l) => Number(l.atMs)), [unowed.plannedFirstAtMs!, unowed.plannedFirstAtMs! + 200], 'the trunk’s pace is counted at the times the calls will dial');
  const again = await acts.claimDials({ ...base, tenantId, campaignId, claimId: 'unowed', max: 2, nowMs: stale.firstAtMs, window: allDay, plan: { ...stale, unowed: true } });
  assert.deepEqual([again.contacts.map((c) => c.contactId).sort(), again.plannedFirstAtMs], [unowed.contacts.map((c) => c.contactId).sort(), unowed.plannedFirstAtMs]);
});
