/** The call event publisher against real JetStream: order, dedupe by seq, trace context. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect, TimeoutError, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { createCallEventPublisher, ensureCallEventsStream } from '../../media/events/publisher.js';
import { decodeCallEvent } from '../../media/events/schema.js';
import { callEventsStream, callEventsSubject } from '../../media/events/subjects.js';
import { config, uniqueName } from '../helpers/env.js';

let nc: NatsConnection;
before(async () => {
  nc = await connect({ servers: config.nats.url });
});
after(() => nc.close());

test('a call’s events arrive in order, once each, with their trace context', async () => {
  const jsm = await ensureCallEventsStream(nc);
  await ensureCallEventsStream(nc); // idempotent
  const callId = uniqueName('evt').replaceAll('-', '_');
  const js = jetstream(nc);
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  const publisher = createCallEventPublisher(js, callId);
  await publisher.publish({ type: 'agent.joined', workerId: 'w1', resumed: false }, { traceparent });
  await publisher.publish({ type: 'user.turn', text: 'hello' }, { traceparent });
  await publisher.publish({ type: 'agent.turn', text: 'hi, how can I help?', interrupted: false }, { traceparent });
  assert.equal(publisher.nextSeq, 4);

  // A worker that restarts and republishes seq 2 and 3 (it had not seen the acks) is deduped.
  const replay = createCallEventPublisher(js, callId, 2);
  const r2 = await replay.publish({ type: 'user.turn', text: 'hello' });
  const r3 = await replay.publish({ type: 'agent.turn', text: 'hi, how can I help?', interrupted: false });
  assert.deepEqual([r2.duplicate, r3.duplicate], [true, true]);
  await assert.rejects(publisher.publish({ type: 'agent.turn', text: 'x', interrupted: 'maybe' } as never), /interrupted/);
  assert.equal(publisher.nextSeq, 4, 'a rejected event does not consume a seq');

  await jsm.consumers.add(callEventsStream, {
    durable_name: `test_${callId}`,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: callEventsSubject(callId),
  });
  const consumer = await js.consumers.get(callEventsStream, `test_${callId}`);
  const seen: { seq: number; type: string; traceparent: string | undefined }[] = [];
  for (;;) {
    const m = await consumer.next({ expires: 1000 });
    if (!m) break;
    const e = decodeCallEvent(m.data);
    seen.push({ seq: e.seq, type: e.type, traceparent: m.headers?.get('traceparent') || undefined });
    m.ack();
  }
  await jsm.consumers.delete(callEventsStream, `test_${callId}`);
  assert.deepEqual(seen, [
    { seq: 1, type: 'agent.joined', traceparent },
    { seq: 2, type: 'user.turn', traceparent },
    { seq: 3, type: 'agent.turn', traceparent },
  ]);
});

test('a publish whose ack is lost is retried under the same message ID and stored once; a publish that fails spends its seq', async () => {
  const jsm = await ensureCallEventsStream(nc);
  const callId = uniqueName('evt').replaceAll('-', '_');
  const real = jetstream(nc);
  // Real JetStream underneath; the wrapper loses acks, or fails outright, as a flaky network would.
  let loseNextAck = false;
  let failNext = 0;
  const msgIds: string[] = [];
  const flaky = Object.create(real) as typeof real;
  flaky.publish = async (subject, payload, opts) => {
    msgIds.push(String(opts?.msgID));
    if (failNext > 0) {
      failNext--;
      throw new TimeoutError();
    }
    const ack = await real.publish(subject, payload, opts);
    if (loseNextAck) {
      loseNextAck = false;
      throw new TimeoutError();
    }
    return ack;
  };
  const publisher = createCallEventPublisher(flaky, callId, 1, { deadlineMs: 300, firstBackoffMs: 20, maxBackoffMs: 50 });

  loseNextAck = true;
  const first = await publisher.publish({ type: 'agent.joined', workerId: 'w1', resumed: false });
  assert.equal(first.event.seq, 1);
  assert.equal(first.duplicate, true, 'the retry found the first attempt stored');
  assert.deepEqual(msgIds, [`${callId}:1`, `${callId}:1`]);

  failNext = 1_000;
  await assert.rejects(publisher.publish({ type: 'user.turn', text: 'lost' }), TimeoutError);
  failNext = 0;
  const third = await publisher.publish({ type: 'agent.turn', text: 'still here', interrupted: false });
  assert.equal(third.event.seq, 3, 'the failed event keeps its seq: nothing later is taken for its duplicate');
  assert.equal(third.duplicate, false);

  const stored = await jsm.streams.getMessage(callEventsStream, { last_by_subj: callEventsSubject(callId) });
  assert.equal(decodeCallEvent(stored!.data).seq, 3);
  const info = await jsm.streams.info(callEventsStream, { subjects_filter: callEventsSubject(callId) });
  assert.equal(info.state.subjects?.[callEventsSubject(callId)], 2, 'seq 1 once and seq 3: two messages');
});
