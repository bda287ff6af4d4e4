/**
 * The messages every call workflow answers, registered once for outbound and inbound
 * calls: call events and room events feed the state, a hang-up update ends the call
 * (validated first), and the status query reads it.
 */
import { setHandler } from '@temporalio/workflow';
import { agentUnreachableSignal, callEventSignal, callStatusQuery, hangUpUpdate, roomEventSignal } from '../messages.js';
import type { CallState } from './state.js';

export function registerCallHandlers(state: CallState, callId: string, opts: { onHangUp?: () => void } = {}): void {
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
        if (typeof reason !== 'string' || reason.trim() === '') throw new Error('a hang-up needs a reason');
        if (state.status === 'ending' || state.status === 'analysing' || state.status === 'completed') {
          throw new Error(`the call is already ${state.status}`);
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
