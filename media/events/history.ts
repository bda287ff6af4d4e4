/**
 * Reads back one call's events from JetStream, oldest first. The stream is the record of
 * what the media agents said and heard, so a replacement agent resumes from it (turns so
 * far, and the seq to continue from) even for events the workflow has not seen yet.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { decodeCallEvent, type CallEvent } from './schema.js';
import { callEventsStream, callEventsSubject } from './subjects.js';

export async function readCallEvents(nc: NatsConnection, callId: string): Promise<CallEvent[]> {
  const consumer = await jetstream(nc).consumers.get(callEventsStream, {
    filter_subjects: [callEventsSubject(callId)],
    deliver_policy: DeliverPolicy.All,
  });
  // Read exactly what is stored now rather than waiting out a fetch expiry.
  const { num_pending: stored } = await consumer.info();
  const events: CallEvent[] = [];
  for (let i = 0; i < stored; i++) {
    const m = await consumer.next({ expires: 2000 });
    if (!m) break;
    events.push(decodeCallEvent(m.data));
  }
  return events;
}
