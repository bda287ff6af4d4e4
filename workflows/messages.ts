/**
 * Every message a call workflow takes or answers, defined once and imported by each side:
 * the event bridge (call events from NATS), the API's LiveKit webhook receiver (room
 * events), the HTTP API (hang up, status) and tests.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ToolName } from './tool-names.js';

/**
 * A call event as the workflow sees it: the compact part it decides on. Transcript text
 * stays out of workflow history; the bridge writes it to PostgreSQL before signalling,
 * and turns carry only their length.
 */
export type CallEventSignal =
  | { seq: number; ts: string; type: 'agent.joined'; workerId: string; resumed: boolean; participantIdentity?: string }
  | { seq: number; ts: string; type: 'user.turn' | 'agent.turn'; chars: number; interrupted?: boolean }
  | {
      seq: number;
      ts: string;
      type: 'tool.requested';
      toolCallId: string;
      name: ToolName;
      args: Record<string, unknown>;
    }
  | { seq: number; ts: string; type: 'turn.metrics' | 'usage' }
  | { seq: number; ts: string; type: 'call.ended'; reason: string }
  | { seq: number; ts: string; type: 'agent.left'; reason: 'call_ended' | 'drained' | 'error' | 'participant_left' }
  | { seq: number; ts: string; type: 'agent.error'; code: string; retryable: boolean };

/** Delivered by the event bridge, at least once and in any order; the workflow dedupes by `seq`. */
export const callEventSignal = defineSignal<[CallEventSignal]>('callEvent');

/** Who a room event is about, as LiveKit reports the participant's kind. */
export type ParticipantKind = 'sip' | 'agent' | 'standard' | 'other';

/** A LiveKit webhook about the call's room, verified by the API. */
export interface RoomEventSignal {
  /** LiveKit's webhook event ID: the same delivery signalled twice is applied once. */
  eventId: string;
  event: 'participant_joined' | 'participant_left' | 'room_finished';
  roomName: string;
  participantIdentity?: string;
  participantKind?: ParticipantKind;
  /** When LiveKit created the event, ms since the epoch. */
  atMs: number;
}
export const roomEventSignal = defineSignal<[RoomEventSignal]>('roomEvent');

/**
 * From the event bridge (`workers/agent-watch.ts`): no process serves the call's control
 * subject any more, so the agent that joined as `participantIdentity` is gone, though
 * LiveKit may list it for ~20 s yet.
 */
export interface AgentUnreachableSignal {
  participantIdentity: string;
}
export const agentUnreachableSignal = defineSignal<[AgentUnreachableSignal]>('agentUnreachable');

/** Ends a live call now (an operator, the API, a campaign cancel). */
export interface HangUpRequest {
  reason: string;
}
export const hangUpUpdate = defineUpdate<{ accepted: true }, [HangUpRequest]>('hangUp');

/** Where the call stands, cheaply, for the API and the ops console. */
export interface CallStatus {
  callId: string;
  status: CallPhase;
  disposition?: string;
  turns: number;
  agents: number;
  answeredAtMs?: number;
}
export type CallPhase =
  | 'scheduled'
  | 'waiting_for_window'
  | 'checking_compliance'
  | 'dialling'
  | 'in_progress'
  | 'transferring'
  | 'ending'
  | 'analysing'
  | 'completed';
export const callStatusQuery = defineQuery<CallStatus>('callStatus');
