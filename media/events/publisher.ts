/**
 * Publishes one call's events to JetStream: numbers them, validates them against the
 * contract, dedupes by `Nats-Msg-Id` and carries the W3C trace context in headers.
 */
import { headers as natsHeaders, nanos, type NatsConnection } from '@nats-io/transport-node';
import { StorageType, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { callEventSchema, type CallEvent, type CallEventBody } from './schema.js';
import { callEventMsgId, callEventsStream, callEventsSubject, callEventsSubjects } from './subjects.js';

/** Creates the call events stream if it does not exist (file storage, 2-minute dedupe window). */
export async function ensureCallEventsStream(nc: NatsConnection): Promise<JetStreamManager> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(callEventsStream);
  } catch {
    await jsm.streams.add({
      name: callEventsStream,
      subjects: callEventsSubjects,
      storage: StorageType.File,
      duplicate_window: nanos(120_000),
      max_age: nanos(7 * 24 * 3600 * 1000),
    });
  }
  return jsm;
}

export interface CallEventPublisher {
  /** The `seq` the next event will carry. */
  readonly nextSeq: number;
  publish(body: CallEventBody, opts?: { traceparent?: string; at?: Date }): Promise<{ event: CallEvent; duplicate: boolean }>;
}

/**
 * @param startSeq first sequence number to use; a resumed call continues from the last
 *   seq its workflow saw, plus one.
 */
export function createCallEventPublisher(js: JetStreamClient, callId: string, startSeq = 1): CallEventPublisher {
  let seq = startSeq;
  const subject = callEventsSubject(callId);
  return {
    get nextSeq() {
      return seq;
    },
    async publish(body, opts = {}) {
      const event = callEventSchema.parse({ ...body, v: 1, callId, seq, ts: (opts.at ?? new Date()).toISOString() });
      const h = natsHeaders();
      if (opts.traceparent) h.set('traceparent', opts.traceparent);
      const ack = await js.publish(subject, JSON.stringify(event), { msgID: callEventMsgId(callId, event.seq), headers: h });
      seq += 1;
      return { event, duplicate: ack.duplicate };
    },
  };
}
