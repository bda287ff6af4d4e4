/**
 * The claim: which contacts a campaign pass may dial now. Due (a redial whose delay has
 * passed, or a contact not yet dialled), inside its calling window in its own time zone,
 * and within every capacity limit. A claim retried after a crash returns the contacts it
 * already took, at the same times.
 *
 * Capacity is shared through lease rows under a per-pool advisory lock: an outbound
 * trunk's channels and calls per second (across every campaign of the tenant) and the
 * providers' concurrent streams (across the deployment).
 */
import { ApplicationFailure } from '@temporalio/activity';
import { sql } from 'kysely';
import type { Db } from '../deploy/db/schema.js';
import { nextWindowOpenMs, defaultCallingWindow, type CallingWindow } from '../workflows/call/calling-window.js';
import type { ContactTally, RedialOrder } from '../workflows/campaign/types.js';
import { FailureType } from '../workflows/errors.js';
import { callWorkflowId } from '../workflows/ids.js';
import { contactTally, countDialling, figuresOf, lockCampaign, openStates, writeWake, type CampaignFigures, type WakeWhen } from './campaign-ledger.js';
import { admitByRate } from './trunk-rate.js';

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

/** The campaign's own limit on this claim: free lines, or the calls its budget still pays for. */
type OwnLimit = { room: number; limitedBy: 'campaign_lines' | 'budget' };

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
 * How far past the claim unowed slots begin. Nobody waited for them (a campaign's first
 * slots, a resumed one's, a redial falling due on its own), so the plan is free to leave
 * room for what still has to happen before the first call runs: this claim's commit, the
 * starts and the call's first workflow task. Planned at the claim's own time, those calls
 * began 0.3–1.0 s after their slots on this 2-core machine (a 300-contact load-mode run,
 * 2026-12-07: the first pass and the last redials held every lag above 250 ms).
 */
export const unowedSlotLeadMs = 1000;

/** The deployment's provider capacity: concurrent streaming connections it may hold. */
export interface ProviderCapacity {
  sttStreams: number;
  ttsStreams: number;
}

/**
 * Claims the contacts a campaign pass may dial now, within every pacing and capacity limit.
 * `repeated`: a retry of a claim that had committed, which takes nothing new.
 */
export const claimContacts = (db: Db, capacity: ProviderCapacity, req: ClaimRequest): Promise<{ claim: ClaimResult; repeated: boolean }> =>
  db.transaction().execute(async (trx) => {
    if (req.lines === undefined) return claimIn(trx, capacity, req);
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
    const { claim, repeated } = await claimIn(trx, capacity, req, own);
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
async function claimIn(trx: Db, capacity: ProviderCapacity, req: ClaimRequest, own?: OwnLimit): Promise<{ claim: ClaimResult; repeated: boolean }> {
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
    { pool: 'provider:stt', limit: capacity.sttStreams, limitedBy: 'provider_streams' as const },
    { pool: 'provider:tts', limit: capacity.ttsStreams, limitedBy: 'provider_streams' as const },
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
