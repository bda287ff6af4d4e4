/**
 * What a campaign workflow asks of PostgreSQL, as activities: claim the contacts it may
 * dial now (`campaign-claim.ts`), record how attempts ended, close the queue, and report
 * counts (`campaign-ledger.ts` keeps the rows). Each is idempotent: a claim retried after a
 * crash returns the contacts it already took, and an outcome recorded twice changes nothing.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { sql } from 'kysely';
import type { Db } from '../deploy/db/schema.js';
import type { CallOutcome, ContactTally } from '../workflows/campaign/types.js';
import { FailureType } from '../workflows/errors.js';
import { claimContacts, type ClaimRequest, type ClaimResult, type ProviderCapacity } from './campaign-claim.js';
import {
  cancelQueued,
  contactTally,
  countDialling,
  dialingStatuses,
  figuresAndWake,
  lockCampaign,
  priceAndCount,
  settleContacts,
  type CampaignFigures,
} from './campaign-ledger.js';
import { defaultPrices, type PriceTable } from './pricing.js';
import { metrics } from '../deploy/telemetry/metrics.js';

/**
 * The activity's clock as it finished, returned to the campaign, whose clock for choices
 * by time moves only on what history holds (workflows/campaign/clock.ts). Optional: a
 * result from a worker older than this has none.
 */
export interface Clocked {
  finishedAtMs?: number;
}

export function createCampaignActivities(deps: { db: Db; capacity: ProviderCapacity; prices?: PriceTable }) {
  const { db } = deps;
  const prices = deps.prices ?? defaultPrices;


  /**
   * A call's usage event comes after its end, through the event bridge: wait a moment for
   * it, so a call is priced with its speech and tokens and not with telephony alone. A call
   * whose usage never comes (its agent died) is priced with what there is.
   */
  async function usageArrived(callIds: string[], maxWaitMs = 5000): Promise<void> {
    const deadline = Date.now() + maxWaitMs;
    while (callIds.length > 0) {
      const waiting = await db
        .selectFrom('calls')
        .select('calls.id')
        .where('calls.id', 'in', callIds)
        .where('calls.answered_at', 'is not', null)
        .where('calls.cost_usd', 'is', null)
        .where((eb) => eb.not(eb.exists(eb.selectFrom('call_usage').select('call_usage.call_id').whereRef('call_usage.call_id', '=', 'calls.id'))))
        .execute();
      if (waiting.length === 0 || Date.now() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /**
   * `campaign.progress` at each tenth of the contacts in a final state (done or
   * cancelled), once per tenth by its ID; a jump past several tenths emits each of them.
   */
  async function emitProgress(campaignId: string, t: ContactTally): Promise<void> {
    const tenths = t.total === 0 ? 0 : Math.floor(((t.done + t.cancelled) * 10) / t.total);
    if (tenths === 0) return;
    const campaign = await db.selectFrom('campaigns').select('tenant_id').where('id', '=', campaignId).executeTakeFirst();
    if (!campaign) return;
    const occurredAt = new Date();
    await db
      .insertInto('domain_events')
      .values(
        Array.from({ length: tenths }, (_, i) => (i + 1) * 10).map((percent) => ({
          id: `${campaignId}:campaign.progress:${percent}`,
          tenant_id: campaign.tenant_id,
          type: 'campaign.progress',
          call_id: null,
          campaign_id: campaignId,
          payload: JSON.stringify({ campaignId, percent, contacts: t }),
          occurred_at: occurredAt,
        })),
      )
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }

  return {
    /** Marks the campaign running (first run only keeps its start time) and counts its contacts. */
    async openCampaign(input: { tenantId: string; campaignId: string }): Promise<ContactTally> {
      const updated = await db
        .updateTable('campaigns')
        .set({ status: 'running', started_at: sql`coalesce(started_at, now())`, updated_at: sql`now()` })
        .where('id', '=', input.campaignId)
        .where('tenant_id', '=', input.tenantId)
        .executeTakeFirst();
      if (updated.numUpdatedRows === 0n) {
        throw ApplicationFailure.create({ type: FailureType.InvalidInput, message: `campaign ${input.campaignId} does not exist for this tenant`, nonRetryable: true });
      }
      return contactTally(db, input.campaignId);
    },

    async claimDials(req: ClaimRequest): Promise<ClaimResult & Clocked> {
      const { claim: claimed, repeated } = await claimContacts(db, deps.capacity, req);
      // A repeated claim's dials were counted when it first committed.
      if (!repeated) metrics.campaignDials.inc(claimed.contacts.length);
      if (!repeated && (claimed.limitedBy === 'trunk_rate' || claimed.limitedBy === 'trunk_channels' || claimed.limitedBy === 'provider_streams')) {
        metrics.campaignDialsWithheld.inc({ limit: claimed.limitedBy });
      }
      if (claimed.tally) await emitProgress(req.campaignId, claimed.tally);
      return { ...claimed, finishedAtMs: Date.now() };
    },

    /**
     * Writes how attempts ended: the contact waits for its next attempt or is done (no
     * more retries once the queue is closed), its capacity is released, and each call is
     * priced. Returns the cost added and a fresh tally, and emits `campaign.progress`.
     */
    async recordOutcomes(input: { campaignId: string; outcomes: CallOutcome[]; allowRetries: boolean; nowMs: number }): Promise<{ costUsd: number; costedCalls: number; tally: ContactTally } & Clocked> {
      await usageArrived(input.outcomes.map((o) => o.callId));
      const priced = await db.transaction().execute(async (trx) => {
        await lockCampaign(trx, input.campaignId);
        const settled = await settleContacts(trx, input.campaignId, input.outcomes, input.allowRetries, input.nowMs);
        return priceAndCount(trx, input.campaignId, input.outcomes.map((o) => o.callId), prices, settled);
      });
      const t = await contactTally(db, input.campaignId);
      await emitProgress(input.campaignId, t);
      return { ...priced, tally: t, finishedAtMs: Date.now() };
    },

    /**
     * A call of the campaign settles its own end: its contact moves on (a redial only
     * while the campaign still dials), its capacity is freed, it is priced and counted in
     * the campaign's figures, all in one transaction under the campaign's row lock. The
     * campaign hears nothing of it unless it sleeps waiting for such an end: then this
     * call clears the wait and says so, and the call wakes it with one signal carrying the
     * wake's number (`wakeSeq`), so the campaign can tell a wake its last claim already saw.
     */
    async settleCampaignAttempt(input: { campaignId: string; outcome: CallOutcome; endedAtMs: number }): Promise<{ wakeCampaign: boolean; wakeSeq?: number }> {
      await usageArrived([input.outcome.callId]);
      return db.transaction().execute(async (trx) => {
        const campaign = await lockCampaign(trx, input.campaignId);
        if (!campaign) return { wakeCampaign: false };
        const settled = await settleContacts(trx, input.campaignId, [input.outcome], dialingStatuses.has(campaign.status), input.endedAtMs);
        await priceAndCount(trx, input.campaignId, [input.outcome.callId], prices, settled);
        // Settled by an earlier try whose result was lost: that try may have cleared the
        // wait without its wake being sent, so wake again (a spare wake costs one pass).
        if (settled.length === 0) return { wakeCampaign: true, wakeSeq: campaign.wake_seq };
        let wake = campaign.wake_when === 'call_ends';
        if (campaign.wake_when === 'idle_or_due') {
          const retryAtMs = dialingStatuses.has(campaign.status) && input.outcome.retryDelayMs !== undefined ? input.endedAtMs + input.outcome.retryDelayMs : undefined;
          wake = (retryAtMs !== undefined && (campaign.wake_due_before === null || retryAtMs < campaign.wake_due_before.getTime())) || (await countDialling(trx, input.campaignId)) === 0;
        }
        if (!wake) return { wakeCampaign: false };
        // The wait is over, and this wake takes the next number.
        const woken = await trx
          .updateTable('campaigns')
          .set({ wake_when: null, wake_due_before: null, wake_seq: sql`wake_seq + 1` })
          .where('id', '=', input.campaignId)
          .returning('wake_seq')
          .executeTakeFirstOrThrow();
        return { wakeCampaign: true, wakeSeq: woken.wake_seq };
      });
    },

    /**
     * A paused campaign's view of its calls finishing: its figures, and (while calls are
     * in flight) a wait that the next call's end wakes, so its in-flight count stays true.
     */
    async readCampaignFigures(input: { campaignId: string; sleeps: boolean }): Promise<{ tally: ContactTally; figures: CampaignFigures } & Clocked> {
      const read = await db.transaction().execute(async (trx) => {
        await lockCampaign(trx, input.campaignId);
        return figuresAndWake(trx, input.campaignId, input.sleeps ? 'call_ends' : undefined);
      });
      return { ...read, finishedAtMs: Date.now() };
    },

    /**
     * A stopping campaign's pass: queued contacts are cancelled (once; later passes find
     * none) and, while calls are still in flight, it sleeps until the last one ends.
     */
    async drainCampaign(input: { campaignId: string; sleeps: boolean }): Promise<{ tally: ContactTally; figures: CampaignFigures } & Clocked> {
      const drained = await db.transaction().execute(async (trx) => {
        await lockCampaign(trx, input.campaignId);
        await cancelQueued(trx, input.campaignId);
        return figuresAndWake(trx, input.campaignId, input.sleeps ? 'idle_or_due' : undefined);
      });
      await emitProgress(input.campaignId, drained.tally);
      return { ...drained, finishedAtMs: Date.now() };
    },

    /** Ends queued work: contacts not yet dialled (or waiting to be redialled) are cancelled. */
    async closeQueue(input: { campaignId: string }): Promise<ContactTally> {
      await cancelQueued(db, input.campaignId);
      return contactTally(db, input.campaignId);
    },

    /**
     * Records the campaign's end and emits `campaign.completed` for webhooks. With
     * `unlessContactsOpen`, a campaign with open contacts (added after its last claim found
     * none, `contactsArrived`) is left running; the tally it returns shows them.
     */
    async finishCampaign(input: {
      tenantId: string;
      campaignId: string;
      status: 'completed' | 'cancelled' | 'stopped';
      stopReason?: string;
      note?: string;
      costUsd: number;
      dials: number;
      unlessContactsOpen?: boolean;
    }): Promise<ContactTally> {
      // Before the end, in its own transaction, so webhooks see progress before `campaign.completed`.
      await emitProgress(input.campaignId, await contactTally(db, input.campaignId));
      return db.transaction().execute(async (trx) => {
        // The lock an import takes to add contacts: they are in this tally, or it finds the campaign ended.
        await lockCampaign(trx, input.campaignId);
        const tally = await contactTally(trx, input.campaignId);
        if (input.unlessContactsOpen && tally.pending + tally.retryWait > 0) return tally;
        await trx
          .updateTable('campaigns')
          .set({ status: input.status, stop_reason: input.stopReason ?? null, finished_at: sql`coalesce(finished_at, now())`, updated_at: sql`now()` })
          .where('id', '=', input.campaignId)
          .where('tenant_id', '=', input.tenantId)
          .execute();
        // A campaign may end while paused (its last contacts done as the pause came in).
        await trx.updateTable('campaign_pauses').set({ ended_at: sql<Date>`now()` }).where('campaign_id', '=', input.campaignId).where('ended_at', 'is', null).execute();
        await trx
          .insertInto('domain_events')
          .values({
            id: `${input.campaignId}:campaign.completed`,
            tenant_id: input.tenantId,
            type: 'campaign.completed',
            call_id: null,
            campaign_id: input.campaignId,
            payload: JSON.stringify({ campaignId: input.campaignId, status: input.status, stopReason: input.stopReason, note: input.note, contacts: tally, dials: input.dials, costUsd: input.costUsd }),
            occurred_at: new Date(),
          })
          .onConflict((oc) => oc.column('id').doNothing())
          .execute();
        return tally;
      });
    },

    /**
     * Sets the campaign row's status as the workflow changes it (paused, running), and
     * keeps its pauses: a pause opens one (once, however often this is retried), any
     * other status closes it. Undefined in the history of a campaign run by a worker from
     * before `Clocked`.
     */
    async setCampaignStatus(input: { tenantId: string; campaignId: string; status: string; stopReason?: string }): Promise<Clocked | undefined> {
      await db.transaction().execute(async (tx) => {
        const updated = await tx
          .updateTable('campaigns')
          .set({ status: input.status, ...(input.stopReason ? { stop_reason: input.stopReason } : {}), updated_at: sql`now()` })
          .where('id', '=', input.campaignId)
          .where('tenant_id', '=', input.tenantId)
          .executeTakeFirst();
        if (updated.numUpdatedRows === 0n) return;
        if (input.status === 'paused') {
          await tx
            .insertInto('campaign_pauses')
            .values({ campaign_id: input.campaignId, paused_at: sql<Date>`now()` })
            .onConflict((oc) => oc.column('campaign_id').where('ended_at', 'is', null).doNothing())
            .execute();
        } else {
          await tx.updateTable('campaign_pauses').set({ ended_at: sql<Date>`now()` }).where('campaign_id', '=', input.campaignId).where('ended_at', 'is', null).execute();
        }
      });
      return { finishedAtMs: Date.now() };
    },
  };
}

export type CampaignActivities = ReturnType<typeof createCampaignActivities>;
