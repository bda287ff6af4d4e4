/**
 * The messages every call workflow answers, registered once for outbound and inbound
 * calls: call events and room events feed the state, a hang-up update ends the call
 * (validated first), and the status query reads it.
 */
import { ApplicationFailure, patched, setHandler } from '@temporalio/workflow';
import { FailureType } from '../errors.js';
import { agentUnreachableSignal, callEventSignal, callStatusQuery, hangUpUpdate, roomEventSignal } from '../messages.js';
import type { CallState } from './state.js';

export function registerCallHandlers(state: CallState, callId: string, opts: { onHangUp?: () => void } = {}): void {
  // Asked only when an agent reports a provider failure, which is when the answer matters.
  state.providerErrorEndsCall = () => !patched('provider-errors-left-to-the-agent');
  state.lateEventsApplied = () => patched('late-events-applied');
  setHandler(callEventSignal, (event) => state.offer(event, Date.now()));
  setHandler(roomEventSignal, (event) => state.onRoomEvent(event, Date.now()));
  setHandler(agentUnreachableSignal, ({ participantIdentity }) => state.onAgentUnreachable(participantIdentity, Date.now()));
  setHandler(
    hangUpUpdate,
    ({ reason }) => {
      state.end(reason, 'workflow');
      opts.onHangUp?.();
      return { accepted: true as const };
    },
    {
      validator: ({ reason }) => {
        // Typed, so the API answers 400 and 409 rather than a server error.
        if (typeof reason !== 'string' || reason.trim() === '') {
          throw ApplicationFailure.create({ type: FailureType.InvalidInput, message: 'a hang-up needs a reason', nonRetryable: true });
        }
        if (state.status === 'ending' || state.status === 'analysing' || state.status === 'completed') {
          throw ApplicationFailure.create({ type: FailureType.InvalidTransition, message: `the call is already ${state.status}`, nonRetryable: true });
        }
      },
    },
  );
  setHandler(callStatusQuery, () => ({
    callId,
    status: state.status,
    turns: state.turns,
    agents: state.agentsJoined,
    ...(state.answeredAtMs !== undefined ? { answeredAtMs: state.answeredAtMs } : {}),
  }));
}
