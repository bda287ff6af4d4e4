/**
 * LiveKit webhooks into call workflows: the API verifies the signature on the raw body
 * and signals the call's workflow; a forged or tampered delivery is refused; the real
 * LiveKit server's own webhook reaches the stack's API and ends a call when the callee
 * leaves; the SIP caller joining an inbound room starts the inbound call workflow once.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { ParticipantInfo_Kind } from '@livekit/protocol';
import { Room, dispose } from '@livekit/rtc-node';
import type { Client } from '@temporalio/client';
import { AccessToken, RoomServiceClient, WebhookEvent } from 'livekit-server-sdk';
import { pino } from 'pino';
import { createApiServer } from '../../api/server.js';
import { mapWebhook } from '../../api/livekit-webhook.js';
import { outboundCallWorkflow } from '../../workflows/call/outbound.js';
import type { OutboundCallInput } from '../../workflows/call/types.js';
import { calleeIdentityFor, callWorkflowId, roomNameFor } from '../../workflows/ids.js';
import { callEventSignal, callStatusQuery } from '../../workflows/messages.js';
import { waitFor } from '../helpers/async.js';
import { config, joinToken, uniqueName } from '../helpers/env.js';
import { fakeCallActivities } from '../helpers/fake-call-activities.js';
import { temporalClient, withWorker } from '../helpers/temporal.js';

let client: Client;
let close: () => Promise<void>;
before(async () => ({ client, close } = await temporalClient()));
after(async () => {
  await close();
  await dispose();
});

function callInput(): OutboundCallInput {
  return {
    tenantId: 'acme',
    contactId: uniqueName('w'),
    attempt: 1,
    callTo: '+15550100001',
    trunk: { address: '127.0.0.1:5999', numbers: ['+15550100000'] },
    contact: { timeZone: 'UTC', consent: true },
    window: { start: '00:00', end: '23:59' },
    agent: { instructions: 'x', greeting: 'Hello.' },
  };
}

/** Signs a body the way LiveKit server does: a JWT whose sha256 claim hashes the body. */
async function sign(body: string, secret = config.livekit.apiSecret): Promise<string> {
  const token = new AccessToken(config.livekit.apiKey, secret);
  token.sha256 = createHash('sha256').update(body).digest('base64');
  return token.toJwt();
}

/** A webhook body as LiveKit server posts it (protobuf JSON). */
function webhookBody(fields: { event: string; roomName: string; identity?: string; kind?: ParticipantInfo_Kind; metadata?: string }): string {
  return JSON.stringify({
    event: fields.event,
    id: uniqueName('EV'),
    createdAt: String(Math.floor(Date.now() / 1000)),
    room: { name: fields.roomName, metadata: fields.metadata ?? '' },
    ...(fields.identity ? { participant: { identity: fields.identity, kind: ParticipantInfo_Kind[fields.kind ?? ParticipantInfo_Kind.STANDARD] } } : {}),
  });
}

test('mapping: call rooms only, participant kinds, inbound starts only for the SIP caller', () => {
  const parse = (body: string) => mapWebhook(WebhookEvent.fromJsonString(body));
  assert.equal(parse(webhookBody({ event: 'participant_left', roomName: 'lobby', identity: 'x' })), undefined);
  assert.equal(parse(webhookBody({ event: 'track_published', roomName: 'call_outbound_a_direct_c_1', identity: 'x' })), undefined);
  const left = parse(webhookBody({ event: 'participant_left', roomName: 'call_outbound_a_direct_c_1', identity: 'agent-AJ_1', kind: ParticipantInfo_Kind.AGENT }));
  assert.equal(left?.workflowId, 'outbound_a_direct_c_1');
  assert.equal(left?.signal.participantKind, 'agent');
  assert.equal(left?.startInbound, undefined);
  const inbound = parse(webhookBody({ event: 'participant_joined', roomName: 'call_inbound_acme_0123456789abcdef', identity: 'sip_caller_0123456789abcdef', kind: ParticipantInfo_Kind.SIP, metadata: '{"tenantId":"acme"}' }));
  assert.deepEqual(inbound?.startInbound, { roomName: 'call_inbound_acme_0123456789abcdef', callerIdentity: 'sip_caller_0123456789abcdef', roomMetadata: '{"tenantId":"acme"}' });
  const agentJoins = parse(webhookBody({ event: 'participant_joined', roomName: 'call_inbound_acme_0123456789abcdef', identity: 'agent-AJ_2', kind: ParticipantInfo_Kind.AGENT }));
  assert.equal(agentJoins?.startInbound, undefined, 'only the caller starts an inbound call');
});

test('a signed webhook becomes a signal: the callee leaving ends the call; forged ones are refused with 401', async () => {
  const fake = fakeCallActivities({});
  const input = callInput();
  const workflowId = callWorkflowId(input);
  const app = createApiServer({ config, temporal: client, log: pino({ level: 'silent' }) });
  const result = await withWorker(fake.activities, async (taskQueue) => {
    const handle = await client.workflow.start(outboundCallWorkflow, { workflowId, taskQueue, args: [input] });
    await waitFor(async () => (await handle.query(callStatusQuery)).status === 'in_progress', 10_000, 'never answered');
    await handle.signal(callEventSignal, { seq: 1, ts: new Date().toISOString(), type: 'agent.joined', workerId: 'w', resumed: false });
    const body = webhookBody({ event: 'participant_left', roomName: roomNameFor(workflowId), identity: calleeIdentityFor(workflowId), kind: ParticipantInfo_Kind.SIP });
    const post = (payload: string, authorization?: string) =>
      app.inject({ method: 'POST', url: '/v1/livekit/webhook', payload, headers: { 'content-type': 'application/webhook+json', ...(authorization ? { authorization } : {}) } });

    const forged = await post(body, await sign(body, 'not-the-secret-not-the-secret-xx'));
    assert.equal(forged.statusCode, 401);
    assert.equal(forged.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(forged.json<{ type: string }>().type, 'https://kickcall.dev/problems/invalid-webhook-signature');
    const tampered = await post(body.replace('participant_left', 'room_finished'), await sign(body));
    assert.equal(tampered.statusCode, 401);
    assert.equal((await post(body)).statusCode, 401, 'no Authorization header');
    assert.equal((await handle.query(callStatusQuery)).status, 'in_progress', 'nothing reached the call');

    const accepted = await post(body, await sign(body));
    assert.equal(accepted.statusCode, 200);
    return handle.result();
  });
  await app.close();
  assert.equal(result.endReason, 'caller_hung_up');
});

test('the real LiveKit server’s webhook reaches the stack’s API: the callee leaving the room ends the call', async () => {
  const fake = fakeCallActivities({});
  const input = callInput();
  const workflowId = callWorkflowId(input);
  const roomName = roomNameFor(workflowId);
  const rooms = new RoomServiceClient(config.livekit.httpUrl, config.livekit.apiKey, config.livekit.apiSecret);
  const result = await withWorker(fake.activities, async (taskQueue) => {
    const handle = await client.workflow.start(outboundCallWorkflow, { workflowId, taskQueue, args: [input] });
    await waitFor(async () => (await handle.query(callStatusQuery)).status === 'in_progress', 10_000, 'never answered');
    await rooms.createRoom({ name: roomName, emptyTimeout: 30 });
    const callee = new Room();
    await callee.connect(config.livekit.wsUrl, await joinToken(roomName, calleeIdentityFor(workflowId)));
    await callee.disconnect();
    return handle.result();
  });
  await rooms.deleteRoom(roomName).catch(() => undefined);
  assert.equal(result.endReason, 'caller_hung_up', 'LiveKit → API → signal → the call ended');
});

test('the SIP caller joining an inbound room starts the inbound call workflow, once', async () => {
  const fake = fakeCallActivities({});
  const hex = createHash('sha256').update(uniqueName('in')).digest('hex').slice(0, 16);
  const roomName = `call_inbound_acme_${hex}`;
  const metadata = JSON.stringify({ tenantId: 'acme', agent: { instructions: 'You answer for Acme Dental.', greeting: 'Acme Dental, how can I help?' } });
  const result = await withWorker(fake.activities, async (taskQueue) => {
    const app = createApiServer({ config, temporal: client, log: pino({ level: 'silent' }), taskQueue });
    const body = webhookBody({ event: 'participant_joined', roomName, identity: `sip_caller_${hex}`, kind: ParticipantInfo_Kind.SIP, metadata });
    const post = async () =>
      app.inject({ method: 'POST', url: '/v1/livekit/webhook', payload: body, headers: { 'content-type': 'application/webhook+json', authorization: await sign(body) } });
    assert.equal((await post()).statusCode, 200);
    assert.equal((await post()).statusCode, 200, 'a redelivery is accepted');
    const handle = client.workflow.getHandle(`inbound_acme_${hex}`);
    await waitFor(() => fake.calls('dispatchAgent').length === 1, 10_000, 'no agent dispatched for the inbound call');
    await handle.signal(callEventSignal, { seq: 1, ts: new Date().toISOString(), type: 'call.ended', reason: 'end_call' });
    const done = (await handle.result()) as { disposition: string; endReason: string };
    await app.close();
    return done;
  });
  assert.equal(result.disposition, 'completed');
  assert.equal(result.endReason, 'end_call');
  assert.equal(fake.calls('recordCall').length, 1, 'one run, one call record');
  assert.equal(fake.calls('recordCall')[0]?.direction, 'inbound');
  assert.equal((fake.calls('dispatchAgent')[0] as { config: { persona: { greeting: string } } }).config.persona.greeting, 'Acme Dental, how can I help?');
});
