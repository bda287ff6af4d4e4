/**
 * LiveKit webhooks into workflows, against the real stack: the API verifies the signature
 * on the raw body and signals the workflow named by the room; forged, tampered and unsigned
 * deliveries are refused and signal nothing; the real LiveKit server's webhooks reach the
 * stack's API; the SIP caller joining an inbound room starts the inbound call workflow once.
 * Test-only workflows (test/workflows/room-events.ts) record exactly what arrives.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ParticipantInfo_Kind } from '@livekit/protocol';
import { Room } from '@livekit/rtc-node';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { AccessToken, RoomServiceClient, WebhookEvent, type WebhookEventNames } from 'livekit-server-sdk';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createDb } from '../../deploy/db/schema.js';
import { inboundCallWorkflowType, liveKitWebhookPath } from '../../api/livekit-webhook.js';
import { createApiServer } from '../../api/server.js';
import { roomNameFor } from '../../workflows/ids.js';
import type { RoomEventSignal } from '../../workflows/messages.js';
import { waitFor, withTimeout } from '../helpers/async.js';
import { config, joinToken, uniqueName } from '../helpers/env.js';
import { temporalClient } from '../helpers/temporal.js';
import { finishSignal, receivedQuery, roomEventsWorkflow, type RecordedInboundStart } from '../workflows/room-events.js';
import { disposeRtcRuntime } from '../../media/rtc-runtime.js';

let client: Client;
let close: () => Promise<void>;
const db = createDb(config.postgres.url);
const redis = new Redis({ host: config.host, port: config.redis.port, lazyConnect: true });
before(async () => ({ client, close } = await temporalClient()));
after(async () => {
  await close();
  await Promise.allSettled([db.destroy(), redis.quit()]);
  await disposeRtcRuntime();
});

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
const quiet = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: console.error };

/** Runs `body` while a worker with the recording workflows polls a task queue of its own. */
async function withRecorder<T>(body: (taskQueue: string) => Promise<T>): Promise<T> {
  bundle ??= bundleWorkflowCode({ workflowsPath: fileURLToPath(new URL('../workflows/room-events.ts', import.meta.url)), logger: quiet });
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const taskQueue = uniqueName('webhook');
  try {
    const worker = await Worker.create({ connection, namespace: config.temporal.namespace, taskQueue, workflowBundle: await bundle });
    return await worker.runUntil(body(taskQueue));
  } finally {
    await connection.close();
  }
}

/** Runs `body` against an API server listening in-process on a free port. */
async function withApi<T>(opts: { taskQueue?: string; temporal?: Client; temporalTimeoutMs?: number }, body: (url: string) => Promise<T>): Promise<T> {
  const app = createApiServer({ config, temporal: opts.temporal ?? client, db, redis, log: pino({ level: 'silent' }), ...opts });
  await app.listen({ host: config.host, port: 0 });
  try {
    return await body(`http://${config.host}:${(app.server.address() as AddressInfo).port}${liveKitWebhookPath}`);
  } finally {
    await app.close();
  }
}

interface EventFields {
  event: WebhookEventNames;
  roomName: string;
  identity?: string;
  kind?: ParticipantInfo_Kind;
  metadata?: string;
}

/** A webhook body as LiveKit server posts it: the event in protobuf JSON. */
function webhookBody(fields: EventFields): { body: string; id: string; createdAtS: number } {
  const id = `EV_${randomBytes(6).toString('hex')}`;
  const createdAtS = Math.floor(Date.now() / 1000);
  const event = new WebhookEvent({
    id,
    createdAt: BigInt(createdAtS),
    room: { name: fields.roomName, metadata: fields.metadata ?? '' },
    ...(fields.identity ? { participant: { identity: fields.identity, kind: fields.kind ?? ParticipantInfo_Kind.STANDARD } } : {}),
  });
  event.event = fields.event;
  return { body: event.toJsonString(), id, createdAtS };
}

/**
 * Signs a body as LiveKit server does (livekit/protocol webhook notifier): an access token
 * valid for 5 minutes whose `sha256` claim is the base64 SHA-256 of the exact body.
 */
async function sign(body: string, secret = config.livekit.apiSecret): Promise<string> {
  const token = new AccessToken(config.livekit.apiKey, secret, { ttl: '5m' });
  token.sha256 = createHash('sha256').update(body).digest('base64');
  return token.toJwt();
}

function post(url: string, body: string, authorization?: string, contentType = 'application/webhook+json'): Promise<Response> {
  return fetch(url, { method: 'POST', body, headers: { 'content-type': contentType, ...(authorization ? { authorization } : {}) } });
}

async function problemType(res: Response): Promise<string> {
  assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  return ((await res.json()) as { type: string }).type;
}

test('a signed webhook becomes exactly the mapped room event signal for the workflow the room names', async () => {
  const received = await withRecorder(async (taskQueue) => {
    const workflowId = uniqueName('webhook');
    const handle = await client.workflow.start(roomEventsWorkflow, { workflowId, taskQueue, args: [{ count: 1 }] });
    const sent = webhookBody({ event: 'participant_joined', roomName: roomNameFor(workflowId), identity: 'sip_callee_1_x', kind: ParticipantInfo_Kind.SIP });
    await withApi({ taskQueue }, async (url) => {
      const res = await post(url, sent.body, await sign(sent.body));
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { ok: true });
    });
    const events = await withTimeout(handle.result(), 10_000, 'the signal never arrived');
    assert.deepEqual(events, [
      {
        eventId: sent.id,
        event: 'participant_joined',
        roomName: roomNameFor(workflowId),
        participantIdentity: 'sip_callee_1_x',
        participantKind: 'sip',
        atMs: sent.createdAtS * 1000,
      } satisfies RoomEventSignal,
    ]);
    return events;
  });
  assert.equal(received.length, 1);
});

test('forged, tampered and unsigned deliveries are refused with 401 and signal nothing; a signed unparsable body is 400', async () => {
  await withRecorder(async (taskQueue) => {
    const workflowId = uniqueName('webhook');
    const roomName = roomNameFor(workflowId);
    const handle = await client.workflow.start(roomEventsWorkflow, { workflowId, taskQueue, args: [{ count: 1 }] });
    const sent = webhookBody({ event: 'participant_left', roomName, identity: 'sip_callee_1_x', kind: ParticipantInfo_Kind.SIP });
    await withApi({ taskQueue }, async (url) => {
      const invalid = 'https://kickcall.dev/problems/invalid-webhook-signature';
      const forged = await post(url, sent.body, await sign(sent.body, 'not-the-secret-not-the-secret-not'));
      assert.equal(forged.status, 401, 'signed with another secret');
      assert.equal(await problemType(forged), invalid);
      const tampered = await post(url, sent.body.replace('participant_left', 'room_finished'), await sign(sent.body));
      assert.equal(tampered.status, 401, 'body changed after signing');
      assert.equal(await problemType(tampered), invalid);
      const unsigned = await post(url, sent.body);
      assert.equal(unsigned.status, 401, 'no Authorization header');
      assert.equal(await problemType(unsigned), invalid);

      const garbage = '{"event": "participant_left", ';
      const unparsable = await post(url, garbage, await sign(garbage));
      assert.equal(unparsable.status, 400);
      assert.equal(await problemType(unparsable), 'https://kickcall.dev/problems/invalid-webhook-body');

      assert.deepEqual(await handle.query(receivedQuery), [], 'nothing reached the workflow');
      const accepted = await post(url, sent.body, await sign(sent.body), 'application/json');
      assert.equal(accepted.status, 200, 'plain application/json is accepted too');
    });
    const events = await withTimeout(handle.result(), 10_000, 'the signal never arrived');
    assert.deepEqual(events.map((e) => [e.eventId, e.event]), [[sent.id, 'participant_left']]);
  });
});

test('deliveries about no running call are acknowledged; wrong media types and oversized bodies are refused', async () => {
  await withApi({}, async (url) => {
    const lobby = webhookBody({ event: 'participant_joined', roomName: uniqueName('lobby'), identity: 'someone' });
    const other = await post(url, lobby.body, await sign(lobby.body));
    assert.equal(other.status, 200);
    assert.deepEqual(await other.json(), { ok: true, ignored: true });

    const noCall = webhookBody({ event: 'room_finished', roomName: roomNameFor(uniqueName('gone')) });
    const gone = await post(url, noCall.body, await sign(noCall.body));
    assert.equal(gone.status, 200, 'no such workflow: LiveKit must not retry');
    assert.deepEqual(await gone.json(), { ok: true, ignored: true });

    const form = await post(url, noCall.body, await sign(noCall.body), 'application/x-www-form-urlencoded');
    assert.equal(form.status, 415);
    assert.equal(await problemType(form), 'https://kickcall.dev/problems/unsupported-media-type');
    const big = `{"id":"${'x'.repeat(1024 * 1024)}"}`;
    const tooLarge = await post(url, big, await sign(big));
    assert.equal(tooLarge.status, 413);
    assert.equal(await problemType(tooLarge), 'https://kickcall.dev/problems/payload-too-large');
  });
});

test('Temporal unreachable: the delivery is answered 503 within the deadline, so LiveKit retries', async () => {
  // Nothing listens on port 9 (discard) here: every call fails until the deadline.
  const connection = Connection.lazy({ address: `${config.host}:9` });
  const unreachable = new Client({ connection, namespace: config.temporal.namespace });
  try {
    await withApi({ temporal: unreachable, temporalTimeoutMs: 1000 }, async (url) => {
      const sent = webhookBody({ event: 'room_finished', roomName: roomNameFor(uniqueName('webhook')) });
      const t0 = Date.now();
      const res = await post(url, sent.body, await sign(sent.body));
      assert.equal(res.status, 503);
      assert.equal(await problemType(res), 'https://kickcall.dev/problems/orchestration-unavailable');
      assert.ok(Date.now() - t0 < 5000, `answered in ${Date.now() - t0} ms`);
    });
  } finally {
    await connection.close();
  }
});

test('the real LiveKit server’s webhooks reach the stack’s API: join, leave and room end arrive as signals', async () => {
  const rooms = new RoomServiceClient(config.livekit.httpUrl, config.livekit.apiKey, config.livekit.apiSecret);
  const workflowId = uniqueName('webhook');
  const roomName = roomNameFor(workflowId);
  const events = await withRecorder(async (taskQueue) => {
    const handle = await client.workflow.start(roomEventsWorkflow, { workflowId, taskQueue, args: [{ count: 3 }] });
    await rooms.createRoom({ name: roomName, emptyTimeout: 30 });
    const participant = new Room();
    try {
      await participant.connect(config.livekit.wsUrl, await joinToken(roomName, 'webhook-tester'), { autoSubscribe: false, dynacast: false });
      await waitFor(async () => (await handle.query(receivedQuery)).length >= 1, 10_000, 'participant_joined never arrived');
    } finally {
      await participant.disconnect();
    }
    await rooms.deleteRoom(roomName);
    return withTimeout(handle.result(), 20_000, 'LiveKit → API → signal did not deliver three events');
  });
  const byEvent = Object.fromEntries(events.map((e) => [e.event, e]));
  assert.deepEqual(Object.keys(byEvent).sort(), ['participant_joined', 'participant_left', 'room_finished']);
  for (const e of events) {
    assert.equal(e.roomName, roomName);
    assert.match(e.eventId, /^EV_/);
    assert.ok(Math.abs(e.atMs - Date.now()) < 60_000, 'atMs is recent, in ms');
  }
  for (const e of [byEvent.participant_joined, byEvent.participant_left]) {
    assert.equal(e?.participantIdentity, 'webhook-tester');
    assert.equal(e?.participantKind, 'standard');
  }
  assert.equal(byEvent.room_finished?.participantIdentity, undefined);
});

test('the SIP caller joining an inbound room signal-with-starts the inbound call workflow; redeliveries start no second run', async () => {
  await withRecorder(async (taskQueue) => {
    const hex = randomBytes(8).toString('hex');
    const roomName = `call_inbound_t1_${hex}`;
    const workflowId = `inbound_t1_${hex}`;
    const metadata = JSON.stringify({ tenantId: 't1', agent: { greeting: 'Hello.' } });
    const sent = webhookBody({ event: 'participant_joined', roomName, identity: `sip_caller_${hex}`, kind: ParticipantInfo_Kind.SIP, metadata });
    await withApi({ taskQueue }, async (url) => {
      assert.equal((await post(url, sent.body, await sign(sent.body))).status, 200);
      assert.equal((await post(url, sent.body, await sign(sent.body))).status, 200, 'a redelivery while the call runs');
      const handle = client.workflow.getHandle<() => Promise<RecordedInboundStart>>(workflowId);
      const first = await handle.describe();
      assert.equal(first.type, inboundCallWorkflowType);
      assert.equal(first.taskQueue, taskQueue);
      await waitFor(async () => (await handle.query(receivedQuery)).length === 2, 10_000, 'the redelivery was not signalled');
      await handle.signal(finishSignal);
      const recorded = await withTimeout(handle.result(), 10_000, 'the inbound workflow did not finish');
      assert.deepEqual(recorded.start, { roomName, callerIdentity: `sip_caller_${hex}`, roomMetadata: metadata });
      const signal: RoomEventSignal = {
        eventId: sent.id,
        event: 'participant_joined',
        roomName,
        participantIdentity: `sip_caller_${hex}`,
        participantKind: 'sip',
        atMs: sent.createdAtS * 1000,
      };
      // The same delivery twice, to the same run: the workflow dedupes by eventId.
      assert.deepEqual(recorded.events, [signal, signal]);

      const late = await post(url, sent.body, await sign(sent.body));
      assert.equal(late.status, 200, 'a redelivery after the call finished');
      assert.deepEqual(await late.json(), { ok: true, ignored: true });
      const last = await handle.describe();
      assert.equal(last.runId, first.runId, 'no second run was started');
      assert.equal(last.status.name, 'COMPLETED');
    });
  });
});
