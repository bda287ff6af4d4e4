/** Reads a call's events back from JetStream (stream CALL_EVENTS), as the tests do. */
import type { NatsConnection } from '@nats-io/transport-node';
import { readCallEvents } from '../../media/events/history.js';
import type { CallEvent } from '../../media/events/schema.js';

export type TurnMetricsEvent = Extract<CallEvent, { type: 'turn.metrics' }>;

/** Every event stored for the call now, in stream order. */
export const eventsOf = readCallEvents;

/** The call's events once its agent has left (its last event), or what is there at the deadline. */
export async function finalEventsOf(nc: NatsConnection, callId: string, timeoutMs: number): Promise<{ events: CallEvent[]; complete: boolean }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = await eventsOf(nc, callId);
    if (events.some((e) => e.type === 'agent.left')) return { events, complete: true };
    if (Date.now() >= deadline) return { events, complete: false };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
