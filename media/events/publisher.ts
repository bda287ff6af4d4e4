/**
 * Publishes one call's events to JetStream: numbers them, validates them against the
 * contract, dedupes by `Nats-Msg-Id` and carries the W3C trace context in headers.
 */
import { ClosedConnectionError, DrainingConnectionError, headers as natsHeaders, nanos, type NatsConnection } from '@nats-io/transport-node';
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

export interface PublishRetry {
  /** How long one event is retried before it is given up (well inside the 2-minute dedupe window). */
  deadlineMs: number;
  /** Wait before the first retry; doubles each time, up to `maxBackoffMs`. */
  firstBackoffMs: number;
  maxBackoffMs: number;
}

export const defaultPublishRetry: PublishRetry = { deadlineMs: 30_000, firstBackoffMs: 250, maxBackoffMs: 2_000 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * @param startSeq first sequence number to use; a resumed call continues from the last
 *   seq its workflow saw, plus one.
 */
export function createCallEventPublisher(js: JetStreamClient, callId: string, startSeq = 1, retry: PublishRetry = defaultPublishRetry): CallEventPublisher {
  let seq = startSeq;
  const subject = callEventsSubject(callId);
  return {
    get nextSeq() {
      return seq;
    },
    async publish(body, opts = {}) {
      const event = callEventSchema.parse({ ...body, v: 1, callId, seq, ts: (opts.at ?? new Date()).toISOString() });
      // The seq is spent once the event exists: if its publish fails, the next event must not
      // reuse it, or JetStream would drop that one as a duplicate of a message it may hold.
      seq += 1;
      const h = natsHeaders();
      if (opts.traceparent) h.set('traceparent', opts.traceparent);
      const payload = JSON.stringify(event);
      const giveUpAt = Date.now() + retry.deadlineMs;
      for (let backoffMs = retry.firstBackoffMs; ; backoffMs = Math.min(backoffMs * 2, retry.maxBackoffMs)) {
        try {
          // The same Nats-Msg-Id every time: a retry after a lost ack is stored once.
          const ack = await js.publish(subject, payload, { msgID: callEventMsgId(callId, event.seq), headers: h });
          return { event, duplicate: ack.duplicate };
        } catch (err) {
          // A closed or draining connection will not come back for this job: no point waiting.
          if (err instanceof ClosedConnectionError || err instanceof DrainingConnectionError || Date.now() + backoffMs > giveUpAt) throw err;
          await sleep(backoffMs);
        }
      }
    },
  };
}
