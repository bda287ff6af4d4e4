/** Reads a call's events back from JetStream (stream CALL_EVENTS), as the tests do. */
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeCallEvent, type CallEvent } from '../../media/events/schema.js';
import { callEventsStream, callEventsSubject } from '../../media/events/subjects.js';

export type TurnMetricsEvent = Extract<CallEvent, { type: 'turn.metrics' }>;

/** Every event stored for the call now, in stream order. */
export async function eventsOf(nc: NatsConnection, callId: string): Promise<CallEvent[]> {
  const consumer = await jetstream(nc).consumers.get(callEventsStream, {
    filter_subjects: [callEventsSubject(callId)],
    deliver_policy: DeliverPolicy.All,
  });
  const { num_pending: stored } = await consumer.info();
  const events: CallEvent[] = [];
  for (let i = 0; i < stored; i++) {
    const m = await consumer.next({ expires: 2_000 });
    if (!m) break;
    events.push(decodeCallEvent(m.data));
  }
  return events;
}

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
