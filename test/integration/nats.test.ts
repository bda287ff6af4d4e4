/**
 * NATS JetStream (real nats-server, file storage): streams, publish dedupe by message ID,
 * and a durable consumer that resumes where it left off after the client reconnects.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { config, uniqueName } from '../helpers/env.js';

const stream = uniqueName('TEST_EVENTS').replaceAll('-', '_');
const subject = (n: number) => `${stream}.call.c${n}`;
let nc: NatsConnection;

before(async () => {
  nc = await connect({ servers: config.nats.url, name: 'kickcall-test' });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({
    name: stream,
    subjects: [`${stream}.>`],
    storage: StorageType.File,
    duplicate_window: nanos(120_000),
  });
});

after(async () => {
  const admin = await connect({ servers: config.nats.url });
  await (await jetstreamManager(admin)).streams.delete(stream).catch(() => false);
  await admin.close();
  await nc.close().catch(() => undefined);
});

test('a message published twice with the same msgID is stored once', async () => {
  const js = jetstream(nc);
  const first = await js.publish(subject(1), JSON.stringify({ seq: 1 }), { msgID: 'c1:1' });
  const again = await js.publish(subject(1), JSON.stringify({ seq: 1 }), { msgID: 'c1:1' });
  const other = await js.publish(subject(1), JSON.stringify({ seq: 2 }), { msgID: 'c1:2' });

  assert.equal(first.duplicate, false);
  assert.equal(again.duplicate, true, 'the second publish must be reported as a duplicate');
  assert.equal(again.seq, first.seq, 'the duplicate points at the stored message');
  assert.equal(other.duplicate, false);
  const info = await (await jetstreamManager(nc)).streams.info(stream);
  assert.equal(info.state.messages, 2);
});

test('a durable consumer resumes after the client reconnects', async () => {
  const durable = 'bridge';
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add(stream, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: `${stream}.call.c9`,
  });
  const js = jetstream(nc);
  for (let seq = 1; seq <= 5; seq++) {
    await js.publish(subject(9), JSON.stringify({ seq }), { msgID: `c9:${seq}` });
  }

  // First session: take three, acknowledge them, then drop the connection.
  const consumer = await js.consumers.get(stream, durable);
  const firstSession: number[] = [];
  for (let i = 0; i < 3; i++) {
    const m = await consumer.next({ expires: 2000 });
    assert.ok(m, 'expected a message');
    firstSession.push((m.json<{ seq: number }>()).seq);
    await m.ackAck();
  }
  await nc.close();

  // Second session on a new connection: the same durable continues with 4 and 5.
  nc = await connect({ servers: config.nats.url, name: 'kickcall-test-reconnected' });
  const resumed = await jetstream(nc).consumers.get(stream, durable);
  const secondSession: number[] = [];
  for (;;) {
    const m = await resumed.next({ expires: 1000 });
    if (!m) break;
    secondSession.push((m.json<{ seq: number }>()).seq);
    await m.ackAck();
  }

  assert.deepEqual(firstSession, [1, 2, 3]);
  assert.deepEqual(secondSession, [4, 5]);
  const info = await (await jetstreamManager(nc)).consumers.info(stream, durable);
  assert.equal(info.num_pending, 0);
  assert.equal(info.num_ack_pending, 0);
});
