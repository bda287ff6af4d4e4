/**
 * NATS names for call events, keyed by call ID only: no phone number, tenant name or
 * transcript ever appears in a subject.
 */
import { callIdSchema } from './schema.js';

/** The JetStream stream that stores every call's events. */
export const callEventsStream = 'CALL_EVENTS';
/** Subjects the stream captures. */
export const callEventsSubjects = ['kickcall.calls.*.events'];

export function callEventsSubject(callId: string): string {
  return `kickcall.calls.${callIdSchema.parse(callId)}.events`;
}

/** Request/reply subject on which a call's media worker takes commands. */
export function callControlSubject(callId: string): string {
  return `kickcall.calls.${callIdSchema.parse(callId)}.control`;
}

/** JetStream message ID: a republished event with the same `seq` is dropped as a duplicate. */
export function callEventMsgId(callId: string, seq: number): string {
  return `${callId}:${seq}`;
}

/**
 * Header naming one control command: a retry of the same command (its activity timed out
 * while the agent was still speaking) carries the same ID and is applied once.
 */
export const controlCommandIdHeader = 'Kickcall-Command-Id';

/** The durable consumer every event bridge instance shares. */
export const callEventBridgeDurable = 'call-event-bridge';
