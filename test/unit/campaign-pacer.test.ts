/**
 * The campaign's pace and figures: slots 1/callsPerSecond apart on the workflow's clock,
 * no burst after a pause, and statistics from the state the campaign carries.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { claimAheadMs, dueSlots, nextClaimAtMs, nextSlotAfter } from '../../workflows/campaign/pacer.js';
import { campaignStats } from '../../workflows/campaign/stats.js';
import type { CampaignCarry, CampaignConfig } from '../../workflows/campaign/types.js';

test('slots come 1/callsPerSecond apart, each with its planned time', () => {
  const plan = dueSlots(1000, 1200, 10);
  // (1000 is within the second owed, so nothing is dropped.)
  assert.deepEqual(plan, { count: 3, firstAtMs: 1000, intervalMs: 100 }, 'slots at 1000, 1100 and 1200');
  assert.equal(nextSlotAfter(plan, 3), 1300);
  assert.equal(nextSlotAfter(plan, 1), 1100, 'slots not used stay owed');
  assert.equal(dueSlots(1500, 1450, 10).count, 0, 'nothing before the next slot');
});

test('a campaign that could not dial for a while does not make up for it in a burst', () => {
  // Ten seconds late at 10 per second: the last three seconds' slots are still owed
  // (7000 … 9900) with the one due now; the 70 before them are dropped.
  const plan = dueSlots(0, 10_000, 10);
  assert.equal(plan.firstAtMs, 7000);
  assert.equal(plan.count, 31);
  // A slow pace still gets its one slot, on its grid.
  assert.deepEqual(dueSlots(0, 60_000, 0.2), { count: 1, firstAtMs: 60_000, intervalMs: 5000 });
  assert.deepEqual(dueSlots(0, 7_000, 0.2), { count: 1, firstAtMs: 5000, intervalMs: 5000 }, 'the slot missed 2 s ago');
  assert.deepEqual(dueSlots(0, 9_000, 0.2), { count: 1, firstAtMs: 5000, intervalMs: 5000 }, 'the slot missed 4 s ago');
});

test('a loop that wakes late for every slot still keeps the configured pace', () => {
  // Each pass (claim, starts, outcomes) finishes 600 ms, or on a busy server 2.5 s, after
  // the slot it woke for: at 1 call/s the pace must still be 1 call/s, not 1 per 1.6 s.
  for (const [callsPerSecond, passMs] of [[0.5, 600], [1, 600], [2, 600], [10, 600], [2, 2500], [10, 2500]] as const) {
    let next = 0;
    let now = 0;
    let dials = 0;
    const horizonMs = 120_000;
    while (now < horizonMs) {
      now = Math.max(now, next) + passMs;
      const plan = dueSlots(next, now, callsPerSecond);
      // Dials counted by their planned time: the last pass may run past the horizon.
      for (let i = 0; i < plan.count; i++) if (plan.firstAtMs + i * plan.intervalMs < horizonMs) dials += 1;
      next = nextSlotAfter(plan, plan.count);
    }
    const achieved = dials / (horizonMs / 1000);
    assert.ok(Math.abs(achieved - callsPerSecond) / callsPerSecond < 0.02, `${achieved} calls/s at a pace of ${callsPerSecond}, passes of ${passMs} ms`);
  }
});

test('slots are claimed ahead: those up to the claim window from now, past ones still owed', () => {
  // At 2 per second, 3 s ahead from 10 000: slots 10 000 … 13 000.
  assert.deepEqual(dueSlots(10_000, 10_000, 2, 3000), { count: 7, firstAtMs: 10_000, intervalMs: 500 });
  // The next unclaimed slot is still beyond the window: nothing to claim yet.
  assert.equal(dueSlots(13_500, 10_000, 2, 3000).count, 0);
  // A loop 10 s late still owes 3 s of slots, and claims 3 s ahead of now as well.
  assert.deepEqual(dueSlots(0, 10_000, 2, 3000), { count: 13, firstAtMs: 7000, intervalMs: 500 });
  // The loop claims again when the next slot is half a window away, so every slot is
  // claimed at least that long before its time.
  assert.equal(nextClaimAtMs(13_500), 13_500 - claimAheadMs / 2);
});

test('claiming ahead keeps the pace and claims every slot before its time', () => {
  for (const [callsPerSecond, passMs] of [[0.5, 600], [2, 600], [2, 1400], [10, 600], [10, 1400]] as const) {
    let next = 0;
    let now = 0;
    let dials = 0;
    let minLeadMs = Infinity;
    const horizonMs = 120_000;
    while (now < horizonMs) {
      // A pass starts when the loop wakes and claims when it ends.
      now = Math.max(now, nextClaimAtMs(next)) + passMs;
      const plan = dueSlots(next, now, callsPerSecond, claimAheadMs);
      for (let i = 0; i < plan.count; i++) {
        const at = plan.firstAtMs + i * plan.intervalMs;
        if (at < horizonMs) dials += 1;
        // The campaign's first slot is its start: only the first pass claims it late.
        if (next > 0) minLeadMs = Math.min(minLeadMs, at - now);
      }
      next = nextSlotAfter(plan, plan.count);
    }
    const achieved = dials / (horizonMs / 1000);
    assert.ok(Math.abs(achieved - callsPerSecond) / callsPerSecond < 0.02, `${achieved} calls/s at a pace of ${callsPerSecond}, passes of ${passMs} ms`);
    // Passes shorter than half the window never claim a slot after its time.
    assert.ok(minLeadMs >= 0, `a slot claimed ${-minLeadMs} ms late at ${callsPerSecond}/s, passes of ${passMs} ms`);
  }
});

test('statistics: achieved pace over the dialling span, estimated completion from what is left', () => {
  const config = { callsPerSecond: 10 } as CampaignConfig;
  const s: CampaignCarry = {
    status: 'running',
    inFlight: { a: { contactId: 'c1', attempt: 1, startedAtMs: 0 } },
    unrecorded: [],
    nextSlotAtMs: 0,
    claims: 3,
    runs: 0,
    dials: 101,
    attemptOutcomes: { completed: 60, busy: 40 },
    costUsd: 1.5,
    costedCalls: 100,
    queueClosed: false,
    startedAtMs: Date.parse('2026-11-27T10:00:00Z'),
    firstDialAtMs: Date.parse('2026-11-27T10:00:00Z'),
    lastDialAtMs: Date.parse('2026-11-27T10:00:20Z'),
    tally: { total: 500, pending: 350, dialling: 1, retryWait: 50, done: 99, cancelled: 0, dispositions: { completed: 60, busy: 39 } },
  };
  const stats = campaignStats('cmp-1', config, s, Date.parse('2026-11-27T10:00:20Z'));
  assert.equal(stats.callsPerSecondAchieved, 5, '100 intervals in 20 s');
  assert.equal(stats.inFlight, 1);
  assert.equal(stats.estimatedCompletionAt, '2026-11-27T10:01:40.000Z', '400 contacts left at 5 per second');
  assert.equal(campaignStats('cmp-1', config, { ...s, status: 'paused' }, 0).estimatedCompletionAt, undefined, 'no estimate while paused');
  // A run whose calls settle themselves counts its calls in flight in PostgreSQL.
  assert.equal(campaignStats('cmp-1', config, { ...s, inFlight: {}, dialling: 7 }, 0).inFlight, 7);
  // Paused for an hour between dials: the pace is over the 20 s of dialling, not 3,620 s.
  const resumed = { ...s, lastDialAtMs: Date.parse('2026-11-27T11:00:20Z'), pausedBetweenDialsMs: 3_600_000 };
  assert.equal(campaignStats('cmp-1', config, resumed, Date.parse('2026-11-27T11:00:20Z')).callsPerSecondAchieved, 5);
  assert.equal(campaignStats('cmp-1', config, resumed, 0).pausedMs, 3_600_000);
  // Resumed with no dial since: that pause is outside the span and changes nothing yet.
  assert.equal(campaignStats('cmp-1', config, { ...s, pausedSinceLastDialMs: 3_600_000 }, 0).callsPerSecondAchieved, 5);
  // Paused now: the pause under way counts up to the workflow's time the query is given.
  const pausedNow = { ...s, status: 'paused' as const, pausedAtMs: Date.parse('2026-11-27T10:00:30Z') };
  assert.equal(campaignStats('cmp-1', config, pausedNow, Date.parse('2026-11-27T10:01:30Z')).pausedMs, 60_000);
  // No longer paused (stopping after a cancel): a pause left unended does not keep growing.
  assert.equal(campaignStats('cmp-1', config, { ...pausedNow, status: 'stopping' }, Date.parse('2026-11-27T10:01:30Z')).pausedMs, 0);
});
