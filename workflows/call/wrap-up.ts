/**
 * The end of every answered call, outbound or inbound: hang up (whatever happened, even
 * on cancellation), decide the disposition, run the post-call analysis, persist, and emit
 * the domain events webhooks are delivered from.
 */
import { ActivityFailure, CancellationScope, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import { callStatusKey, dispositionKey } from '../search-attributes.js';
import { withSummary } from './activities.js';
import type { CallRecords } from './records.js';
import type { CallState } from './state.js';
import type { CallResult, Disposition, OutboundCallInput } from './types.js';

/** Hangs up for everyone; runs even when the workflow is being cancelled. */
export async function hangUpCall(roomName: string): Promise<void> {
  await CancellationScope.nonCancellable(() => withSummary('rooms', 'hang up (delete the room)').hangUp({ roomName }));
}

export function dispositionOf(state: CallState): Disposition {
  if (state.optedOut) return 'opted_out';
  if (state.transferred) return 'transferred';
  if (state.voicemailAtMs !== undefined) return 'voicemail';
  return 'completed';
}

export interface WrapUpInput {
  callId: string;
  tenantId: string;
  campaignId?: string;
  roomName: string;
  answeredAtMs: number;
  analysis: OutboundCallInput['analysis'];
}

/** Everything after the conversation. Returns the parts of the result it decided. */
export async function wrapUp(
  state: CallState,
  records: CallRecords,
  input: WrapUpInput,
): Promise<Pick<CallResult, 'disposition' | 'endReason' | 'durationMs' | 'analysis'>> {
  state.status = 'ending';
  setCurrentDetails(`**ending** · ${state.ended?.reason ?? 'unknown'}`);
  await hangUpCall(input.roomName);
  const endedAtMs = Date.now();
  const disposition = dispositionOf(state);
  const endReason = state.ended?.reason ?? 'unknown';
  const durationMs = endedAtMs - input.answeredAtMs;
  upsertSearchAttributes([{ key: dispositionKey, value: disposition }]);

  const endedAt = new Date(endedAtMs).toISOString();
  const common = { tenantId: input.tenantId, callId: input.callId, ...(input.campaignId ? { campaignId: input.campaignId } : {}) };
  await records.update(
    'record how the call ended',
    { callId: input.callId, status: 'ended', disposition, endReason, agentCount: state.agentsJoined, endedAt },
    { ...common, type: 'call.ended', payload: { callId: input.callId, disposition, endReason, durationMs, turns: state.turns }, occurredAt: endedAt },
  );

  // A conversation is worth analysing; a voicemail greeting or silence is not.
  let analysis: CallResult['analysis'];
  if (state.turns > 0 && disposition !== 'voicemail') {
    state.status = 'analysing';
    upsertSearchAttributes([{ key: callStatusKey, value: 'analysing' }]);
    setCurrentDetails('**analysing** the conversation');
    try {
      const outcome = await withSummary('analysis', 'post-call analysis (LLM, structured output)').analyzeCall({
        callId: input.callId,
        ...(input.analysis?.goal ? { goal: input.analysis.goal } : {}),
        ...(input.analysis?.fields ? { fields: input.analysis.fields } : {}),
      });
      analysis =
        outcome.status === 'ok'
          ? { status: 'ok', summary: outcome.summary, sentiment: outcome.sentiment, goalMet: outcome.goalMet }
          : { status: 'failed', error: outcome.error };
    } catch (err) {
      // The call happened whatever the analysis does: an LLM outage after its retries, or a
      // transcript it cannot read, must not turn a completed call into a failed one.
      if (!(err instanceof ActivityFailure)) throw err;
      analysis = { status: 'failed', error: err.cause?.message ?? err.message };
    }
    await records.emit('record the analysis', { ...common, type: 'call.analyzed', payload: { callId: input.callId, ...analysis }, occurredAt: new Date().toISOString() });
  }
  return { disposition, endReason, durationMs, ...(analysis ? { analysis } : {}) };
}
