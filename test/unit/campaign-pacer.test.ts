/**
 * The campaign's pace and figures: slots 1/callsPerSecond apart on the workflow's clock,
 * no burst after a pause, and statistics from the state the campaign carries.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dueSlots, nextSlotAfter } from '../../workflows/campaign/pacer.js';
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
  // Ten seconds late at 10 per second: 100 slots missed, one second's worth still owed.
  const plan = dueSlots(0, 10_000, 10);
  assert.equal(plan.firstAtMs, 9100);
  assert.equal(plan.count, 10);
  // A slow pace still gets its one slot.
  assert.equal(dueSlots(0, 60_000, 0.2).count, 1);
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
});
