/**
 * The inbound call actor. The SIP gateway answers the caller into a room named for the
 * call; LiveKit's participant_joined webhook makes the API signal-with-start this workflow
 * (ID = the room's call ID, so a repeated webhook finds the same run). It dispatches the
 * agent with the dispatch rule's configuration and runs the same conversation, transfer
 * and analysis path as an outbound call.
 */
import { ApplicationFailure, CancellationScope, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { FailureType } from '../errors.js';
import type { InboundCallStart } from '../inbound-start.js';
import { callStatusKey, directionKey, tenantIdKey } from '../search-attributes.js';
import { withSummary } from './activities.js';
import { registerCallHandlers } from './handlers.js';
import { agentConfigFor } from './agent-config.js';
import { converse, defaultLimits } from './conversation.js';
import { parseInboundRoute } from './inbound-route.js';
import { CallRecords } from './records.js';
import { CallState } from './state.js';
import type { CallResult } from './types.js';
import { wrapUp } from './wrap-up.js';

export async function inboundCallWorkflow(input: InboundCallStart): Promise<CallResult> {
  const callId = workflowInfo().workflowId;
  const state = new CallState(input.callerIdentity);
  const records = CallRecords.forThisCall();
  const answeredAtMs = Date.now();
  state.answeredAtMs = answeredAtMs;
  registerCallHandlers(state, callId);

  const parsed = parseInboundRoute(input.roomMetadata);
  if ('problem' in parsed) {
    // Nobody can serve this call: end it rather than leave the caller in silence.
    await withSummary('rooms', 'hang up: unusable dispatch rule').hangUp({ roomName: input.roomName });
    throw ApplicationFailure.create({ type: FailureType.InvalidInput, message: `inbound route invalid: ${parsed.problem}`, nonRetryable: true });
  }
  const { route } = parsed;
  const limits = { ...defaultLimits, ...route.limits };
  upsertSearchAttributes([
    { key: tenantIdKey, value: route.tenantId },
    { key: directionKey, value: 'inbound' },
    { key: callStatusKey, value: 'in_progress' },
  ]);
  state.status = 'in_progress';
  setCurrentDetails('**in_progress** · dispatching the agent to the caller');

  await records.recordCall({ callId, tenantId: route.tenantId, attempt: 1, direction: 'inbound', roomName: input.roomName, ...(input.callerNumber ? { calleeE164: input.callerNumber } : {}) });
  const at = new Date(answeredAtMs).toISOString();
  await records.update(
    'record the call as answered',
    { callId, status: 'in_progress', startedAt: at, answeredAt: at },
    { tenantId: route.tenantId, callId, type: 'call.started', payload: { callId, direction: 'inbound' }, occurredAt: at },
    { tenantId: route.tenantId, callId, type: 'call.answered', payload: { callId, direction: 'inbound' }, occurredAt: at },
  );

  const agentConfig = agentConfigFor(callId, route.tenantId, route.agent, route.transfer);
  let wrapped;
  try {
    await withSummary('agent', 'dispatch the media agent').dispatchAgent({ roomName: input.roomName, config: agentConfig, generation: 0, minNextSeq: 1 });
    await converse(state, {
      callId,
      tenantId: route.tenantId,
      roomName: input.roomName,
      calleeIdentity: input.callerIdentity,
      ...(input.callerNumber ? { callTo: input.callerNumber } : {}),
      agentConfig,
      ...(route.transfer ? { transfer: route.transfer } : {}),
      limits,
    });
  } finally {
    wrapped = await CancellationScope.nonCancellable(() =>
      wrapUp(state, records, { callId, tenantId: route.tenantId, roomName: input.roomName, answeredAtMs, analysis: route.analysis }),
    );
  }
  state.status = 'completed';
  upsertSearchAttributes([{ key: callStatusKey, value: 'completed' }]);
  setCurrentDetails(`**completed** · ${wrapped.disposition} (${wrapped.endReason})`);
  return { callId, answered: true, turns: state.turns, agents: state.agentsJoined, retry: { retry: false }, ...wrapped };
}
