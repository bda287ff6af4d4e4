/**
 * The call's real plumbing (testing layer 3): the event bridge from JetStream into a
 * running call workflow with PostgreSQL writes, two bridge instances sharing one durable
 * consumer, and the compliance, record and agent-dispatch activities against the stack's
 * PostgreSQL, NATS and LiveKit.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import type { Client } from '@temporalio/client';
import { AgentDispatchClient, RoomServiceClient } from 'livekit-server-sdk';
import { pino } from 'pino';
import { createAgentActivities } from '../../activities/agent.js';
import { createCallRecordActivities } from '../../activities/call-records.js';
import { createComplianceActivities } from '../../activities/compliance.js';
import { createDb, type Db } from '../../deploy/db/schema.js';
import { createCallEventPublisher, ensureCallEventsStream } from '../../media/events/publisher.js';
import { callEventsSubject } from '../../media/events/subjects.js';
import { startEventBridge, toSignal, type EventBridge } from '../../workers/event-bridge.js';
import { outboundCallWorkflow } from '../../workflows/call/outbound.js';
import type { OutboundCallInput } from '../../workflows/call/types.js';
import { callWorkflowId } from '../../workflows/ids.js';
import { callStatusQuery } from '../../workflows/messages.js';
import { waitFor } from '../helpers/async.js';
import { config, uniqueName, testBridgeIdleMs } from '../helpers/env.js';
import { fakeCallActivities } from '../helpers/fake-call-activities.js';
import { temporalClient, withWorker } from '../helpers/temporal.js';

let nc: NatsConnection;
let db: Db;
let client: Client;
let closeTemporal: () => Promise<void>;
const bridges: EventBridge[] = [];
const durableName = uniqueName('bridge-test');
const tenantId = uniqueName('t').replace('-', '');

before(async () => {
  nc = await connect({ servers: config.nats.url });
  await ensureCallEventsStream(nc);
  db = createDb(config.postgres.url, { maxConnections: 4 });
  ({ client, close: closeTemporal } = await temporalClient());
  // Two instances on one durable consumer, as a deployment would run them.
  const log = pino({ level: 'silent' });
  for (let i = 0; i < 2; i++) {
    bridges.push(await startEventBridge({ nc, temporal: client, db, log, durableName, deliverPolicy: DeliverPolicy.New, removeWhenIdleMs: testBridgeIdleMs }));
  }
});

after(async () => {
  for (const b of bridges) await b.stop();
  const jsm = await ensureCallEventsStream(nc);
  await jsm.consumers.delete('CALL_EVENTS', durableName).catch(() => undefined);
  await db.destroy();
  await nc.close();
  await closeTemporal();
});

function input(contactId: string): OutboundCallInput {
  return {
    tenantId,
    contactId,
    attempt: 1,
    callTo: '+15550100001',
    trunk: { address: '127.0.0.1:5999', numbers: ['+15550100000'] },
    contact: { timeZone: 'UTC', consent: true },
    window: { start: '00:00', end: '23:59' },
    agent: { instructions: 'x', greeting: 'Hello.' },
  };
}

test('events published on JetStream reach the call workflow once each, and their text lands in PostgreSQL', async () => {
  const call = input(uniqueName('c'));
  const callId = callWorkflowId(call);
  const records = createCallRecordActivities({ db });
  // The real record activities, so the bridge has a call row to write turns against.
  const fake = fakeCallActivities({});
  const activities = { ...fake.activities, ...records };
  let history = '';
  const result = await withWorker(activities, async (taskQueue) => {
    const handle = await client.workflow.start(outboundCallWorkflow, { workflowId: callId, taskQueue, args: [call] });
    await waitFor(async () => (await handle.query(callStatusQuery)).status === 'in_progress', 10_000, 'never answered');
    const publisher = createCallEventPublisher(jetstream(nc), callId);
    await publisher.publish({ type: 'agent.joined', workerId: 'w1', resumed: false, participantIdentity: 'agent-AJ_x' });
    await publisher.publish({ type: 'agent.turn', text: 'Hello, this is Ava.', interrupted: false });
    await publisher.publish({ type: 'user.turn', text: 'Not interested, thanks.' });
    // A worker that restarts and republishes seq 3 is deduped by JetStream.
    const dup = await createCallEventPublisher(jetstream(nc), callId, 3).publish({ type: 'user.turn', text: 'Not interested, thanks.' });
    assert.equal(dup.duplicate, true);
    await publisher.publish({ type: 'turn.metrics', eouDelayMs: 310, sttMs: 120, llmTtftMs: 240, ttsTtfbMs: 90, voiceToVoiceMs: 780 });
    await publisher.publish({ type: 'agent.turn', text: 'Understood. Goodbye.', interrupted: false });
    await publisher.publish({ type: 'tool.requested', toolCallId: 't7', name: 'record_answer', args: { field: 'best_time', value: 'Tuesday mornings after nine' } });
    await publisher.publish({ type: 'tool.requested', toolCallId: 't8', name: 'schedule_callback', args: { when: 'Thursday after five on my work line' } });
    await publisher.publish({ type: 'usage', sttAudioS: 4.2, ttsCharacters: 39, llmInputTokens: 120, llmOutputTokens: 12, llmModel: 'gpt-4.1' });
    await publisher.publish({ type: 'tool.requested', toolCallId: 't9', name: 'end_call', args: { reason: 'Caller is moving to Lisbon next week' } });
    await publisher.publish({ type: 'call.ended', reason: 'end_call' });
    const result = await handle.result();
    // Every payload in the history (signals, activity inputs, markers) as the text it holds:
    // the history's JSON form gives each payload's bytes as base64.
    history = JSON.stringify(await handle.fetchHistory(), (key, v: unknown) => (key === 'data' && typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : v));
    return result;
  });
  assert.equal(result.disposition, 'completed');
  assert.equal(result.endReason, 'end_call');
  assert.equal(result.turns, 3, 'three turns, the republished one counted once');

  const turns = await db.selectFrom('call_turns').select(['seq', 'role', 'text']).where('call_id', '=', callId).orderBy('seq').execute();
  assert.deepEqual(turns, [
    { seq: 2, role: 'agent', text: 'Hello, this is Ava.' },
    { seq: 3, role: 'user', text: 'Not interested, thanks.' },
    { seq: 5, role: 'agent', text: 'Understood. Goodbye.' },
  ]);
  const metrics = await db.selectFrom('call_turn_metrics').selectAll().where('call_id', '=', callId).execute();
  assert.equal(metrics[0]?.voice_to_voice_ms, 780);
  // What the caller answered is kept in PostgreSQL, like their words, and never in workflow history.
  const answers = await db.selectFrom('call_answers').select(['field', 'value', 'seq']).where('call_id', '=', callId).execute();
  assert.deepEqual(answers, [{ field: 'best_time', value: 'Tuesday mornings after nine', seq: 6 }]);
  assert.ok(history.includes('best_time'), 'the workflow heard of the answer');
  assert.ok(!history.includes('Tuesday mornings'), 'but not what it was');
  const callbacks = await db.selectFrom('call_callbacks').select(['seq', 'requested_when']).where('call_id', '=', callId).execute();
  assert.deepEqual(callbacks, [{ seq: 7, requested_when: 'Thursday after five on my work line' }]);
  assert.ok(history.includes('schedule_callback') && !history.includes('Thursday after five'), 'nor when the caller wants to be called back');
  // The agent's reasons often repeat the caller's words: PostgreSQL too, not history.
  const notes = await db.selectFrom('call_agent_notes').select(['seq', 'tool', 'note']).where('call_id', '=', callId).execute();
  assert.deepEqual(notes, [{ seq: 9, tool: 'end_call', note: 'Caller is moving to Lisbon next week' }]);
  assert.ok(history.includes('end_call') && !history.includes('Lisbon'), 'nor why the agent ended the call');
  const usage = await db.selectFrom('call_usage').selectAll().where('call_id', '=', callId).execute();
  assert.equal(usage[0]?.tts_characters, 39);
  const row = await db.selectFrom('calls').selectAll().where('id', '=', callId).executeTakeFirstOrThrow();
  assert.equal(row.status, 'ended');
  assert.equal(row.disposition, 'completed');
  assert.equal(row.callee_e164, '+15550100001');
  const announced = await db.selectFrom('domain_events').select('type').where('call_id', '=', callId).orderBy('occurred_at').orderBy('created_at').execute();
  assert.deepEqual(announced.map((e) => e.type), ['call.started', 'call.answered', 'call.ended', 'call.analyzed'], 'each domain event written once, with its status change');
  assert.ok(bridges.every((b) => b.handled > 0) || bridges.some((b) => b.handled >= 8), 'the bridges handled the events');
});

test('a transfer reaches the workflow without the reason the agent gave', () => {
  const signal = toSignal({ v: 1, callId: 'c-1', seq: 4, ts: new Date().toISOString(), type: 'tool.requested', toolCallId: 't1', name: 'transfer_to_human', args: { reason: 'wants to talk about his mortgage arrears' } });
  assert.deepEqual(signal.type === 'tool.requested' && signal.args, {});
});

test('compliance: the do-not-call list blocks a number for its tenant only; adding twice is harmless', async () => {
  const compliance = createComplianceActivities({ db });
  const records = createCallRecordActivities({ db });
  await records.recordCall({ callId: `outbound_${tenantId}_direct_seed_1`, tenantId, attempt: 1, direction: 'outbound', roomName: 'r' });
  assert.deepEqual(await compliance.checkCompliance({ tenantId, callTo: '+44 20 7946 0958', consent: true }), { allowed: true });
  await compliance.addToDoNotCall({ tenantId, callTo: '+442079460958', source: 'test' });
  await compliance.addToDoNotCall({ tenantId, callTo: '+44 20 7946 0958', source: 'test' });
  assert.deepEqual(await compliance.checkCompliance({ tenantId, callTo: '+44 20 7946 0958', consent: true }), { allowed: false, reason: 'do_not_call' });
  assert.deepEqual(await compliance.checkCompliance({ tenantId: 'another-tenant', callTo: '+442079460958', consent: true }), { allowed: true });
  assert.deepEqual(await compliance.checkCompliance({ tenantId, callTo: '+15550100009', consent: false }), { allowed: false, reason: 'no_consent' });
  await assert.rejects(compliance.checkCompliance({ tenantId, callTo: '12', consent: true }), (err: Error & { type?: string }) => err.type === 'InvalidInput' && /E\.164/.test(err.message));
});

test('records: the call row and its domain events are written once, however often the activity runs', async () => {
  const records = createCallRecordActivities({ db });
  const callId = `outbound_${tenantId}_direct_${uniqueName('r')}_1`;
  const row = { callId, tenantId, contactId: 'r', attempt: 1, direction: 'outbound' as const, roomName: `call_${callId}` };
  await records.recordCall(row);
  await records.recordCall(row);
  const event = { tenantId, callId, type: 'call.ended' as const, payload: { disposition: 'completed' }, occurredAt: new Date().toISOString() };
  const a = await records.emitDomainEvent(event);
  const b = await records.emitDomainEvent({ ...event, payload: { disposition: 'changed' } });
  assert.equal(a.id, b.id);
  const events = await db.selectFrom('domain_events').selectAll().where('call_id', '=', callId).execute();
  assert.equal(events.length, 1);
  assert.deepEqual(events[0]?.payload, { disposition: 'completed' }, 'the first write stands');
  await records.recordAnswer({ callId, seq: 5, field: 'plan', value: 'gold' });
  await records.recordAnswer({ callId, seq: 3, field: 'plan', value: 'silver' });
  const answers = await db.selectFrom('call_answers').select(['field', 'value']).where('call_id', '=', callId).execute();
  assert.deepEqual(answers, [{ field: 'plan', value: 'gold' }], 'a late, older answer does not overwrite a newer one');
});

test('records: a status change and the events it announces are written together or not at all', async () => {
  const records = createCallRecordActivities({ db });
  const callId = `outbound_${tenantId}_direct_${uniqueName('u')}_1`;
  await records.recordCall({ callId, tenantId, attempt: 1, direction: 'outbound', roomName: `call_${callId}` });
  const at = new Date().toISOString();
  const answered = { tenantId, callId, type: 'call.answered' as const, payload: { callId }, occurredAt: at };
  // An event the database refuses (no such tenant) takes the status change down with it.
  const orphan = { ...answered, tenantId: uniqueName('no-such-tenant') };
  await assert.rejects(records.updateCall({ callId, status: 'in_progress', answeredAt: at }, [orphan]), /foreign key/);
  const before = await db.selectFrom('calls').select('status').where('id', '=', callId).executeTakeFirstOrThrow();
  assert.equal(before.status, 'scheduled', 'the refused event left the row as it was');

  await records.updateCall({ callId, status: 'in_progress', answeredAt: at }, [answered]);
  await records.updateCall({ callId, status: 'in_progress', answeredAt: at }, [answered]);
  const after = await db.selectFrom('calls').select('status').where('id', '=', callId).executeTakeFirstOrThrow();
  assert.equal(after.status, 'in_progress');
  const events = await db.selectFrom('domain_events').select('type').where('call_id', '=', callId).execute();
  assert.deepEqual(events, [{ type: 'call.answered' }], 'a retried write announces once');
});

test('agent dispatch: idempotent per generation; a replacement carries the conversation and the seq to continue from', async () => {
  const rooms = new RoomServiceClient(config.livekit.httpUrl, config.livekit.apiKey, config.livekit.apiSecret);
  const dispatch = new AgentDispatchClient(config.livekit.httpUrl, config.livekit.apiKey, config.livekit.apiSecret);
  // An agent name no worker serves: the dispatch is recorded by LiveKit, nobody takes it.
  const agents = createAgentActivities({ dispatch, rooms, nc, agentName: uniqueName('nobody') });
  const callId = `outbound_${tenantId}_direct_${uniqueName('d')}_1`;
  const roomName = `call_${callId}`;
  await rooms.createRoom({ name: roomName, emptyTimeout: 60 });
  const config0 = { v: 1 as const, callId, tenantId, persona: { instructions: 'x', greeting: 'Hello.' } };
  const first = await agents.dispatchAgent({ roomName, config: config0, generation: 0, minNextSeq: 1 });
  const again = await agents.dispatchAgent({ roomName, config: config0, generation: 0, minNextSeq: 1 });
  assert.equal(again.dispatchId, first.dispatchId, 'a retried dispatch finds the first one');

  const publisher = createCallEventPublisher(jetstream(nc), callId);
  await publisher.publish({ type: 'agent.joined', workerId: 'w', resumed: false });
  await publisher.publish({ type: 'agent.turn', text: 'Hello.', interrupted: false });
  await publisher.publish({ type: 'user.turn', text: 'Who is this?' });
  const resumed = await agents.dispatchAgent({ roomName, config: config0, generation: 1, minNextSeq: 2 });
  assert.notEqual(resumed.dispatchId, first.dispatchId);
  assert.equal(resumed.resumedTurns, 2);
  assert.equal(resumed.nextSeq, 4, 'continues after the last stored event, even ones the workflow had not seen');
  const listed = await dispatch.listDispatch(roomName);
  const metadata = JSON.parse(listed.find((d) => d.id === resumed.dispatchId)?.metadata ?? '{}') as { resume?: { turns: unknown[] } };
  assert.deepEqual(metadata.resume?.turns, [
    { role: 'agent', text: 'Hello.' },
    { role: 'user', text: 'Who is this?' },
  ]);
  const present = await agents.inspectRoom({ roomName, calleeIdentity: 'sip_callee_1_x' });
  assert.deepEqual(present, { calleePresent: false, agentPresent: false });
  await rooms.deleteRoom(roomName);
});

test('an event of a newer contract is left for a bridge that reads it; a broken one is dropped', async () => {
  const js = jetstream(nc);
  const callId = callWorkflowId({ tenantId, contactId: uniqueName('newer').replace(/[^A-Za-z0-9-]/g, ''), attempt: 1 });
  const jsm = await ensureCallEventsStream(nc);
  const before = await jsm.consumers.info('CALL_EVENTS', durableName);
  const event = { callId, seq: 1, ts: new Date().toISOString(), type: 'call.ended', reason: 'x' };
  // A rolling deploy: a newer media worker writes v2.
  const newer = await js.publish(callEventsSubject(callId), JSON.stringify({ ...event, v: 2 }), { msgID: `${callId}:1` });
  // A known type with a broken field will never parse.
  await js.publish(callEventsSubject(callId), JSON.stringify({ ...event, v: 1, seq: 2, type: 'agent.turn', text: 'x', interrupted: 'no' }), { msgID: `${callId}:2` });
  await waitFor(async () => (await jsm.consumers.info('CALL_EVENTS', durableName)).delivered.stream_seq >= before.delivered.stream_seq + 2, 10_000, 'the bridges never saw the events');
  await new Promise((r) => setTimeout(r, 500));
  const after = await jsm.consumers.info('CALL_EVENTS', durableName);
  assert.equal(after.num_ack_pending - before.num_ack_pending, 1, 'the newer event is held for redelivery; the broken one is gone');
  // Not left for the stack's own bridge to offer again for an hour.
  await jsm.streams.deleteMessage('CALL_EVENTS', newer.seq);
});

test('a bridge handles several calls’ events at once, each call’s one after another in seq order, never more at once than its limit', async () => {
  // A stand-in for Temporal that takes a while over each signal and records who got what.
  const got = new Map<string, number[]>();
  let inHand = 0;
  let mostInHand = 0;
  const overlappedWithinACall: string[] = [];
  const busyCalls = new Set<string>();
  const temporal = {
    workflow: {
      getHandle: (callId: string) => ({
        signal: async (_signal: unknown, event: { seq: number }) => {
          if (busyCalls.has(callId)) overlappedWithinACall.push(`${callId}#${event.seq}`);
          busyCalls.add(callId);
          mostInHand = Math.max(mostInHand, ++inHand);
          await new Promise((resolve) => setTimeout(resolve, 5 + ((event.seq * 7) % 11)));
          got.set(callId, [...(got.get(callId) ?? []), event.seq]);
          inHand--;
          busyCalls.delete(callId);
        },
      }),
    },
  } as unknown as Client;
  const calls = Array.from({ length: 12 }, (_, i) => `${uniqueName('conc')}_${i}`.replaceAll('-', '_'));
  const jsm = await ensureCallEventsStream(nc);
  const firstSeq = (await jsm.streams.info('CALL_EVENTS')).state.last_seq + 1;
  const js = jetstream(nc);
  await Promise.all(
    calls.map(async (callId) => {
      const events = createCallEventPublisher(js, callId);
      for (let i = 0; i < 8; i++) await events.publish({ type: 'agent.turn', text: `line ${i}`, interrupted: false });
    }),
  );
  const durable = uniqueName('bridge-conc');
  const bridge = await startEventBridge({ nc, temporal, db, log: pino({ level: 'silent' }), durableName: durable, startSequence: firstSeq, concurrency: 4, agentWatch: false, removeWhenIdleMs: testBridgeIdleMs });
  try {
    await waitFor(() => calls.every((c) => got.get(c)?.length === 8), 20_000, 'not every event was signalled');
  } finally {
    await bridge.stop();
    await jsm.consumers.delete('CALL_EVENTS', durable).catch(() => undefined);
  }
  for (const c of calls) assert.deepEqual(got.get(c), [1, 2, 3, 4, 5, 6, 7, 8], `${c}: once each, in order`);
  assert.deepEqual(overlappedWithinACall, [], 'one call’s events never overlap');
  assert.equal(mostInHand, 4, 'several calls at once, up to the limit');
});
