/**
 * What a campaign workflow asks of PostgreSQL: claim the contacts it may dial now (due,
 * inside their calling window, within every capacity limit), record how attempts ended,
 * close the queue, and report counts. Each is idempotent: a claim retried after a crash
 * returns the contacts it already took, and an outcome recorded twice changes nothing.
 *
 * Capacity is shared through lease rows under a per-pool advisory lock: an outbound
 * trunk's channels and calls per second (across every campaign of the tenant) and the
 * providers' concurrent streams (across the deployment).
 */
import { ApplicationFailure } from '@temporalio/activity';
import { sql } from 'kysely';
import type { Db } from '../deploy/db/schema.js';
import { nextWindowOpenMs, defaultCallingWindow, type CallingWindow } from '../workflows/call/calling-window.js';
import type { Disposition } from '../workflows/call/types.js';
import type { CallOutcome, ContactTally, RedialOrder } from '../workflows/campaign/types.js';
import { FailureType, InvalidInputError } from '../workflows/errors.js';
import { callWorkflowId } from '../workflows/ids.js';
import { callCost, defaultPrices, type PriceTable } from './pricing.js';
import { admitByRate } from './trunk-rate.js';
import { metrics } from '../deploy/telemetry/metrics.js';

export interface ClaimRequest {
  tenantId: string;
  campaignId: string;
  /** Names this claim; the same ID returns the same contacts. */
  claimId: string;
  trunkId: string;
  max: number;
  window?: CallingWindow;
  /** Whether due redials go before contacts not yet dialled; default `when_due`. */
  redialOrder?: RedialOrder;
  /** The workflow's clock: windows and due times are read at this instant. */
  nowMs: number;
  /** How long a lease lives if its holder never releases it. */
  leaseTtlMs: number;
  /**
   * The slots being claimed for: the i-th contact dials at `firstAtMs + i * intervalMs`,
   * and the trunk's calls per second is checked at those times. Absent: all dial at `nowMs`.
   */
  plan?: {
    firstAtMs: number;
    intervalMs: number;
    /**
     * No slot is owed (the campaign's first claim, its first after a resume, or the last
     * claim found nothing more due): start the slots `unowedSlotLeadMs` past the claim
     * itself. The workflow's clock lags the wall clock after a signal woke it
     * (workflows/campaign/clock.ts), so its plan may lie in the past; a call dialled at
     * once against it would count that as lag, for slots no one waited for.
     */
    unowed?: boolean;
  };
  /**
   * The campaign's own lines, counted from its contacts being dialled. Set by campaigns
   * whose calls settle their own outcomes (`settleCampaignAttempt`): the claim then also
   * holds the budget, writes what wakes the campaign if it must wait, and returns the
   * campaign's figures. Absent: the workflow counted its lines and budget itself.
   */
  lines?: number;
  budget?: { limitUsd: number; estimatedCostPerCallUsd: number };
  /**
   * False right before the campaign continues as new: it will claim again at once, so no
   * call needs to wake it, and a wake signal crossing that task would fail it.
   */
  sleeps?: boolean;
}

/** The campaign's running figures, kept in its row as its calls settle. */
export interface CampaignFigures {
  /** Contacts being dialled: the campaign's calls in flight. */
  dialling: number;
  costUsd: number;
  costedCalls: number;
  /** Ended attempts by disposition. */
  attempts: Partial<Record<Disposition, number>>;
  /** The number of the last wake a call's end sent (`settleCampaignAttempt`): later ones are news. */
  wakeSeq: number;
  /** This pass left the campaign asleep until a call's end wakes it. */
  sleepsUntilWoken: boolean;
}

/** The campaign's own limit on this claim: free lines, or the calls its budget still pays for. */
type OwnLimit = { room: number; limitedBy: 'campaign_lines' | 'budget' };

/** What wakes a sleeping campaign; written in its row by the pass that decided to sleep. */
type WakeWhen = { when: 'call_ends' } | { when: 'idle_or_due'; dueBeforeMs?: number } | undefined;

export interface ClaimedContact {
  contactId: string;
  attempt: number;
  callId: string;
  phoneE164: string;
  timeZone: string;
  consent: boolean;
}

export type ClaimResult = {
  contacts: ClaimedContact[];
  trunk: { address: string; numbers: string[] };
} & (
  | { limitedBy: 'none' }
  /** A shared limit is full: try again after `retryAfterMs`. */
  | { limitedBy: 'trunk_rate' | 'trunk_channels' | 'provider_streams'; retryAfterMs: number }
  /** Nothing more is due now; the next contact falls due at `nextDueAtMs` (absent: none left). */
  | { limitedBy: 'nothing_due'; nextDueAtMs?: number }
  /** The campaign's own lines are all busy, or its budget would be passed: a call's end wakes it. */
  | { limitedBy: 'campaign_lines' | 'budget' }
) & {
  figures?: CampaignFigures;
  tally?: ContactTally;
  /** With a plan: the first slot's time as claimed (its leases' dial time), later than planned if it was unowed and not `unowedSlotLeadMs` ahead. */
  plannedFirstAtMs?: number;
};

/**
 * The activity's clock as it finished, returned to the campaign, whose clock for choices
 * by time moves only on what history holds (workflows/campaign/clock.ts). Optional: a
 * result from a worker older than this has none.
 */
export interface Clocked {
  finishedAtMs?: number;
}

const openStates = ['pending', 'retry_wait'] as const;

/**
 * How far past the claim unowed slots begin. Nobody waited for them (a campaign's first
 * slots, a resumed one's, a redial falling due on its own), so the plan is free to leave
 * room for what still has to happen before the first call runs: this claim's commit, the
 * starts and the call's first workflow task. Planned at the claim's own time, those calls
 * began 0.3–1.0 s after their slots on this 2-core machine (a 300-contact load-mode run,
 * 2026-12-07: the first pass and the last redials held every lag above 250 ms).
 */
export const unowedSlotLeadMs = 1000;

/** A campaign's contacts by state, and the final dispositions of those done. Takes a transaction too. */
export async function contactTally(db: Db, campaignId: string): Promise<ContactTally> {
  const rows = await db
    .selectFrom('contacts')
    .select(['state', 'last_disposition', sql<number>`count(*)::int`.as('n')])
    .where('campaign_id', '=', campaignId)
    .groupBy(['state', 'last_disposition'])
    .execute();
  const t: ContactTally = { total: 0, pending: 0, dialling: 0, retryWait: 0, done: 0, cancelled: 0, dispositions: {} };
  for (const r of rows) {
    t.total += r.n;
    if (r.state === 'pending') t.pending += r.n;
    else if (r.state === 'dialling') t.dialling += r.n;
    else if (r.state === 'retry_wait') t.retryWait += r.n;
    else if (r.state === 'cancelled') t.cancelled += r.n;
    else if (r.state === 'done') {
      t.done += r.n;
      const d = (r.last_disposition ?? 'failed') as Disposition;
      t.dispositions[d] = (t.dispositions[d] ?? 0) + r.n;
    }
  }
  return t;
}

/** The campaign's row, locked: claims, settles and drains of one campaign take turns. */
async function lockCampaign(trx: Db, campaignId: string) {
  return trx
    .selectFrom('campaigns')
    .select(['status', 'cost_usd', 'costed_calls', 'attempt_outcomes', 'wake_when', 'wake_due_before', 'wake_seq'])
    .where('id', '=', campaignId)
    .forUpdate()
    .executeTakeFirst();
}

async function countDialling(trx: Db, campaignId: string): Promise<number> {
  const row = await trx.selectFrom('contacts').select(sql<number>`count(*)::int`.as('n')).where('campaign_id', '=', campaignId).where('state', '=', 'dialling').executeTakeFirstOrThrow();
  return row.n;
}

async function writeWake(trx: Db, campaignId: string, wake: WakeWhen): Promise<void> {
  await trx
    .updateTable('campaigns')
    .set({ wake_when: wake?.when ?? null, wake_due_before: wake?.when === 'idle_or_due' && wake.dueBeforeMs !== undefined ? new Date(wake.dueBeforeMs) : null })
    .where('id', '=', campaignId)
    .execute();
}

/** Cancels the contacts not yet dialled or waiting for a redial: a stopped campaign's queued work. */
async function cancelQueued(trx: Db, campaignId: string): Promise<void> {
  await trx.updateTable('contacts').set({ state: 'cancelled', claim_id: null, updated_at: sql`now()` }).where('campaign_id', '=', campaignId).where('state', 'in', openStates).execute();
}

/**
 * The figures of a campaign that dials nothing this pass (paused or stopping) and, when it
 * will sleep while calls are in flight, what wakes it. Runs under the campaign's row lock.
 */
async function figuresAndWake(trx: Db, campaignId: string, sleepsUntil: 'call_ends' | 'idle_or_due' | undefined): Promise<{ tally: ContactTally; figures: CampaignFigures }> {
  const figures = await figuresOf(trx, campaignId);
  const wake = sleepsUntil && figures.dialling > 0 ? { when: sleepsUntil } : undefined;
  await writeWake(trx, campaignId, wake);
  return { tally: await contactTally(trx, campaignId), figures: { ...figures, sleepsUntilWoken: wake !== undefined } };
}

/**
 * Moves each attempt's contact on: waiting for its next attempt, or done (or cancelled:
 * a redial the policy grants that a stopped campaign will not make), and frees its
 * capacity. Only a contact still dialling this very call moves, so a repeated outcome
 * changes nothing. Returns the outcomes that moved a contact.
 */
async function settleContacts(trx: Db, campaignId: string, outcomes: CallOutcome[], allowRetries: boolean, nowMs: number): Promise<CallOutcome[]> {
  const settled: CallOutcome[] = [];
  for (const o of outcomes) {
    const retry = allowRetries && o.retryDelayMs !== undefined;
    const redialCancelled = !allowRetries && o.retryDelayMs !== undefined;
    const moved = await trx
      .updateTable('contacts')
      .set({
        state: retry ? 'retry_wait' : redialCancelled ? 'cancelled' : 'done',
        next_attempt_at: retry ? new Date(nowMs + o.retryDelayMs!) : null,
        last_disposition: o.disposition,
        claim_id: null,
        updated_at: sql`now()`,
      })
      .where('campaign_id', '=', campaignId)
      .where('id', '=', o.contactId)
      .where('call_id', '=', o.callId)
      .where('state', '=', 'dialling')
      .executeTakeFirst();
    if (moved.numUpdatedRows > 0n) settled.push(o);
  }
  const callIds = outcomes.map((o) => o.callId);
  if (callIds.length > 0) {
    await trx.updateTable('capacity_leases').set({ released_at: sql`clock_timestamp()` }).where('holder', 'in', callIds).where('released_at', 'is', null).execute();
  }
  return settled;
}

/** Prices each call once (cost_usd is null until then) and adds it to the campaign's figures with the attempts settled. */
async function priceAndCount(trx: Db, campaignId: string, callIds: string[], prices: PriceTable, settled: CallOutcome[]): Promise<{ costUsd: number; costedCalls: number }> {
  let costUsd = 0;
  let costedCalls = 0;
  if (callIds.length > 0) {
    const calls = await trx
      .selectFrom('calls')
      .leftJoin('call_usage', 'call_usage.call_id', 'calls.id')
      .select([
        'calls.id',
        sql<number>`coalesce(extract(epoch from (calls.ended_at - calls.answered_at)), 0)`.as('connectedS'),
        sql<number>`coalesce(sum(call_usage.stt_audio_s), 0)`.as('sttS'),
        sql<number>`coalesce(sum(call_usage.tts_characters), 0)::int`.as('ttsChars'),
        sql<{ model: string; inputTokens: number; outputTokens: number }[]>`coalesce(json_agg(json_build_object('model', call_usage.llm_model, 'inputTokens', call_usage.llm_input_tokens, 'outputTokens', call_usage.llm_output_tokens)) filter (where call_usage.call_id is not null), '[]')`.as('llm'),
      ])
      .where('calls.id', 'in', callIds)
      .where('calls.cost_usd', 'is', null)
      .groupBy('calls.id')
      .execute();
    for (const c of calls) {
      const cost = callCost({ sttAudioS: Number(c.sttS), ttsCharacters: c.ttsChars, llm: c.llm, connectedS: Number(c.connectedS) }, prices).totalUsd;
      await trx.updateTable('calls').set({ cost_usd: cost }).where('id', '=', c.id).execute();
      costUsd += cost;
      costedCalls++;
    }
  }
  if (costedCalls > 0 || settled.length > 0) {
    const byDisposition = new Map<string, number>();
    for (const o of settled) byDisposition.set(o.disposition, (byDisposition.get(o.disposition) ?? 0) + 1);
    // One jsonb addition per disposition: {"busy": 3} + 1 -> {"busy": 4}.
    let attempts = sql`attempt_outcomes`;
    for (const [d, n] of byDisposition) attempts = sql`jsonb_set(${attempts}, ${sql.val([d])}::text[], to_jsonb(coalesce((attempt_outcomes ->> ${d})::int, 0) + ${n}))`;
    await trx
      .updateTable('campaigns')
      .set({ cost_usd: sql`cost_usd + ${costUsd}`, costed_calls: sql`costed_calls + ${costedCalls}`, attempt_outcomes: sql`${attempts}` })
      .where('id', '=', campaignId)
      .execute();
  }
  return { costUsd, costedCalls };
}

async function figuresOf(trx: Db, campaignId: string): Promise<CampaignFigures> {
  const row = await trx.selectFrom('campaigns').select(['cost_usd', 'costed_calls', 'attempt_outcomes', 'wake_seq', 'wake_when']).where('id', '=', campaignId).executeTakeFirstOrThrow();
  return {
    dialling: await countDialling(trx, campaignId),
    costUsd: row.cost_usd,
    costedCalls: row.costed_calls,
    attempts: row.attempt_outcomes,
    wakeSeq: row.wake_seq,
    sleepsUntilWoken: row.wake_when !== null,
  };
}

/** Statuses of a campaign row that still dial (redials, new contacts); a stopping or ended one does not. */
export const dialingStatuses = new Set(['draft', 'running', 'paused']);

/**
 * Contacts were just added to a campaign, in the adder's transaction (an import). Under
 * the campaign's row lock: refused if the campaign no longer dials, so one that finished
 * while the file streamed in keeps no contacts it will never call (its finish takes the
 * same lock and looks for open contacts, `finishCampaign`); and if it sleeps until a
 * contact falls due, the next wake number, for the adder to signal once it has committed
 * (`contactsAddedSignal`). The wait is left written: if that signal is lost, a call's end
 * still wakes the campaign, and its own timer does at the latest.
 */
export async function contactsArrived(trx: Db, campaignId: string): Promise<{ accepted: true; wakeSeq?: number } | { accepted: false; status: string }> {
  const campaign = await lockCampaign(trx, campaignId);
  if (!campaign) throw new InvalidInputError(`campaign ${campaignId} does not exist`);
  if (!dialingStatuses.has(campaign.status)) return { accepted: false, status: campaign.status };
  if (campaign.wake_when !== 'idle_or_due') return { accepted: true };
  const woken = await trx.updateTable('campaigns').set({ wake_seq: sql`wake_seq + 1` }).where('id', '=', campaignId).returning('wake_seq').executeTakeFirstOrThrow();
  return { accepted: true, wakeSeq: woken.wake_seq };
}

export function createCampaignActivities(deps: { db: Db; capacity: { sttStreams: number; ttsStreams: number }; prices?: PriceTable }) {
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

  /**
   * Claims the contacts a campaign pass may dial now, within every pacing and capacity limit.
   * `repeated`: a retry of a claim that had committed, which takes nothing new.
   */
  const claimDialsIn = (req: ClaimRequest): Promise<{ claim: ClaimResult; repeated: boolean }> =>
    db.transaction().execute(async (trx) => {
      if (req.lines === undefined) return claimIn(trx, req);
      // The campaign's own limits: its lines and its budget, from what its calls settled.
      const campaign = await lockCampaign(trx, req.campaignId);
      if (!campaign) throw ApplicationFailure.create({ type: FailureType.InvalidInput, message: `campaign ${req.campaignId} does not exist`, nonRetryable: true });
      const dialling = await countDialling(trx, req.campaignId);
      let own: OwnLimit = { room: Math.max(0, req.lines - dialling), limitedBy: 'campaign_lines' };
      if (req.budget) {
        const averageUsd = campaign.costed_calls > 0 ? campaign.cost_usd / campaign.costed_calls : req.budget.estimatedCostPerCallUsd;
        const projectedUsd = campaign.cost_usd + dialling * averageUsd;
        const budgetRoom = Math.max(0, Math.floor((req.budget.limitUsd - projectedUsd) / averageUsd));
        if (budgetRoom < own.room) own = { room: budgetRoom, limitedBy: 'budget' };
      }
      const { claim, repeated } = await claimIn(trx, req, own);
      // Waiting on its own lines or budget, the campaign sleeps until a call's end wakes it;
      // with nothing due, until the last call ends or a redial falls due sooner.
      const wake: WakeWhen =
        req.sleeps === false
          ? undefined
          : claim.limitedBy === 'nothing_due'
            ? { when: 'idle_or_due', ...(claim.nextDueAtMs !== undefined ? { dueBeforeMs: claim.nextDueAtMs } : {}) }
            : claim.limitedBy === 'campaign_lines' || claim.limitedBy === 'budget' || claim.limitedBy === 'trunk_channels' || claim.limitedBy === 'provider_streams'
              ? { when: 'call_ends' }
              : undefined;
      await writeWake(trx, req.campaignId, wake);
      return { claim: { ...claim, figures: await figuresOf(trx, req.campaignId), tally: await contactTally(trx, req.campaignId) }, repeated };
    });

  /** The claim itself: shared limits, the trunk's pace, due contacts inside their windows. */
  async function claimIn(trx: Db, req: ClaimRequest, own?: OwnLimit): Promise<{ claim: ClaimResult; repeated: boolean }> {
    const trunkRow = await trx
      .selectFrom('outbound_trunks')
      .select(['address', 'numbers', 'max_calls_per_second', 'max_channels'])
      .where('tenant_id', '=', req.tenantId)
      .where('id', '=', req.trunkId)
      .executeTakeFirst();
    if (!trunkRow) {
      throw ApplicationFailure.create({ type: FailureType.InvalidInput, message: `outbound trunk ${req.trunkId} does not exist for this tenant`, nonRetryable: true });
    }
    const trunk = { address: trunkRow.address, numbers: trunkRow.numbers };
    const columns = ['id', 'attempts', 'call_id', 'phone_e164', 'time_zone', 'consent'] as const;
    const toClaimed = (r: { id: string; attempts: number; call_id: string | null; phone_e164: string; time_zone: string; consent: boolean }): ClaimedContact => ({
      contactId: r.id,
      attempt: r.attempts,
      callId: r.call_id!,
      phoneE164: r.phone_e164,
      timeZone: r.time_zone,
      consent: r.consent,
    });

    const trunkPool = `trunk:${req.tenantId}:${req.trunkId}`;
    // A retry of a claim that committed: the same contacts at the same times, nothing new,
    // and in the order the claim took them (the order below), since the campaign gives the
    // i-th contact the i-th slot: the rows alone come back in whatever order the heap holds.
    const redialsFirst = (req.redialOrder ?? 'when_due') === 'when_due';
    const already = await trx
      .selectFrom('contacts')
      .select(columns)
      .where('campaign_id', '=', req.campaignId)
      .where('claim_id', '=', req.claimId)
      .orderBy(redialsFirst ? sql`next_attempt_at nulls last` : sql`next_attempt_at nulls first`)
      .orderBy('source_row')
      .execute();
    if (already.length > 0) {
      const leased = req.plan
        ? await trx
            .selectFrom('capacity_leases')
            .select(sql<number | null>`min(extract(epoch from dial_at) * 1000)`.as('atMs'))
            .where('pool', '=', trunkPool)
            .where('holder', 'in', already.map((c) => c.call_id!))
            .executeTakeFirst()
        : undefined;
      const plannedFirstAtMs = leased?.atMs != null ? Number(leased.atMs) : req.plan?.firstAtMs;
      return { claim: { contacts: already.map(toClaimed), trunk, limitedBy: 'none', ...(plannedFirstAtMs !== undefined ? { plannedFirstAtMs } : {}) }, repeated: true };
    }

    // Shared limits, locked in a fixed order so two campaigns never deadlock.
    const pools = [
      { pool: trunkPool, limit: trunkRow.max_channels, limitedBy: 'trunk_channels' as const },
      { pool: 'provider:stt', limit: deps.capacity.sttStreams, limitedBy: 'provider_streams' as const },
      { pool: 'provider:tts', limit: deps.capacity.ttsStreams, limitedBy: 'provider_streams' as const },
    ].sort((a, b) => a.pool.localeCompare(b.pool));
    for (const p of pools) await sql`select pg_advisory_xact_lock(hashtext(${p.pool}))`.execute(trx);
    await trx
      .deleteFrom('capacity_leases')
      .where('pool', 'in', pools.map((p) => p.pool))
      .where((eb) => eb.or([eb('expires_at', '<', sql<Date>`clock_timestamp()`), eb('released_at', '<', sql<Date>`clock_timestamp() - interval '5 seconds'`)]))
      .execute();
    const usage = await trx
      .selectFrom('capacity_leases')
      .select([
        'pool',
        sql<number>`count(*) filter (where released_at is null)::int`.as('held'),
      ])
      .where('pool', 'in', pools.map((p) => p.pool))
      .groupBy('pool')
      .execute();
    const used = new Map(usage.map((u) => [u.pool, u]));
    let room = req.max;
    let limitedBy: 'trunk_rate' | 'trunk_channels' | 'provider_streams' | OwnLimit['limitedBy'] | undefined;
    if (own && own.room < room) ({ room, limitedBy } = own);
    let retryAfterMs = 1000;
    for (const p of pools) {
      const free = p.limit - (used.get(p.pool)?.held ?? 0);
      if (free < room) {
        room = Math.max(0, free);
        limitedBy = p.limitedBy;
      }
    }
    // The trunk's pace, at the times these contacts will dial.
    const firstAtMs = req.plan?.unowed ? Math.max(req.plan.firstAtMs, Date.now() + unowedSlotLeadMs) : req.plan?.firstAtMs;
    const plannedAtMs = (i: number) => (req.plan ? firstAtMs! + i * req.plan.intervalMs : req.nowMs);
    const plannedFirst = req.plan ? { plannedFirstAtMs: firstAtMs! } : {};
    const planned = Array.from({ length: room }, (_, i) => plannedAtMs(i));
    if (planned.length > 0) {
      const dialling = await trx
        .selectFrom('capacity_leases')
        .select(sql<number>`extract(epoch from dial_at) * 1000`.as('atMs'))
        .where('pool', '=', trunkPool)
        .where('dial_at', '>', sql<Date>`to_timestamp(${(planned[0]! - 1000) / 1000})`)
        .execute();
      const rate = admitByRate(dialling.map((d) => Number(d.atMs)), planned, trunkRow.max_calls_per_second);
      if (rate.admitted < room) {
        room = rate.admitted;
        limitedBy = 'trunk_rate';
        retryAfterMs = Math.max(20, Math.ceil(rate.freesAtMs! - req.nowMs));
      }
    }

    const w = { ...defaultCallingWindow, ...req.window };
    const now = sql`to_timestamp(${req.nowMs / 1000})`;
    // The window must be open when these calls dial, not only when the campaign's clock
    // last moved: a contact claimed at 20:59:58 for a slot after 21:00 would find it shut
    // and hold a line all night. So the last admitted slot is checked (seconds ahead).
    const lastDialAtMs = req.plan && room > 0 ? Math.max(req.nowMs, plannedAtMs(room - 1)) : req.nowMs;
    const dialsAt = sql`to_timestamp(${lastDialAtMs / 1000})`;
    // Redials whose delay has passed, and contacts not yet dialled, as two walks of the
    // claim-order index (migration 0010): one range each, so neither reads the redials
    // still waiting out their delay, however many there are.
    const dueContacts = (kind: 'redials' | 'first_attempts', limit: number) =>
      limit <= 0 ? Promise.resolve([]) : trx
        .selectFrom('contacts')
        .select(['id', 'attempts'])
        .where('campaign_id', '=', req.campaignId)
        .where('state', 'in', openStates)
        .where((eb) => (kind === 'redials' ? eb('next_attempt_at', '<=', sql<Date>`${now}`) : eb('next_attempt_at', 'is', null)))
        // The calling window in each contact's own zone (PostgreSQL's tz database, DST
        // included), as one function: migration 0010 says why.
        .where(sql<boolean>`kickcall_in_calling_window(${now}, contacts.time_zone, ${sql.val(w.days)}::int[], ${w.start}::time, ${w.end}::time)`)
        .where(sql<boolean>`kickcall_in_calling_window(${dialsAt}, contacts.time_zone, ${sql.val(w.days)}::int[], ${w.start}::time, ${w.end}::time)`)
        .orderBy(sql`next_attempt_at nulls first`)
        .orderBy('source_row')
        .limit(limit)
        .forUpdate()
        .skipLocked()
        .execute();
    const [firstKind, thenKind] = redialsFirst ? (['redials', 'first_attempts'] as const) : (['first_attempts', 'redials'] as const);
    const firstDue = await dueContacts(firstKind, room);
    const due = [...firstDue, ...(await dueContacts(thenKind, room - firstDue.length))];

    const contacts: ClaimedContact[] = [];
    for (const c of due) {
      const attempt = c.attempts + 1;
      const callId = callWorkflowId({ tenantId: req.tenantId, campaignId: req.campaignId, contactId: c.id, attempt });
      const row = await trx
        .updateTable('contacts')
        .set({ state: 'dialling', attempts: attempt, claim_id: req.claimId, call_id: callId, updated_at: sql`now()` })
        .where('campaign_id', '=', req.campaignId)
        .where('id', '=', c.id)
        .returning(columns)
        .executeTakeFirstOrThrow();
      contacts.push(toClaimed(row));
    }
    if (contacts.length > 0) {
      await trx
        .insertInto('capacity_leases')
        .values(
          contacts.flatMap((c, i) =>
            pools.map((p) => ({
              pool: p.pool,
              holder: c.callId,
              dial_at: sql<Date>`to_timestamp(${plannedAtMs(i) / 1000})`,
              expires_at: sql<Date>`clock_timestamp() + ${`${req.leaseTtlMs} milliseconds`}::interval`,
            })),
          ),
        )
        .onConflict((oc) => oc.columns(['pool', 'holder']).doNothing())
        .execute();
    }
    if (contacts.length >= req.max) return { claim: { contacts, trunk, limitedBy: 'none', ...plannedFirst }, repeated: false };
    if ((limitedBy === 'campaign_lines' || limitedBy === 'budget') && contacts.length >= room) return { claim: { contacts, trunk, limitedBy, ...plannedFirst }, repeated: false };
    if (limitedBy && contacts.length >= room) return { claim: { contacts, trunk, limitedBy, retryAfterMs, ...plannedFirst }, repeated: false };

    // Nothing more is due: when is the next contact? Per zone, the earliest due time
    // moved to when its window next opens.
    const zones = await trx
      .selectFrom('contacts')
      .select(['time_zone', sql<Date | null>`min(next_attempt_at)`.as('earliest'), sql<number>`count(*) filter (where next_attempt_at is null)::int`.as('undated')])
      .where('campaign_id', '=', req.campaignId)
      .where('state', 'in', openStates)
      .groupBy('time_zone')
      .execute();
    let nextDueAtMs: number | undefined;
    for (const z of zones) {
      // From when these calls would dial: a window that shuts before then opens next tomorrow.
      const from = z.undated > 0 || !z.earliest ? lastDialAtMs : Math.max(lastDialAtMs, z.earliest.getTime());
      const at = nextWindowOpenMs(w, z.time_zone, from);
      nextDueAtMs = nextDueAtMs === undefined ? at : Math.min(nextDueAtMs, at);
    }
    return { claim: { contacts, trunk, limitedBy: 'nothing_due', ...(nextDueAtMs !== undefined ? { nextDueAtMs } : {}), ...plannedFirst }, repeated: false };
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
      const { claim: claimed, repeated } = await claimDialsIn(req);
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
