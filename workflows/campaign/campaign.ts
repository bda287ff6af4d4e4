/**
 * The campaign actor: drives every contact of a campaign to its final outcome. It claims
 * due contacts from PostgreSQL a few at a time (inside their calling window, its own lines
 * and budget, and every shared capacity limit) and starts one call workflow per attempt
 * with an ID naming the attempt a few seconds ahead of its slot (Temporal holds the call
 * until the slot). Each call settles its own end with the campaign in PostgreSQL (the
 * contact's next state, the lines it frees, its price), so while the campaign dials at
 * its pace no call signals it; a campaign asleep waiting on its calls (lines full,
 * nothing due, draining) is woken by the one call whose end it waits for, and one asleep
 * until something falls due also by an upload of contacts.
 * Contacts never enter workflow history; the state it carries across continue-as-new is
 * a few counters and the pacer's next slot.
 *
 * Runs from before calls settled themselves heard each call's outcome by signal and wrote
 * outcomes back in batches; they replay that way, and a newer run still records the
 * signalled outcomes of calls such a run started.
 *
 * Exactly-once dialling rests on two facts: a claim is idempotent by its ID (a retried
 * claim returns the contacts it already took), and a call workflow's ID names the
 * contact's attempt, started with REJECT_DUPLICATE, so Temporal refuses a second start
 * (a retried `startCalls` batch starts only the calls it had not).
 */
import {
  ApplicationFailure,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { windowProblem } from '../call/calling-window.js';
import { outboundCallWorkflow } from '../call/outbound.js';
import { defaultLimits } from '../call/conversation.js';
import type { OutboundCallInput } from '../call/types.js';
import { FailureType } from '../errors.js';
import { campaignIdKey, tenantIdKey } from '../search-attributes.js';
import type { ClaimedContact, ClaimResult } from '../../activities/campaign-claim.js';
import type { CampaignFigures } from '../../activities/campaign-ledger.js';
import { campaignActivities as acts } from './activities.js';
import { HistoryClock } from './clock.js';
import { callEndedSignal, callOutcomeSignal, campaignStatsQuery, contactsAddedSignal, cancelCampaignUpdate, pauseCampaignUpdate, resumeCampaignUpdate } from './messages.js';
import { claimAheadMs, dueSlots, dueSlotsMovedToWake, nextClaimAtMs, nextSlotAfter } from './pacer.js';
import { campaignStats } from './stats.js';
import type { CampaignCarry, CampaignInput, CampaignResult, CampaignStatus, StopReason } from './types.js';

/** Outcomes are written at most this often, in one batch, unless a free line waits on them. */
const recordEveryMs = 1000;
/** The loop never wakes more often than this to dial. */
const minTickMs = 100;
/** Without anything to do, look again after this long (contacts imported later, say). */
const idleCheckMs = 15 * 60_000;
/** History length at which the campaign continues as new, well below Temporal's limits. */
const maxHistoryEvents = 8000;
const defaultCostPerCallUsd = 0.05;

/** What a campaign's first run starts from; later runs start from what the last one carried. */
export function firstRunState(nowMs: number): CampaignCarry {
  return {
    status: 'running',
    inFlight: {},
    unrecorded: [],
    nextSlotAtMs: nowMs,
    claims: 0,
    runs: 0,
    dials: 0,
    attemptOutcomes: {},
    costUsd: 0,
    costedCalls: 0,
    queueClosed: false,
    startedAtMs: nowMs,
  };
}

export async function campaignWorkflow(input: CampaignInput): Promise<CampaignResult> {
  const { tenantId, campaignId, config } = input;
  validate(input);
  const s: CampaignCarry = input.carry ?? firstRunState(Date.now());
  // A campaign's first slots and a resumed one's are planned from a "now" nobody waited
  // on: unowed, so the claim plans them a little past itself (unowedSlotLeadMs) rather
  // than in a past its calls start late for.
  const freshSlotsUnowed = patched('fresh-slots-unowed');
  if (!input.carry && freshSlotsUnowed) s.slotsUnowed = true;
  let wake = false;
  let statusToStore: CampaignStatus | undefined = s.statusUnstored;
  delete s.statusUnstored;
  // Set while the campaign writes its end: a pause or cancel then would be accepted and lost.
  let finishing = false;
  // Choices by time read a clock kept in history (clock.ts). Runs that started before it
  // read Date.now() and replay with it.
  const clock = new HistoryClock(Date.now());
  const clockInHistory = patched('history-clock');
  const nowMs = (): number => (clockInHistory ? clock.nowMs() : Date.now());
  // Calls settle their own outcomes in PostgreSQL (`settleCampaignAttempt`); the lines in
  // use and the spend come back with each claim. `s.inFlight` then holds only calls that
  // older runs started, which still signal their outcome.
  const callsSettle = patched('calls-settle-themselves');
  // A call's end wakes the campaign with a number (`wakeSeq`), compared with the number
  // its last claim (drain, read) saw; a run from before woke on any end and replays so.
  // Why numbers: the SDK race (README) can hand a workflow task's signal to the code
  // before or after the activity result that ends the same task, so a signal may change
  // what the campaign does only through the wait's predicate, where both orders lead to
  // the same commands, and never through state a pass reads.
  const wakesNumbered = callsSettle && patched('numbered-wakes');
  let wakesHeard = 0;
  let wakesSeen = 0;
  // Set by this pass's claim (drain, read): it left the campaign asleep until a call's end
  // (or an import) wakes it.
  let sleepsUntilWoken = false;
  const wokenSinceRead = () => wakesNumbered && sleepsUntilWoken && wakesHeard > wakesSeen;
  // Only a claim of this run makes a due time one to sleep until. One carried over
  // continue-as-new, or kept through a pause, was read before calls that ended since made
  // a redial due sooner or contacts were added, and nothing wakes a campaign whose last
  // claim did not write that it sleeps. Runs from before slept until it and replay so.
  const claimsBeforeTrustingDue = patched('claims-before-trusting-due');
  if (claimsBeforeTrustingDue && input.carry) delete s.nextDueAtMs;
  const inFlightCount = () => (callsSettle && s.dialling !== undefined ? s.dialling : Object.keys(s.inFlight).length);
  const applyFigures = (f: CampaignFigures | undefined) => {
    if (!f) return;
    s.dialling = f.dialling;
    s.costUsd = f.costUsd;
    s.costedCalls = f.costedCalls;
    s.attemptOutcomes = f.attempts;
    // Absent from results of activities older than numbered wakes.
    if (f.wakeSeq !== undefined) wakesSeen = f.wakeSeq;
    sleepsUntilWoken = f.sleepsUntilWoken ?? false;
  };

  setHandler(callOutcomeSignal, (outcome) => {
    // Deduped by call ID: a call the campaign is not waiting for was already counted.
    if (!s.inFlight[outcome.callId]) return;
    delete s.inFlight[outcome.callId];
    s.unrecorded.push(outcome);
    s.attemptOutcomes[outcome.disposition] = (s.attemptOutcomes[outcome.disposition] ?? 0) + 1;
    // A campaign waiting for its next due contact may now wait less: the redial may fall
    // due first. One with contacts due now must not start waiting for the redial: before
    // this patch every retryable outcome stopped new claims until its redial was due.
    if (outcome.retryDelayMs !== undefined && (s.nextDueAtMs !== undefined || !patched('retry-only-shortens-a-wait'))) {
      s.nextDueAtMs = Math.min(s.nextDueAtMs ?? Infinity, nowMs() + outcome.retryDelayMs);
    }
    wake = true;
  });
  setHandler(contactsAddedSignal, ({ wakeSeq }) => {
    // Runs without numbered wakes find the contacts when their timer ends.
    if (wakesNumbered) wakesHeard = Math.max(wakesHeard, wakeSeq);
  });
  setHandler(callEndedSignal, (ended) => {
    if (wakesNumbered && ended?.wakeSeq !== undefined) {
      wakesHeard = Math.max(wakesHeard, ended.wakeSeq);
      return;
    }
    // A redial may now fall due before the time this campaign meant to sleep until.
    delete s.nextDueAtMs;
    wake = true;
  });
  const transition = (allowedFrom: CampaignStatus[], verb: string) => () => {
    if (finishing) {
      throw ApplicationFailure.create({ type: FailureType.InvalidTransition, message: `the campaign is finishing; it cannot be ${verb}`, nonRetryable: true });
    }
    if (!allowedFrom.includes(s.status)) {
      throw ApplicationFailure.create({
        type: FailureType.InvalidTransition,
        message: `a ${s.status} campaign cannot be ${verb}; only a ${allowedFrom.join(' or ')} one can`,
        nonRetryable: true,
      });
    }
  };
  setHandler(
    pauseCampaignUpdate,
    () => {
      s.status = statusToStore = 'paused';
      // Date.now() in the handlers only feeds the figures (stats.ts), never a choice.
      s.pausedAtMs = Date.now();
      wake = true;
      return { status: s.status };
    },
    { validator: transition(['running'], 'paused') },
  );
  setHandler(
    resumeCampaignUpdate,
    () => {
      s.status = statusToStore = 'running';
      endPause();
      // Moved up to the time the status is stored at, below: the clock may lag a long pause.
      s.nextSlotAtMs = nowMs();
      if (freshSlotsUnowed) s.slotsUnowed = true;
      if (claimsBeforeTrustingDue) delete s.nextDueAtMs;
      wake = true;
      return { status: s.status };
    },
    { validator: transition(['paused'], 'resumed') },
  );
  setHandler(
    cancelCampaignUpdate,
    ({ reason }) => {
      stop('cancelled', reason.trim());
      wake = true;
      return { status: s.status };
    },
    {
      validator: (request: { reason?: unknown } | undefined) => {
        transition(['running', 'paused'], 'cancelled')();
        const reason = request?.reason;
        if (typeof reason !== 'string' || reason.trim() === '' || reason.length > 500) {
          throw ApplicationFailure.create({ type: FailureType.InvalidInput, message: 'a cancellation needs a reason of 1-500 characters', nonRetryable: true });
        }
      },
    },
  );
  setHandler(campaignStatsQuery, () => campaignStats(campaignId, config, s, Date.now()));

  /** A pause's time, once it ends, is not dialling time (stats.ts); only pauses after the first dial count. */
  function endPause(): void {
    if (s.pausedAtMs !== undefined && s.firstDialAtMs !== undefined) s.pausedSinceLastDialMs = (s.pausedSinceLastDialMs ?? 0) + Date.now() - s.pausedAtMs;
    delete s.pausedAtMs;
  }

  function stop(reason: StopReason, note?: string): void {
    endPause();
    s.status = statusToStore = 'stopping';
    s.stopReason = reason;
    if (note) s.cancelNote = note;
  }

  upsertSearchAttributes([
    { key: tenantIdKey, value: tenantId },
    { key: campaignIdKey, value: campaignId },
  ]);
  if (!input.carry) s.tally = await acts.openCampaign({ tenantId, campaignId });

  const averageCallCostUsd = () => (s.costedCalls > 0 ? s.costUsd / s.costedCalls : (config.estimatedCostPerCallUsd ?? defaultCostPerCallUsd));
  const limits = { ...defaultLimits, ...config.limits };
  // A lease outlives any call: ringing, the longest conversation, wrap-up.
  const leaseTtlMs = (limits.ringingTimeoutS + limits.maxDurationS + 600) * 1000;
  let lastRecordAtMs = 0;
  // The last claim found a shared line or stream pool full: finished calls free units only
  // once their outcomes are written, so write them at once.
  let sharedCapacityFull = false;

  for (;;) {
    // Cleared as a pass begins (runs before calls settled cleared it before sleeping): a
    // call's end heard during the pass may have come after its claim read the lines.
    if (callsSettle) wake = false;
    sleepsUntilWoken = false;
    let now = nowMs();
    const free = config.maxConcurrentCalls - Object.keys(s.inFlight).length;
    // About to continue as new: the next run claims at once, so nothing need wake this one.
    const sleeps = !(workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > maxHistoryEvents);

    // 1. Outcomes to PostgreSQL, in batches. With a budget, before every dial decision:
    // the spend so far must be the priced calls, not an average.
    const budgeted = config.budgetUsd !== undefined;
    if (s.unrecorded.length > 0 && (now - lastRecordAtMs >= recordEveryMs || free <= 0 || sharedCapacityFull || budgeted || s.status !== 'running')) {
      // A copy: outcomes signalled while the batch is being written stay queued for the next.
      const batch = [...s.unrecorded];
      const recorded = await acts.recordOutcomes({ campaignId, outcomes: batch, allowRetries: s.status === 'running' || s.status === 'paused', nowMs: now });
      s.unrecorded = s.unrecorded.slice(batch.length);
      s.costUsd += recorded.costUsd;
      s.costedCalls += recorded.costedCalls;
      s.tally = recorded.tally;
      clock.heard(recorded.finishedAtMs);
      lastRecordAtMs = now = nowMs();
    }
    if (statusToStore) {
      const status = statusToStore;
      statusToStore = undefined;
      // Stopping says why at once: the API's statistics read it from the row.
      const why = status === 'stopping' && s.stopReason ? { stopReason: s.stopReason } : {};
      const stored = await acts.setCampaignStatus({ tenantId, campaignId, status, ...why });
      clock.heard(stored?.finishedAtMs);
      // A resumed campaign's pace starts now, not when the clock last moved.
      if (clockInHistory && status === 'running') s.nextSlotAtMs = Math.max(s.nextSlotAtMs, clock.nowMs());
      // The pass goes on from the write's time too: with the time the pass began (the clock
      // as the last timer or activity left it, up to the 15 min idle check behind after a
      // pause), its first slot looked as far off as the clock lagged, and a resumed
      // campaign slept that long before dialling (973 s once, in the 100k run).
      if (patched('pass-goes-on-after-status-write')) now = nowMs();
    }

    // 2. Stopping: close the queue once, let calls in flight finish, then end.
    if (s.status === 'running' && config.endsAt && now >= Date.parse(config.endsAt)) stop('end_date');
    if (s.status === 'stopping') {
      if (callsSettle) {
        // Every pass: a call that ended since woke it, and the last one lets it finish.
        const drained = await acts.drainCampaign({ campaignId, sleeps });
        clock.heard(drained.finishedAtMs);
        applyFigures(drained.figures);
        s.tally = drained.tally;
        s.queueClosed = true;
      } else if (!s.queueClosed) {
        s.tally = await acts.closeQueue({ campaignId });
        s.queueClosed = true;
      }
      if (inFlightCount() === 0 && s.unrecorded.length === 0) {
        const result = await finish(s.stopReason === 'cancelled' ? 'cancelled' : 'stopped');
        if (result) return result;
      }
    }

    // 3. Dial what the pace, the lines, the budget and the due contacts allow.
    let waitMs = idleCheckMs;
    if (s.status === 'running') {
      // Contacts are claimed and their calls started ahead of their slots; Temporal (or the
      // call's own timer) holds each call until its slot. Runs started before that claimed
      // at the slot.
      const aheadMs = patched('claim-ahead') ? claimAheadMs : 0;
      // The slots a claim left unused because nothing more was due had no one to dial: the
      // pace owes nothing for them. Without this a contact falling due later took one up to
      // the backlog old (pacer.ts), began at once and counted that age as lag, and several
      // such contacts dialled in one burst. A campaign's first slots and a resumed one's are
      // unowed too (`fresh-slots-unowed`). The claim starts unowed slots a lead past itself
      // (unowedSlotLeadMs): this clock lags after a signal.
      const unowed = s.slotsUnowed === true && patched('unused-slots-not-owed');
      if (unowed) s.nextSlotAtMs = Math.max(s.nextSlotAtMs, now);
      const slots = aheadMs > 0 || patched('pacer-keeps-grid') ? dueSlots(s.nextSlotAtMs, now, config.callsPerSecond, aheadMs) : dueSlotsMovedToWake(s.nextSlotAtMs, now, config.callsPerSecond);
      const nextClaimAt = aheadMs > 0 ? nextClaimAtMs : (nextSlotAtMs: number) => nextSlotAtMs;
      const projectedUsd = s.costUsd + (inFlightCount() + s.unrecorded.length) * averageCallCostUsd();
      const budgetRoom = config.budgetUsd === undefined ? Infinity : Math.floor((config.budgetUsd - projectedUsd) / averageCallCostUsd());
      const notDueYet = s.nextDueAtMs !== undefined && s.nextDueAtMs > now;
      // Settling calls: the claim holds the campaign's lines and budget itself.
      const want = callsSettle ? slots.count : Math.min(slots.count, free, budgetRoom);
      if (!callsSettle && budgetRoom <= 0 && inFlightCount() === 0 && s.unrecorded.length === 0) {
        stop('budget');
        continue;
      }
      if (want > 0 && !notDueYet) {
        const claim = await acts.claimDials({
          tenantId,
          campaignId,
          claimId: `${workflowInfo().workflowId}:${s.claims++}`,
          trunkId: config.trunkId,
          max: want,
          ...(config.window ? { window: config.window } : {}),
          ...(config.redialOrder ? { redialOrder: config.redialOrder } : {}),
          nowMs: now,
          leaseTtlMs,
          ...(aheadMs > 0 ? { plan: { firstAtMs: slots.firstAtMs, intervalMs: slots.intervalMs, ...(unowed ? { unowed } : {}) } } : {}),
          ...(callsSettle
            ? {
                lines: config.maxConcurrentCalls,
                ...(config.budgetUsd !== undefined ? { budget: { limitUsd: config.budgetUsd, estimatedCostPerCallUsd: config.estimatedCostPerCallUsd ?? defaultCostPerCallUsd } } : {}),
                sleeps,
              }
            : {}),
        });
        clock.heard(claim.finishedAtMs);
        applyFigures(claim.figures);
        if (claim.tally) s.tally = claim.tally;
        const claimed = { ...slots, firstAtMs: claim.plannedFirstAtMs ?? slots.firstAtMs };
        await startCalls(claim, claimed.firstAtMs, claimed.intervalMs);
        sharedCapacityFull = claim.limitedBy === 'trunk_channels' || claim.limitedBy === 'provider_streams';
        s.nextSlotAtMs = nextSlotAfter(claimed, claim.contacts.length);
        s.slotsUnowed = claim.limitedBy === 'nothing_due';
        if (claim.limitedBy === 'nothing_due') {
          s.nextDueAtMs = claim.nextDueAtMs;
          if (claim.nextDueAtMs === undefined && inFlightCount() === 0 && s.unrecorded.length === 0) {
            const result = await finish('completed');
            if (result) return result;
            // Contacts were added after the claim: the next pass claims them.
            continue;
          }
        } else {
          delete s.nextDueAtMs;
        }
        // Over budget with nothing in flight: no call will end to make room.
        if (claim.limitedBy === 'budget' && inFlightCount() === 0 && s.unrecorded.length === 0) {
          stop('budget');
          continue;
        }
        // The claim and the starts moved the clock: a wait measured from the pass's start
        // (stale by as much as the campaign slept before a signal woke it) oversleeps.
        waitMs = patched('waits-from-after-the-claim') ? waitAfterClaim(claim, nowMs(), now, nextClaimAt) : waitAfterClaim(claim, now, now, nextClaimAt);
      } else if (notDueYet) {
        waitMs = s.nextDueAtMs! - now;
      } else if (slots.count === 0) {
        waitMs = nextClaimAt(s.nextSlotAtMs) - now;
      }
      // Lines or budget full: an outcome wakes the loop.
    } else if (s.status === 'stopping' && inFlightCount() === 0) {
      waitMs = 0;
    } else if (callsSettle && s.status === 'paused' && inFlightCount() > 0) {
      // Paused, no claims read the lines: watch the calls in flight finish, each end waking it.
      const read = await acts.readCampaignFigures({ campaignId, sleeps });
      clock.heard(read.finishedAtMs);
      applyFigures(read.figures);
      s.tally = read.tally;
    }
    if (s.unrecorded.length > 0) waitMs = Math.min(waitMs, lastRecordAtMs + recordEveryMs - now);

    setCurrentDetails(details());
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > maxHistoryEvents) {
      await condition(allHandlersFinished);
      // A status heard in this pass and not yet written goes with the carry: its write is the next run's first.
      await continueAsNew<typeof campaignWorkflow>({ ...input, carry: { ...s, runs: s.runs + 1, ...(statusToStore ? { statusUnstored: statusToStore } : {}) } });
    }
    if (!callsSettle) wake = false;
    // Woken during the pass: pass again at once, without a timer.
    if (callsSettle && wake) continue;
    const woken = () => wake || wokenSinceRead();
    if (clockInHistory) await clock.waitUntil(woken, Math.max(waitMs, minTickMs));
    else await condition(woken, Math.max(waitMs, minTickMs));
    // A redial may now fall due before the time this campaign meant to sleep until. Read
    // only where a wait ended: a wait that a redial's due time bounds ends no sooner than
    // that time, so a wake heard with its timer changes nothing here.
    if (wokenSinceRead()) delete s.nextDueAtMs;
  }

  /** Starts one call workflow per claimed contact; the pace planned each one's time. */
  async function startCalls(claim: ClaimResult, firstAtMs: number, intervalMs: number): Promise<void> {
    for (const contact of claim.contacts) {
      // Registered before the start: a call that ends at once may report before it resolves.
      // Date.now() here only feeds the figures (stats.ts), never a choice.
      if (!callsSettle) s.inFlight[contact.callId] = { contactId: contact.contactId, attempt: contact.attempt, startedAtMs: Date.now() };
      s.dials++;
      if (s.pausedSinceLastDialMs !== undefined) {
        // The pause now lies between two dials, inside the span the pace is measured over.
        s.pausedBetweenDialsMs = (s.pausedBetweenDialsMs ?? 0) + s.pausedSinceLastDialMs;
        delete s.pausedSinceLastDialMs;
      }
      s.firstDialAtMs ??= Date.now();
      s.lastDialAtMs = Date.now();
    }
    if (claim.contacts.length === 0) return;
    // One activity starts the batch, each call held by the server until its slot. Runs
    // that started before this started each call as a child that waited on its own timer.
    if (patched('start-calls-with-start-delay')) {
      const started = await acts.startCalls({
        taskQueue: workflowInfo().taskQueue,
        calls: claim.contacts.map((contact, i) => ({
          workflowId: contact.callId,
          input: { ...callInput(contact, claim.trunk, firstAtMs + i * intervalMs), plannedAtMs: firstAtMs + i * intervalMs },
          summary: summaryOf(contact),
        })),
      });
      clock.heard(started.finishedAtMs);
      return;
    }
    await Promise.all(
      claim.contacts.map(async (contact, i) => {
        try {
          await startChild(outboundCallWorkflow, {
            workflowId: contact.callId,
            args: [callInput(contact, claim.trunk, firstAtMs + i * intervalMs)],
            parentClosePolicy: ParentClosePolicy.ABANDON,
            workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
            staticSummary: summaryOf(contact),
          });
        } catch (err) {
          // This attempt was started before: it runs (or ran) once and reports its outcome.
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        }
      }),
    );
  }

  function summaryOf(contact: ClaimedContact): string {
    return `Contact ${contact.contactId}, attempt ${contact.attempt}`;
  }

  function callInput(contact: ClaimedContact, trunk: ClaimResult['trunk'], plannedAtMs: number): OutboundCallInput {
    return {
      tenantId,
      campaignId,
      contactId: contact.contactId,
      attempt: contact.attempt,
      callTo: contact.phoneE164,
      trunk: { address: trunk.address, numbers: config.callerId ? [config.callerId] : trunk.numbers },
      contact: { timeZone: contact.timeZone, consent: contact.consent },
      agent: config.agent,
      ...(config.transfer ? { transfer: config.transfer } : {}),
      ...(config.window ? { window: config.window } : {}),
      ...(config.limits ? { limits: config.limits } : {}),
      ...(config.retry ? { retry: config.retry } : {}),
      ...(config.analysis ? { analysis: config.analysis } : {}),
      chainRetries: false,
      plannedAtMs,
      ...(callsSettle ? { settlesWithCampaign: true } : {}),
    };
  }

  /**
   * How long to wait from `now` after a claim asked at `askedAtMs` (its `retryAfterMs` counts
   * from then).
   */
  function waitAfterClaim(claim: ClaimResult, now: number, askedAtMs: number, nextClaimAt: (nextSlotAtMs: number) => number): number {
    switch (claim.limitedBy) {
      case 'none':
        return nextClaimAt(s.nextSlotAtMs) - now;
      case 'nothing_due':
        return claim.nextDueAtMs === undefined ? idleCheckMs : claim.nextDueAtMs - now;
      // A call's end wakes the campaign (the claim wrote that it waits for one).
      case 'campaign_lines':
      case 'budget':
        return idleCheckMs;
      default:
        return askedAtMs + claim.retryAfterMs - now;
    }
  }

  /** Ends the campaign; undefined when contacts added since its last claim keep it going. */
  async function finish(status: CampaignResult['status']): Promise<CampaignResult | undefined> {
    // An import that committed after the claim found nothing due (`contactsArrived`) left
    // open contacts; the finish looks under the same row lock. Runs from before finished.
    const unlessContactsOpen = status === 'completed' && patched('finish-keeps-late-contacts');
    finishing = true;
    const contacts = await acts.finishCampaign({
      tenantId,
      campaignId,
      status,
      ...(s.stopReason ? { stopReason: s.stopReason } : {}),
      ...(s.cancelNote ? { note: s.cancelNote } : {}),
      costUsd: s.costUsd,
      dials: s.dials,
      ...(unlessContactsOpen ? { unlessContactsOpen } : {}),
    });
    s.tally = contacts;
    finishing = false;
    if (unlessContactsOpen && contacts.pending + contacts.retryWait > 0) return undefined;
    finishing = true;
    endPause();
    s.status = status;
    setCurrentDetails(details());
    return { status, ...(s.stopReason ? { stopReason: s.stopReason } : {}), contacts, dials: s.dials, costUsd: s.costUsd };
  }

  function details(): string {
    const t = s.tally;
    const counts = t ? `${t.done + t.cancelled}/${t.total} contacts done · ${t.pending} pending · ${t.retryWait} waiting to redial` : '';
    return `**${s.status}**${s.stopReason ? ` (${s.stopReason})` : ''} · ${counts} · ${inFlightCount()} in flight · ${s.dials} dials · $${s.costUsd.toFixed(2)} · run ${s.runs + 1}`;
  }
}

/** A definition that can never run fails at once, before anything is dialled. */
function validate(input: CampaignInput): void {
  const c = input.config;
  const problems: string[] = [];
  if (!(c.callsPerSecond > 0 && c.callsPerSecond <= 1000)) problems.push('callsPerSecond must be above 0 and at most 1000');
  if (!Number.isInteger(c.maxConcurrentCalls) || c.maxConcurrentCalls < 1) problems.push('maxConcurrentCalls must be a whole number of at least 1');
  const windowIssue = windowProblem(c.window ?? {}, 'UTC');
  if (windowIssue) problems.push(windowIssue);
  if (c.budgetUsd !== undefined && !(c.budgetUsd > 0)) problems.push('budgetUsd must be positive');
  if (c.endsAt !== undefined && Number.isNaN(Date.parse(c.endsAt))) problems.push('endsAt must be an ISO 8601 instant');
  if (!c.agent?.instructions || !c.agent?.greeting) problems.push('agent.instructions and agent.greeting are required');
  if (problems.length > 0) {
    throw ApplicationFailure.create({ type: FailureType.InvalidInput, message: `invalid campaign: ${problems.join('; ')}`, nonRetryable: true });
  }
}
