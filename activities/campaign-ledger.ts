/**
 * The campaign's rows in PostgreSQL: its contacts' states, its running figures (cost,
 * attempts by outcome) and what wakes it when it sleeps. Each helper takes a transaction
 * or the plain connection from its caller. Whatever moves contacts or figures of a campaign
 * with its own lines (its claims, the settling of an attempt, the drain, an import) takes
 * the campaign's row lock first (`lockCampaign`), so they take turns.
 */
import { sql } from 'kysely';
import type { Db } from '../deploy/db/schema.js';
import type { Disposition } from '../workflows/call/types.js';
import type { CallOutcome, ContactTally } from '../workflows/campaign/types.js';
import { InvalidInputError } from '../workflows/errors.js';
import { callCost, type PriceTable } from './pricing.js';

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

/** What wakes a sleeping campaign; written in its row by the pass that decided to sleep. */
export type WakeWhen = { when: 'call_ends' } | { when: 'idle_or_due'; dueBeforeMs?: number } | undefined;

/** Contact states still waiting for a dial. */
export const openStates = ['pending', 'retry_wait'] as const;

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
export async function lockCampaign(trx: Db, campaignId: string) {
  return trx
    .selectFrom('campaigns')
    .select(['status', 'cost_usd', 'costed_calls', 'attempt_outcomes', 'wake_when', 'wake_due_before', 'wake_seq'])
    .where('id', '=', campaignId)
    .forUpdate()
    .executeTakeFirst();
}

export async function countDialling(trx: Db, campaignId: string): Promise<number> {
  const row = await trx.selectFrom('contacts').select(sql<number>`count(*)::int`.as('n')).where('campaign_id', '=', campaignId).where('state', '=', 'dialling').executeTakeFirstOrThrow();
  return row.n;
}

export async function writeWake(trx: Db, campaignId: string, wake: WakeWhen): Promise<void> {
  await trx
    .updateTable('campaigns')
    .set({ wake_when: wake?.when ?? null, wake_due_before: wake?.when === 'idle_or_due' && wake.dueBeforeMs !== undefined ? new Date(wake.dueBeforeMs) : null })
    .where('id', '=', campaignId)
    .execute();
}

/** Cancels the contacts not yet dialled or waiting for a redial: a stopped campaign's queued work. */
export async function cancelQueued(trx: Db, campaignId: string): Promise<void> {
  await trx.updateTable('contacts').set({ state: 'cancelled', claim_id: null, updated_at: sql`now()` }).where('campaign_id', '=', campaignId).where('state', 'in', openStates).execute();
}

/**
 * The figures of a campaign that dials nothing this pass (paused or stopping) and, when it
 * will sleep while calls are in flight, what wakes it. Runs under the campaign's row lock.
 */
export async function figuresAndWake(trx: Db, campaignId: string, sleepsUntil: 'call_ends' | 'idle_or_due' | undefined): Promise<{ tally: ContactTally; figures: CampaignFigures }> {
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
export async function settleContacts(trx: Db, campaignId: string, outcomes: CallOutcome[], allowRetries: boolean, nowMs: number): Promise<CallOutcome[]> {
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
export async function priceAndCount(trx: Db, campaignId: string, callIds: string[], prices: PriceTable, settled: CallOutcome[]): Promise<{ costUsd: number; costedCalls: number }> {
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

export async function figuresOf(trx: Db, campaignId: string): Promise<CampaignFigures> {
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
