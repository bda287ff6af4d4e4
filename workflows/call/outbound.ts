/**
 * The outbound call actor: one workflow per call attempt. It waits for the contact's
 * calling window, passes the compliance gate, creates the room and dispatches the media
 * agent, dials over SIP, follows the conversation, hangs up, analyses, persists, and
 * decides (and, for a call on its own, schedules) the next attempt.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  patched,
  ParentClosePolicy,
  isCancellation,
  setCurrentDetails,
  sleep,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { FailureType } from '../errors.js';
import { calleeIdentityFor, callWorkflowId, campaignWorkflowId, roomNameFor } from '../ids.js';
import { callEndedSignal, callOutcomeSignal } from '../campaign/messages.js';
import type { CallOutcome } from '../campaign/types.js';
import { callStatusKey, dispositionKey, outboundCallSearchAttributes } from '../search-attributes.js';
import { campaignSettle, withSummary } from './activities.js';
import { registerCallHandlers } from './handlers.js';
import { agentConfigFor } from './agent-config.js';
import { nextWindowOpenMs, windowProblem } from './calling-window.js';
import { converse, defaultLimits } from './conversation.js';
import { decideRetry, type RetryDecision } from './retry-policy.js';
import { CallRecords } from './records.js';
import { CallState } from './state.js';
import type { CallResult, Disposition, OutboundCallInput } from './types.js';
import { hangUpCall, wrapUp } from './wrap-up.js';

export async function outboundCallWorkflow(input: OutboundCallInput): Promise<CallResult> {
  try {
    const result = await placeCall(input);
    await reportToCampaign(input, { disposition: result.disposition, ...(result.retry.retry ? { retryDelayMs: result.retry.delayMs } : {}), ...(result.durationMs !== undefined ? { durationMs: result.durationMs } : {}) });
    return result;
  } catch (err) {
    // The campaign must hear of every attempt, also one that failed or was cancelled.
    await reportToCampaign(input, { disposition: isCancellation(err) ? 'cancelled' : 'failed' });
    throw err;
  }
}

/**
 * Tells the campaign how this attempt ended (its retry decision included). A campaign
 * that counts its lines in PostgreSQL has the call settle its end there and hears of it
 * only if it sleeps waiting for it; an older campaign run waits for the outcome by signal.
 * Not returned: the campaign may have continued as new since it started this call. A
 * campaign that no longer runs has nothing to hear.
 */
async function reportToCampaign(input: OutboundCallInput, outcome: Pick<CallOutcome, 'disposition' | 'retryDelayMs' | 'durationMs'>): Promise<void> {
  if (input.campaignId === undefined) return;
  const report: CallOutcome = { callId: workflowInfo().workflowId, contactId: input.contactId, attempt: input.attempt, ...outcome };
  const campaign = getExternalWorkflowHandle(campaignWorkflowId(input.tenantId, input.campaignId));
  if (input.settlesWithCampaign) {
    const { campaignId } = input;
    const settled = await CancellationScope.nonCancellable(() => campaignSettle.settleCampaignAttempt({ campaignId, outcome: report, endedAtMs: Date.now() }));
    if (settled.wakeCampaign) {
      const ended = settled.wakeSeq !== undefined ? [{ wakeSeq: settled.wakeSeq }] : [];
      await CancellationScope.nonCancellable(() => campaign.signal(callEndedSignal, ...ended)).catch(() => undefined);
    }
    return;
  }
  if (!patched('report-outcome-to-campaign')) return;
  await CancellationScope.nonCancellable(() => campaign.signal(callOutcomeSignal, report)).catch(() => undefined);
}

/**
 * A campaign starts its calls a few seconds ahead of their slots (`claimAheadMs`), with a
 * start delay that holds the first task until the slot (`activities/call-starts.ts`). A
 * call that still begins early (its slot was under a second away, or it was started as a
 * child by a campaign run from before the start delay) waits here on a durable timer; a
 * hang-up request ends the wait at once. Returns how late the call began against its
 * slot. Calls from before this waited nowhere; their lag is their start time's.
 */
async function waitForSlot(plannedAtMs: number, state: CallState): Promise<number | undefined> {
  if (!patched('wait-for-planned-slot')) return workflowInfo().startTime.getTime() - plannedAtMs;
  if (plannedAtMs > Date.now()) {
    setCurrentDetails(`**scheduled** · dials at its campaign slot, ${new Date(plannedAtMs).toISOString()}`);
    await condition(() => state.ended !== undefined, plannedAtMs - Date.now());
  }
  // A call hung up before its slot was not late; it has no lag.
  return state.ended ? undefined : Date.now() - plannedAtMs;
}

async function placeCall(input: OutboundCallInput): Promise<CallResult> {
  const callId = workflowInfo().workflowId;
  validate(input, callId);
  const roomName = roomNameFor(callId);
  const calleeIdentity = calleeIdentityFor(callId);
  const limits = { ...defaultLimits, ...input.limits };
  const state = new CallState(calleeIdentity);
  const records = CallRecords.forThisCall();
  // Cancelled by a hang-up request before the answer: stops the wait, the dial, the ringing.
  const beforeAnswer = new CancellationScope();

  registerCallHandlers(state, callId, {
    // Before the answer a hang-up also stops the wait, the dial and the ringing.
    onHangUp: () => {
      if (state.answeredAtMs === undefined) beforeAnswer.cancel();
    },
  });

  const setStatus = (status: typeof state.status, details: string) => {
    state.status = status;
    upsertSearchAttributes([{ key: callStatusKey, value: status }]);
    setCurrentDetails(`**${status}** · ${details}`);
  };
  // A call its campaign started has these from its start; others set them here. Read
  // from the start event, so a replay decides the same way.
  const startedWith = workflowInfo().typedSearchAttributes;
  const unset = outboundCallSearchAttributes(input).filter(({ key, value }) => startedWith.get(key) !== value);
  if (unset.length > 0) upsertSearchAttributes(unset);
  const schedulingLagMs = input.plannedAtMs === undefined ? undefined : await waitForSlot(input.plannedAtMs, state);
  await records.recordCall({
    callId,
    tenantId: input.tenantId,
    ...(input.campaignId ? { campaignId: input.campaignId } : {}),
    contactId: input.contactId,
    ...(input.agentId ? { agentId: input.agentId } : {}),
    attempt: input.attempt,
    direction: 'outbound',
    roomName,
    calleeE164: input.callTo,
    ...(schedulingLagMs !== undefined ? { schedulingLagMs } : {}),
  });

  const finishUnanswered = async (disposition: Disposition, endReason: string, sipStatusCode?: number): Promise<CallResult> => {
    upsertSearchAttributes([{ key: dispositionKey, value: disposition }]);
    const endedAt = new Date().toISOString();
    await records.update(
      `record the outcome: ${disposition}`,
      { callId, status: 'ended', disposition, endReason, ...(sipStatusCode !== undefined ? { sipStatusCode } : {}), endedAt },
      {
        tenantId: input.tenantId,
        callId,
        ...campaign(input),
        type: 'call.ended',
        payload: { callId, disposition, endReason, ...(sipStatusCode !== undefined ? { sipStatusCode } : {}) },
        occurredAt: endedAt,
      },
    );
    return finish({ callId, disposition, endReason, answered: false, turns: 0, agents: state.agentsJoined, ...(sipStatusCode !== undefined ? { sipStatusCode } : {}) });
  };

  const finish = async (result: Omit<CallResult, 'retry'>): Promise<CallResult> => {
    const retry = decideRetry(input.retry, result.disposition, input.attempt);
    const nextAttemptId = retry.retry && (input.chainRetries ?? input.campaignId === undefined) ? await scheduleNextAttempt(input, retry, records) : undefined;
    setStatus('completed', `${result.disposition} (${result.endReason})${nextAttemptId ? ` · next attempt ${nextAttemptId}` : ''}`);
    return { ...result, retry, ...(nextAttemptId ? { nextAttemptId } : {}) };
  };

  // 1. Calling window, in the contact's zone: a durable sleep until it opens.
  let dialed: { sipCallId: string };
  try {
    dialed = await beforeAnswer.run(async () => {
      const opensAtMs = nextWindowOpenMs(input.window ?? {}, input.contact.timeZone, Date.now());
      if (opensAtMs > Date.now()) {
        setStatus('waiting_for_window', `opens ${new Date(opensAtMs).toISOString()} (${input.contact.timeZone})`);
        await sleep(opensAtMs - Date.now(), { summary: `wait for the calling window (${input.contact.timeZone})` });
      }
      // 2. Compliance gate: do-not-call list and consent, at dial time.
      setStatus('checking_compliance', 'do-not-call list and consent');
      const verdict = await records.checkCompliance({
        tenantId: input.tenantId,
        callTo: input.callTo,
        consent: input.contact.consent,
      });
      if (!verdict.allowed) throw new Blocked(verdict.reason);

      // 3. Room and agent first, so the agent is listening when the callee answers.
      setStatus('dialling', 'creating the room and dispatching the agent');
      await withSummary('rooms', 'create the call room').createRoom({ roomName, emptyTimeoutS: 120 });
      await withSummary('agent', 'dispatch the media agent').dispatchAgent({
        roomName,
        config: agentConfigFor(callId, input.tenantId, input.agent, input.transfer),
        generation: 0,
        minNextSeq: 1,
      });
      const startedAt = new Date().toISOString();
      await records.update(
        'record the call as dialling',
        { callId, status: 'dialling', startedAt },
        { tenantId: input.tenantId, callId, ...campaign(input), type: 'call.started', payload: { callId, attempt: input.attempt }, occurredAt: startedAt },
      );

      // 4. Dial: resolves on answer, fails with the SIP outcome.
      setStatus('dialling', 'ringing');
      return withSummary('dial', `dial (ringing timeout ${limits.ringingTimeoutS} s)`).dialCallee({
        trunk: input.trunk,
        callTo: input.callTo,
        roomName,
        participantIdentity: calleeIdentity,
        ringingTimeoutMs: limits.ringingTimeoutS * 1000,
        maxCallDurationMs: (limits.maxDurationS + 60) * 1000,
      });
    });
  } catch (err) {
    if (err instanceof Blocked) return finishUnanswered('blocked', err.reason);
    const failure = dialFailure(err);
    if (!failure && !(isCancellation(err) && state.ended)) {
      await hangUpCall(roomName);
      throw err;
    }
    await hangUpCall(roomName);
    if (!failure) return finishUnanswered('cancelled', state.ended?.reason ?? 'hung_up_before_answer');
    return finishUnanswered(failure.disposition, failure.reason, failure.sipStatusCode);
  }

  // 5. The conversation.
  const answeredAtMs = Date.now();
  state.answeredAtMs = answeredAtMs;
  setStatus('in_progress', `answered (${dialed.sipCallId})`);
  const answeredAt = new Date(answeredAtMs).toISOString();
  await records.update(
    'record the answer',
    { callId, status: 'in_progress', answeredAt },
    { tenantId: input.tenantId, callId, ...campaign(input), type: 'call.answered', payload: { callId }, occurredAt: answeredAt },
  );
  let wrapped;
  try {
    await converse(state, {
      callId,
      tenantId: input.tenantId,
      roomName,
      calleeIdentity,
      callTo: input.callTo,
      agentConfig: agentConfigFor(callId, input.tenantId, input.agent, input.transfer),
      ...(input.transfer ? { transfer: input.transfer } : {}),
      limits,
    });
  } finally {
    // 6-8. Hang up, analyse, persist: also when the conversation failed or was cancelled.
    wrapped = await CancellationScope.nonCancellable(() =>
      wrapUp(state, records, { callId, tenantId: input.tenantId, ...campaign(input), roomName, answeredAtMs, analysis: input.analysis }),
    );
  }
  return finish({ callId, answered: true, turns: state.turns, agents: state.agentsJoined, ...wrapped });
}

class Blocked extends Error {
  constructor(readonly reason: string) {
    super(`call blocked: ${reason}`);
  }
}

function campaign(input: OutboundCallInput): { campaignId?: string } {
  return input.campaignId ? { campaignId: input.campaignId } : {};
}

/** The next attempt is its own workflow (its ID names the attempt), started after a durable wait. */
async function scheduleNextAttempt(input: OutboundCallInput, retry: Extract<RetryDecision, { retry: true }>, records: CallRecords): Promise<string> {
  const nextInput = { ...input, attempt: retry.nextAttempt };
  const workflowId = callWorkflowId(nextInput);
  setCurrentDetails(`**waiting to redial** · attempt ${retry.nextAttempt} in ${Math.round(retry.delayMs / 1000)} s`);
  await sleep(retry.delayMs, { summary: `wait before attempt ${retry.nextAttempt}` });
  // The next attempt waits for the calling window itself, at its own dial time.
  await startChild(outboundCallWorkflow, {
    workflowId,
    args: [nextInput],
    parentClosePolicy: ParentClosePolicy.ABANDON,
    staticSummary: `Call attempt ${retry.nextAttempt} (redial after ${Math.round(retry.delayMs / 1000)} s)`,
  });
  await records.update('link the next attempt', { callId: workflowInfo().workflowId, nextAttemptId: workflowId });
  return workflowId;
}

/** Maps a failed dial to its disposition; undefined for anything that is not a dial outcome. */
function dialFailure(err: unknown): { disposition: Disposition; reason: string; sipStatusCode?: number } | undefined {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof ApplicationFailure)) return undefined;
  const detail = err.cause.details?.[0] as { sipStatusCode?: number } | undefined;
  const status = detail?.sipStatusCode === undefined ? {} : { sipStatusCode: detail.sipStatusCode };
  switch (err.cause.type) {
    case FailureType.SipBusy:
      return { disposition: 'busy', reason: 'busy', ...status };
    case FailureType.SipNoAnswer:
      return { disposition: 'no_answer', reason: 'ringing_timeout', ...status };
    case FailureType.SipRejected:
      return { disposition: 'rejected', reason: 'rejected', ...status };
    case FailureType.SipFailed:
    case FailureType.GatewayUnavailable:
      return { disposition: 'failed', reason: 'sip_failure', ...status };
    default:
      return undefined;
  }
}

/** Input errors fail the workflow at once with a clear message; nothing was dialled. */
function validate(input: OutboundCallInput, workflowId: string): void {
  const problems: string[] = [];
  let expectedId: string | undefined;
  try {
    expectedId = callWorkflowId(input);
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (expectedId !== undefined && expectedId !== workflowId) problems.push(`the workflow ID must be ${expectedId}, which names this attempt`);
  if (!/^\+[1-9]\d{6,14}$/.test(input.callTo)) problems.push('callTo must be an E.164 number');
  const windowIssue = windowProblem(input.window ?? {}, input.contact.timeZone);
  if (windowIssue) problems.push(windowIssue);
  if (!input.agent.instructions || !input.agent.greeting) problems.push('agent.instructions and agent.greeting are required');
  if (problems.length > 0) {
    throw ApplicationFailure.create({ type: FailureType.InvalidInput, message: `invalid call: ${problems.join('; ')}`, nonRetryable: true });
  }
}
