/**
 * The campaign actor in load mode: real Temporal, PostgreSQL, NATS and the event bridge,
 * with the telephony simulator at the dial boundary. Every contact must be accounted for
 * exactly once, with attempts matching the retry policy; shared trunk limits hold across
 * campaigns; pause, resume and cancel behave as operators expect; a budget stops dialling;
 * an opt-out reaches every campaign of the tenant.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy } from '@nats-io/jetstream';
import { WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { pino } from 'pino';
import { auditCampaign } from '../../bench/campaign/audit.js';
import { defaultDistribution, type OutcomeDistribution } from '../../activities/telephony-simulator.js';
import { createDb, type Db } from '../../deploy/db/schema.js';
import { createCampaignActivities } from '../../activities/campaign.js';
import { createStrandedAttemptActivities } from '../../activities/stranded-attempts.js';
import { startEventBridge, type EventBridge } from '../../workers/event-bridge.js';
import { campaignWorkflow, firstRunState } from '../../workflows/campaign/campaign.js';
import { campaignStatsQuery, cancelCampaignUpdate, pauseCampaignUpdate, resumeCampaignUpdate } from '../../workflows/campaign/messages.js';
import type { CampaignCarry, CampaignConfig } from '../../workflows/campaign/types.js';
import { campaignWorkflowId } from '../../workflows/ids.js';
import { loadCampaignConfig, loadModeWorker, numberedContacts, peakConcurrentCalls, seedCampaign, seedTrunk } from '../helpers/campaigns.js';
import { config, uniqueName, testBridgeIdleMs } from '../helpers/env.js';
import { saveHistoryIfRecording } from '../helpers/histories.js';
import { temporalClient } from '../helpers/temporal.js';

let nc: NatsConnection;
let db: Db;
let client: Client;
let closeClient: () => Promise<void>;
let bridge: EventBridge;
before(async () => {
  nc = await connect({ servers: config.nats.url });
  db = createDb(config.postgres.url, { maxConnections: 4 });
  ({ client, close: closeClient } = await temporalClient());
  bridge = await startEventBridge({ nc, temporal: client, db, log: pino({ level: 'silent' }), durableName: uniqueName('campaign-bridge'), deliverPolicy: DeliverPolicy.New, removeWhenIdleMs: testBridgeIdleMs });
});
after(async () => {
  await bridge.stop();
  await db.destroy();
  await nc.close();
  await closeClient();
});

const tenant = () => uniqueName('t');

function startCampaign(taskQueue: string, tenantId: string, campaignId: string, campaignConfig: CampaignConfig) {
  return client.workflow.start(campaignWorkflow, {
    workflowId: campaignWorkflowId(tenantId, campaignId),
    taskQueue,
    args: [{ tenantId, campaignId, config: campaignConfig }],
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** An update the campaign's validator refused, with the reason operators see. */
async function refused(update: Promise<unknown>, reason: RegExp): Promise<void> {
  await assert.rejects(update, (err: Error) => {
    const message = err instanceof WorkflowUpdateFailedError ? String((err.cause)?.message) : err.message;
    assert.match(message, reason);
    return true;
  });
}

/** A load-mode worker whose every call ends the same way. */
function everyCallEnds(outcome: keyof OutcomeDistribution) {
  const none: OutcomeDistribution = { answered: 0, voicemail: 0, busy: 0, no_answer: 0, rejected: 0, failed: 0, opted_out: 0 };
  return loadModeWorker({ distribution: { ...none, [outcome]: 1 } });
}

/** Runs a seeded campaign on its own worker until it ends; saves its history when recording. */
async function runToEnd(w: Awaited<ReturnType<typeof loadModeWorker>>, tenantId: string, campaignId: string, campaignConfig: CampaignConfig, historyName: string) {
  const result = await w.worker.runUntil(async () => {
    const handle = await startCampaign(w.taskQueue, tenantId, campaignId, campaignConfig);
    const ended = await handle.result();
    await saveHistoryIfRecording(handle, historyName);
    return ended;
  });
  await w.close();
  return result;
}

/** The audit finds nothing wrong; returns the number of calls. */
async function assertExactAccounting(campaignId: string, campaignConfig: CampaignConfig, contactCount: number): Promise<number> {
  const audit = await auditCampaign(db, campaignId, campaignConfig.retry);
  assert.deepEqual(audit.problems, [], 'every contact accounted for once, attempts as the policy says');
  assert.equal(audit.contacts, contactCount);
  assert.equal(audit.reattachedDials, 0, 'no dial was retried (no crash here)');
  return audit.calls;
}

test('two campaigns on one trunk: every contact accounted for once, attempts as the policy says, the trunk’s channel limit held', async () => {
  const tenantId = tenant();
  await seedTrunk(db, tenantId, { id: 'main', maxCallsPerSecond: 50, maxChannels: 10 });
  const campaignConfig = loadCampaignConfig({ callsPerSecond: 25, maxConcurrentCalls: 8 });
  const a = uniqueName('a');
  const b = uniqueName('b');
  await seedCampaign(db, tenantId, a, campaignConfig, numberedContacts(30, { prefix: 'a' }));
  await seedCampaign(db, tenantId, b, campaignConfig, numberedContacts(30, { prefix: 'b', firstNumber: 5000 }));
  // Outcomes are drawn per call from a fresh seed. With the default mix, 60 contacts ended
  // in fewer than four final dispositions in ~2 % of runs (a rehearsal saw only no_answer,
  // rejected and completed); with more voicemail, busy and failed lines that falls below
  // 1 in 20,000 (simulated), and more contacts are redialled.
  const w = await loadModeWorker({ distribution: { ...defaultDistribution, answered: 35, voicemail: 20, busy: 15, failed: 10 } });
  const [ra, rb] = await w.worker.runUntil(async () => {
    const ha = await startCampaign(w.taskQueue, tenantId, a, campaignConfig);
    const hb = await startCampaign(w.taskQueue, tenantId, b, campaignConfig);
    const results = await Promise.all([ha.result(), hb.result()]);
    await saveHistoryIfRecording(ha, 'campaign-shared-trunk-retries');
    // A call that settled a redial with its campaign itself.
    const redialled = await db.selectFrom('calls').select('id').where('campaign_id', '=', a).where('disposition', '=', 'busy').limit(1).executeTakeFirst();
    if (redialled) await saveHistoryIfRecording(client.workflow.getHandle(redialled.id), 'call-campaign-call-settles-its-redial');
    return results;
  });
  await w.close();

  for (const [id, result] of [[a, ra], [b, rb]] as const) {
    assert.equal(result.status, 'completed');
    assert.equal(result.contacts.total, 30);
    assert.equal(result.contacts.done, 30, 'every contact done');
    assert.equal(result.contacts.pending + result.contacts.retryWait + result.contacts.dialling, 0);
    const calls = await assertExactAccounting(id, campaignConfig, 30);
    assert.equal(result.dials, calls, 'the campaign counted each call it started once');
    assert.ok(calls > 30, 'some contacts were redialled');
    const costs = await db.selectFrom('calls').select((eb) => eb.fn.sum<number>('cost_usd').as('total')).where('campaign_id', '=', id).executeTakeFirstOrThrow();
    assert.ok(Math.abs(Number(costs.total) - result.costUsd) < 1e-9, 'the campaign’s cost is the sum of its priced calls');
  }
  const dispositions = Object.keys({ ...ra.contacts.dispositions, ...rb.contacts.dispositions });
  assert.ok(dispositions.length >= 4, `several final outcomes (${dispositions.join(', ')})`);
  const allCalls = await db.selectFrom('calls').select('id').where('campaign_id', 'in', [a, b]).execute();
  const peak = await peakConcurrentCalls(db, allCalls.map((c) => c.id));
  assert.ok(peak <= 10, `at most the trunk’s 10 channels in use across both campaigns, which would take 16 (peak ${peak})`);
  const lags = await db.selectFrom('calls').select('scheduling_lag_ms').where('campaign_id', 'in', [a, b]).execute();
  assert.ok(lags.every((l) => l.scheduling_lag_ms !== null && l.scheduling_lag_ms >= 0), 'each call knows how late it started against its planned slot');
});

test('pause lets calls in flight finish and dials nothing more; resume continues; invalid transitions are refused; cancel ends queued work and says why', async () => {
  const tenantId = tenant();
  await seedTrunk(db, tenantId, { id: 'main', maxCallsPerSecond: 50, maxChannels: 50 });
  const campaignConfig = loadCampaignConfig({ callsPerSecond: 4, maxConcurrentCalls: 4 });
  const id = uniqueName('p');
  await seedCampaign(db, tenantId, id, campaignConfig, numberedContacts(80));
  let events: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events'] = [];
  const w = await loadModeWorker();
  await w.worker.runUntil(async () => {
    const handle = await startCampaign(w.taskQueue, tenantId, id, campaignConfig);
    await waitFor('a few dials', async () => ((await handle.query(campaignStatsQuery)).dials >= 5 ? true : undefined));
    const pausingAtMs = Date.now();
    assert.deepEqual(await handle.executeUpdate(pauseCampaignUpdate), { status: 'paused' });
    await refused(handle.executeUpdate(pauseCampaignUpdate), /a paused campaign cannot be paused; only a running one can/);
    const paused = await waitFor('calls in flight to finish', async () => {
      const s = await handle.query(campaignStatsQuery);
      return s.inFlight === 0 ? s : undefined;
    });
    // Longer than the claims' 4 s lead: the clock then lags the resume by more than it.
    await new Promise((r) => setTimeout(r, 7000));
    const later = await handle.query(campaignStatsQuery);
    assert.equal(later.dials, paused.dials, 'nothing dialled while paused');
    assert.equal(later.status, 'paused');
    const row = await db.selectFrom('campaigns').select('status').where('id', '=', id).executeTakeFirstOrThrow();
    assert.equal(row.status, 'paused', 'the campaign’s record says paused');

    assert.deepEqual(await handle.executeUpdate(resumeCampaignUpdate), { status: 'running' });
    const pauseWallMs = Date.now() - pausingAtMs;
    const resumedAtMs = Date.now();
    const firstDialAfterMs = await waitFor('a dial after the resume', async () => ((await handle.query(campaignStatsQuery)).dials > paused.dials ? Date.now() - resumedAtMs : undefined));
    // Not after sleeping as long as the campaign's clock lagged the resume (the pause, less the claims' lead).
    assert.ok(firstDialAfterMs < 2500, `the first dial came ${firstDialAfterMs} ms after the resume`);
    const resumed = await waitFor('dialling again', async () => {
      const s = await handle.query(campaignStatsQuery);
      return s.dials >= paused.dials + 8 ? s : undefined;
    });
    // The record's end is written by an activity after the resume returns: bounded by now.
    const sincePausingMs = Date.now() - pausingAtMs;
    // The campaign kept the time it spent paused, which its achieved pace leaves out (stats.ts).
    assert.ok(resumed.pausedMs >= 7000 && resumed.pausedMs <= pauseWallMs, `paused ${resumed.pausedMs} ms, between 7,000 and the ${pauseWallMs} ms from pause to resume`);
    // So did its record, which the API's statistics read (campaign_pauses).
    const pauses = await db.selectFrom('campaign_pauses').select(['paused_at', 'ended_at']).where('campaign_id', '=', id).execute();
    assert.equal(pauses.length, 1, 'one pause recorded');
    const recordedMs = pauses[0]!.ended_at!.getTime() - pauses[0]!.paused_at.getTime();
    assert.ok(recordedMs >= 7000 && recordedMs <= sincePausingMs, `the recorded pause lasted ${recordedMs} ms`);
    await refused(handle.executeUpdate(cancelCampaignUpdate, { args: [{ reason: '  ' }] }), /a cancellation needs a reason/);
    assert.deepEqual(await handle.executeUpdate(cancelCampaignUpdate, { args: [{ reason: 'client asked to stop' }] }), { status: 'stopping' });
    const result = await handle.result();
    await saveHistoryIfRecording(handle, 'campaign-pause-resume-cancel');
    events = (await handle.fetchHistory()).events ?? [];
    assert.equal(result.status, 'cancelled');
    assert.equal(result.stopReason, 'cancelled');
    assert.ok(result.contacts.cancelled > 0, 'queued contacts were cancelled');
    assert.equal(result.contacts.done + result.contacts.cancelled, 80, 'every contact either done or cancelled');
    assert.equal(result.contacts.dialling + result.contacts.pending + result.contacts.retryWait, 0);
    await refused(handle.executeUpdate(resumeCampaignUpdate), /a cancelled campaign cannot be resumed|workflow execution already completed/i);
  });
  await w.close();
  const row = await db.selectFrom('campaigns').select(['status', 'stop_reason', 'finished_at']).where('id', '=', id).executeTakeFirstOrThrow();
  assert.equal(row.status, 'cancelled');
  assert.equal(row.stop_reason, 'cancelled');
  assert.ok(row.finished_at);
  const audit = await auditCampaign(db, id, campaignConfig.retry, { finalStates: ['done', 'cancelled'] });
  assert.deepEqual(audit.problems, [], 'calls in flight at the cancel finished and were recorded; nothing dialled twice');
  const event = await db.selectFrom('domain_events').select('payload').where('id', '=', `${id}:campaign.completed`).executeTakeFirstOrThrow();
  assert.equal((event.payload as { note?: string }).note, 'client asked to stop', 'the reason is recorded');
  // The first claim and the first after the resume plan slots nobody waited for: unowed,
  // so the claim starts them a lead past itself rather than in a past they start late for.
  const decoded = (p: { data?: Uint8Array | null } | undefined) => JSON.parse(Buffer.from(p?.data ?? []).toString('utf8')) as unknown;
  const resumedAt = events.findIndex((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === resumeCampaignUpdate.name);
  const claims = events.flatMap((e, i) =>
    e.activityTaskScheduledEventAttributes?.activityType?.name === 'claimDials' ? [{ i, plan: (decoded(e.activityTaskScheduledEventAttributes.input?.payloads?.[0]) as { plan?: { unowed?: boolean } }).plan }] : [],
  );
  assert.ok(resumedAt > 0 && claims.length > 2);
  assert.equal(claims[0]!.plan?.unowed, true, 'the first claim’s slots are unowed');
  assert.equal(claims.find((c) => c.i > resumedAt)?.plan?.unowed, true, 'so are the first after the resume');
});

test('a pause heard in the pass that continued as new is written by the next run, which dials nothing', async () => {
  const tenantId = tenant();
  await seedTrunk(db, tenantId, { id: 'main', maxCallsPerSecond: 50, maxChannels: 50 });
  const campaignConfig = loadCampaignConfig({ callsPerSecond: 4, maxConcurrentCalls: 4 });
  const id = uniqueName('can');
  await seedCampaign(db, tenantId, id, campaignConfig, numberedContacts(5));
  await db.updateTable('campaigns').set({ status: 'running' }).where('id', '=', id).execute();
  // What the last run carried: paused in its memory, not yet in the campaign's row.
  const carry: CampaignCarry = { ...firstRunState(Date.now()), runs: 1, status: 'paused', statusUnstored: 'paused' };
  const w = await loadModeWorker();
  await w.worker.runUntil(async () => {
    const handle = await client.workflow.start(campaignWorkflow, { workflowId: campaignWorkflowId(tenantId, id), taskQueue: w.taskQueue, args: [{ tenantId, campaignId: id, config: campaignConfig, carry }] });
    try {
      await waitFor('the row to say paused', async () => ((await db.selectFrom('campaigns').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status === 'paused' ? true : undefined), 20_000);
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal((await handle.query(campaignStatsQuery)).dials, 0, 'nothing dialled while paused');
      await handle.executeUpdate(cancelCampaignUpdate, { args: [{ reason: 'test over' }] });
      assert.equal((await handle.result()).status, 'cancelled');
    } catch (err) {
      // A paused campaign waits for ever: end it, so a failure fails rather than hangs.
      await handle.terminate('test failed').catch(() => undefined);
      throw err;
    }
  });
  await w.close();
});

test('a redial an hour away does not hold up the contacts due now', async () => {
  const tenantId = tenant();
  await seedTrunk(db, tenantId, { id: 'main', maxCallsPerSecond: 50, maxChannels: 50 });
  const campaignConfig = loadCampaignConfig({ callsPerSecond: 4, maxConcurrentCalls: 4, retry: { busy: { maxAttempts: 2, delayS: 3600 } } });
  const id = uniqueName('redial');
  await seedCampaign(db, tenantId, id, campaignConfig, numberedContacts(12));
  // Every line busy: each outcome grants a redial in an hour.
  const w = await everyCallEnds('busy');
  const result = await w.worker.runUntil(async () => {
    const handle = await startCampaign(w.taskQueue, tenantId, id, campaignConfig);
    // Twelve first attempts at 4 per second take 3 s; a campaign that waited for the first
    // redial would make a handful and then wait an hour.
    const stats = await waitFor('every contact’s first attempt', async () => {
      const s = await handle.query(campaignStatsQuery);
      return s.dials >= 12 && s.inFlight === 0 ? s : undefined;
    });
    assert.equal(stats.dials, 12, 'no contact was redialled early');
    await handle.executeUpdate(cancelCampaignUpdate, { args: [{ reason: 'test over' }] });
    const ended = await handle.result();
    await saveHistoryIfRecording(handle, 'campaign-redial-an-hour-away');
    return ended;
  });
  await w.close();
  assert.equal(result.status, 'cancelled');
  assert.equal(result.contacts.cancelled, 12, 'the redials an hour away were cancelled with the campaign');
});

test('a redial that falls due while the campaign idles takes a slot from then, not one left unused before', async () => {
  const tenantId = tenant();
  await seedTrunk(db, tenantId, { id: 'main', maxCallsPerSecond: 50, maxChannels: 50 });
  // Three contacts at one call a second, every line busy, one redial 5 s later: the first
  // attempts take three slots of the first claim, which finds nothing more due and leaves
  // the rest unused; each redial falls due while the campaign sleeps.
  const delayS = 5;
  const campaignConfig = loadCampaignConfig({ callsPerSecond: 1, maxConcurrentCalls: 4, retry: { busy: { maxAttempts: 2, delayS } } });
  const id = uniqueName('idle');
  await seedCampaign(db, tenantId, id, campaignConfig, numberedContacts(3));
  const result = await runToEnd(await everyCallEnds('busy'), tenantId, id, campaignConfig, 'campaign-idle-slots');
  assert.equal(result.status, 'completed');
  const calls = await db.selectFrom('calls').select(['id', 'contact_id', 'attempt']).where('campaign_id', '=', id).execute();
  assert.equal(calls.length, 6, 'two attempts per contact');
  const plannedAtMs = async (callId: string) => {
    const started = (await client.workflow.getHandle(callId).fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
    const input = JSON.parse(Buffer.from(started!.input!.payloads![0]!.data!).toString()) as { plannedAtMs: number };
    return input.plannedAtMs;
  };
  for (const contactId of ['c0', 'c1', 'c2']) {
    const [first, redial] = await Promise.all([1, 2].map((attempt) => plannedAtMs(calls.find((c) => c.contact_id === contactId && c.attempt === attempt)!.id)));
    // The redial fell due `delayS` after the first attempt ended, which was after its slot.
    assert.ok(redial! >= first! + delayS * 1000, `${contactId}: redial planned ${redial! - first!} ms after the first attempt's slot, before it fell due`);
  }
});

test('a budget stops dialling once the projected spend would pass it', async () => {
  const tenantId = tenant();
  await seedTrunk(db, tenantId, { id: 'main', maxCallsPerSecond: 50, maxChannels: 50 });
  // Every call answered and priced; one at a time, so each dial sees the spend so far.
  // A simulated answered call costs about a cent (speech, tokens, telephony): room for a few.
  const campaignConfig = loadCampaignConfig({ callsPerSecond: 20, maxConcurrentCalls: 1, budgetUsd: 0.05, estimatedCostPerCallUsd: 0.01 });
  const id = uniqueName('budget');
  await seedCampaign(db, tenantId, id, campaignConfig, numberedContacts(40));
  const result = await runToEnd(await everyCallEnds('answered'), tenantId, id, campaignConfig, 'campaign-budget-stop');
  assert.equal(result.status, 'stopped');
  assert.equal(result.stopReason, 'budget');
  assert.ok(result.dials > 0 && result.dials < 40, `stopped part-way (${result.dials} dials)`);
  assert.equal(result.contacts.cancelled, 40 - result.dials, 'the contacts not dialled were cancelled');
  const costs = await db.selectFrom('calls').select('cost_usd').where('campaign_id', '=', id).execute();
  const spent = costs.reduce((sum, c) => sum + (c.cost_usd ?? 0), 0);
  const dearest = Math.max(...costs.map((c) => c.cost_usd ?? 0));
  const cheapest = Math.min(...costs.map((c) => c.cost_usd ?? 0));
  assert.ok(spent <= campaignConfig.budgetUsd! + dearest - cheapest + 1e-9, `spent ${spent} against a budget of ${campaignConfig.budgetUsd}`);
  assert.ok(spent + cheapest > campaignConfig.budgetUsd! - dearest, 'it did not stop while a call clearly still fitted');
});

test('an opt-out during a call takes the number out of every campaign of the tenant', async () => {
  const tenantId = tenant();
  await seedTrunk(db, tenantId, { id: 'main', maxCallsPerSecond: 50, maxChannels: 50 });
  const campaignConfig = loadCampaignConfig();
  const first = uniqueName('first');
  const second = uniqueName('second');
  const contacts = numberedContacts(5, { firstNumber: 9000 });
  await seedCampaign(db, tenantId, first, campaignConfig, contacts);
  await seedCampaign(db, tenantId, second, campaignConfig, contacts);
  const w = await everyCallEnds('opted_out');
  const [result, other, secondResult] = await w.worker.runUntil(async () => {
    const firstResult = await (await startCampaign(w.taskQueue, tenantId, first, campaignConfig)).result();
    const untouched = await db.selectFrom('contacts').select(['state', 'last_disposition', 'attempts']).where('campaign_id', '=', second).execute();
    // Started afterwards, the other campaign has nothing to do.
    const later = await (await startCampaign(w.taskQueue, tenantId, second, campaignConfig)).result();
    return [firstResult, untouched, later] as const;
  });
  await w.close();
  assert.deepEqual(result.contacts.dispositions, { opted_out: 5 });
  const listed = await db.selectFrom('do_not_call').select('phone_e164').where('tenant_id', '=', tenantId).execute();
  assert.deepEqual(listed.map((r) => r.phone_e164).sort(), contacts.map((c) => c.phone).sort());
  assert.ok(other.every((c) => c.state === 'done' && c.last_disposition === 'blocked' && c.attempts === 0), 'the other campaign will never dial them');
  assert.equal(secondResult.dials, 0);
  assert.deepEqual(secondResult.contacts.dispositions, { blocked: 5 });
});

test('a call workflow terminated mid-call is settled as failed by the stranded-attempts sweep, and its campaign completes', async () => {
  const tenantId = tenant();
  await seedTrunk(db, tenantId, { id: 'main', maxCallsPerSecond: 50, maxChannels: 50 });
  const campaignConfig = loadCampaignConfig({ maxConcurrentCalls: 1 });
  const id = uniqueName('stranded');
  await seedCampaign(db, tenantId, id, campaignConfig, numberedContacts(1, { firstNumber: 7000 }));
  // At real time the simulated phone rings for 2 s or more: terminated while it rings, the
  // call cannot have settled on its own (a call terminated as it ends may still settle).
  const w = await loadModeWorker({ timeScale: 1, distribution: { answered: 1, voicemail: 0, busy: 0, no_answer: 0, rejected: 0, failed: 0, opted_out: 0 } });
  const sweep = createStrandedAttemptActivities({ db, temporal: client, campaigns: createCampaignActivities({ db, capacity: config.capacity }), log: pino({ level: 'silent' }) });
  const running = w.worker.runUntil(async () => {
    const handle = await startCampaign(w.taskQueue, tenantId, id, campaignConfig);
    const victim = await waitFor('a call ringing', async () => {
      const row = await db
        .selectFrom('contacts')
        .innerJoin('calls', 'calls.id', 'contacts.call_id')
        .select(['contacts.id', 'contacts.call_id'])
        .where('contacts.campaign_id', '=', id)
        .where('contacts.state', '=', 'dialling')
        .where('calls.status', '=', 'dialling')
        .executeTakeFirst();
      return row ?? undefined;
    });
    // As an operator does in the Temporal UI: the call never settles with its campaign.
    await client.workflow.getHandle(victim.call_id!).terminate('operator stopped this call');
    // Other tests' campaigns may have left attempts dialling too: look at all of them.
    const report = await sweep.settleStrandedAttempts({ olderThanMs: 0, limit: 100_000 });
    const settled = await db.selectFrom('contacts').select(['state', 'last_disposition']).where('campaign_id', '=', id).where('id', '=', victim.id).executeTakeFirstOrThrow();
    assert.deepEqual(settled, { state: 'done', last_disposition: 'failed' }, `the terminated call’s attempt was settled: ${JSON.stringify(report)}`);
    const again = await sweep.settleStrandedAttempts({ olderThanMs: 0, limit: 100_000 });
    assert.equal(again.settled, 0, 'settled once');
    const ended = await handle.result();
    return { ended, victim };
  });
  // A failed assertion must not leave the worker (and this file) running.
  const result = await running.finally(() => w.close());
  assert.equal(result.ended.status, 'completed', 'the campaign finished instead of waiting for ever on the terminated call');
  assert.equal(result.ended.contacts.done, 1);
  const contact = await db.selectFrom('contacts').select(['state', 'last_disposition', 'attempts']).where('campaign_id', '=', id).where('id', '=', result.victim.id).executeTakeFirstOrThrow();
  assert.deepEqual(contact, { state: 'done', last_disposition: 'failed', attempts: 1 }, 'failed, and not dialled again');
  const call = await db.selectFrom('calls').select(['status', 'disposition', 'end_reason']).where('id', '=', result.victim.call_id!).executeTakeFirstOrThrow();
  assert.deepEqual(call, { status: 'ended', disposition: 'failed', end_reason: 'workflow_terminated' });
});
