/**
 * Inbound calls through the SIP gateway against the real LiveKit server of the local
 * stack. The gateway runs in this process on its own free SIP and control ports and its
 * own RTP range (never the stack's gateway); SIPp calls it from loopback, one SIPp per
 * call, each test with its own tenant, number, trunk and rule.
 *
 * The rules here name rooms `test_inbound_*`, not the default `call_inbound_*`: the stack's
 * API would start the inbound call workflow for a `call_inbound` room (through LiveKit's
 * webhook), and that workflow would answer and hang up on its own. Only the gateway is
 * under test here; test/integration/call-inbound.test.ts runs the whole path.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  AudioFrame,
  AudioSource,
  AudioStream,
  LocalAudioTrack,
  ParticipantKind,
  Room,
  RoomEvent,
  TrackKind,
  TrackPublishOptions,
  TrackSource,
  type RemoteParticipant,
  type RemoteTrack,
} from '@livekit/rtc-node';
import { RoomServiceClient } from 'livekit-server-sdk';
import { pino } from 'pino';
import { startSipp, type SippRun, type SippScenario } from '../../deploy/sipp.js';
import { createToneGenerator, rms } from '../../media/audio.js';
import { SipGatewayClient } from '../../media/sip-gateway/client.js';
import { startControlServer, type ControlServer } from '../../media/sip-gateway/control-server.js';
import { InboundRouteConflictError, InboundRouteNotFoundError, InvalidRequestError } from '../../media/sip-gateway/errors.js';
import { encodeMuLaw } from '../../media/sip-gateway/g711.js';
import { SipGateway } from '../../media/sip-gateway/gateway.js';
import type { InboundRoutesFile } from '../../media/sip-gateway/schemas.js';
import { sleep, waitFor, withTimeout } from '../helpers/async.js';
import { config, joinToken, uniqueName } from '../helpers/env.js';
import { disposeRtcRuntime } from '../../media/rtc-runtime.js';

const HOST = '127.0.0.1';
const GATEWAY_RTP_START = 16400;
const GATEWAY_RTP_END = 16439;
/** The number SIPp's scenarios call from; it must never reach the room. */
const CALLER_NUMBER_DIGITS = '5550109999';
const TONE_RATE = 48_000;
/** Keeps the stack's inbound call workflow out of these calls (see above). */
const ROOM_PREFIX = 'test_inbound';
/** An RMS above this is the tone, not silence or comfort noise. */
const LOUD_RMS = 2000;

const rooms = new RoomServiceClient(config.livekit.httpUrl, config.livekit.apiKey, config.livekit.apiSecret);
const workDir = mkdtempSync(path.join(tmpdir(), 'kickcall-sipgw-inbound-'));
const runs = new Set<SippRun>();
let gateway: SipGateway;
let control: ControlServer;
let client: SipGatewayClient;
let gatewayStopped = false;

/** A route loaded from the routes file at start, as a deployment would. */
const fileRoute = { tenantId: `file${randomInt(1e6)}`, number: randomNumber(), trunkId: uniqueName('file-trunk'), ruleId: uniqueName('file-rule') };

function randomNumber(): string {
  return `+1555${String(randomInt(1_000_000, 9_999_999))}`;
}

before(async () => {
  const routesFile = path.join(workDir, 'routes.json');
  const routes: InboundRoutesFile = {
    trunks: [{ trunkId: fileRoute.trunkId, tenantId: fileRoute.tenantId, numbers: [fileRoute.number] }],
    rules: [{ ruleId: fileRoute.ruleId, trunkIds: [fileRoute.trunkId], roomPrefix: ROOM_PREFIX, metadata: '{"from":"file"}' }],
  };
  writeFileSync(routesFile, JSON.stringify(routes));
  const logger = pino({ level: 'debug' }, pino.destination(path.join(workDir, 'gateway.log')));
  gateway = await SipGateway.start({
    host: HOST,
    sipPort: 0,
    rtpPortStart: GATEWAY_RTP_START,
    rtpPortEnd: GATEWAY_RTP_END,
    livekit: config.livekit,
    logger,
    routesFile,
  });
  control = await startControlServer({ gateway, host: HOST, port: 0, logger });
  client = new SipGatewayClient({ baseUrl: control.url });
});

after(async () => {
  for (const run of runs) await run.stop();
  if (!gatewayStopped) await gateway.shutdown();
  await control.close();
  await disposeRtcRuntime();
});

interface Route {
  tenantId: string;
  number: string;
  trunkId: string;
  ruleId: string;
  metadata: string;
}

/** A trunk owning a fresh number for a fresh tenant, and (unless `rule: false`) its dispatch rule. */
async function addRoute(opts: { rule?: boolean } = {}): Promise<Route> {
  const tenantId = `t${randomInt(1e9).toString(16)}`;
  const route = { tenantId, number: randomNumber(), trunkId: uniqueName('trunk'), ruleId: uniqueName('rule'), metadata: JSON.stringify({ tenantId, agent: { greeting: 'Hello' } }) };
  await client.upsertInboundTrunk({ trunkId: route.trunkId, tenantId, numbers: [route.number] });
  if (opts.rule !== false) await client.upsertDispatchRule({ ruleId: route.ruleId, trunkIds: [route.trunkId], roomPrefix: ROOM_PREFIX, metadata: route.metadata });
  return route;
}

let nextSippPort = 15271;
let nextMediaPort = 16500;

/** SIPp calling `number` at the gateway; `caller.pcmu` is what the caller says. */
async function callIn(scenario: SippScenario, number: string, opts: { callerAudio?: Buffer; pauseMs?: number; rtpEcho?: boolean } = {}): Promise<SippRun> {
  const sipp = await startSipp({
    scenario,
    host: HOST,
    port: nextSippPort++,
    mediaPort: (nextMediaPort += 4),
    remote: `${HOST}:${gateway.ua.port}`,
    // Dialled without the +, as many carriers send it: the gateway normalises to E.164.
    service: number.slice(1),
    timeoutS: 60,
    files: { 'caller.pcmu': opts.callerAudio ?? silence(20) },
    ...(opts.pauseMs !== undefined ? { pauseMs: opts.pauseMs } : {}),
    ...(opts.rtpEcho ? { rtpEcho: true } : {}),
  });
  runs.add(sipp);
  return sipp;
}

function tone(ms: number): Buffer {
  return Buffer.from(encodeMuLaw(createToneGenerator({ frequencyHz: 440, sampleRate: 8000, amplitude: 0.5 })(ms)));
}

function silence(ms: number): Buffer {
  return Buffer.from(encodeMuLaw(new Int16Array((8000 * ms) / 1000)));
}

function sippExitCode(sipp: SippRun): Promise<number | null> {
  return sipp.exited.then((r) => r.code);
}

/** Requests SIPp received or sent: lines such as "BYE sip:..." at the start of a message. */
function countRequests(messages: string, method: string): number {
  return messages.split('\n').filter((line) => line.startsWith(`${method} sip:`)).length;
}

/** The room the gateway made for this tenant's call, once it exists. */
async function roomOf(tenantId: string, timeoutMs = 10_000): Promise<{ name: string; metadata: string }> {
  let found: { name: string; metadata: string } | undefined;
  await waitFor(
    async () => {
      found = (await rooms.listRooms()).find((r) => r.name.startsWith(`${ROOM_PREFIX}_${tenantId}_`));
      return found !== undefined;
    },
    timeoutMs,
    `no room for tenant ${tenantId}`,
  );
  return found!;
}

async function tenantRooms(tenantId: string): Promise<string[]> {
  return (await rooms.listRooms()).map((r) => r.name).filter((n) => n.startsWith(`${ROOM_PREFIX}_${tenantId}_`));
}

async function participantIdentities(roomName: string): Promise<string[]> {
  try {
    return (await rooms.listParticipants(roomName)).map((p) => p.identity);
  } catch {
    return []; // the room is gone: nobody is in it
  }
}

/** Joins as an observer (the agent's stand-in); resolves the caller once it is active. */
async function observe(roomName: string, callerIdentity: string) {
  const room = new Room();
  const track = new Promise<RemoteTrack>((resolve) => {
    room.on(RoomEvent.TrackSubscribed, (t, _pub, p) => {
      if (p.identity === callerIdentity && t.kind === TrackKind.KIND_AUDIO) resolve(t);
    });
  });
  await room.connect(config.livekit.wsUrl, await joinToken(roomName, uniqueName('observer')), { autoSubscribe: true, dynacast: false });
  let caller: RemoteParticipant | undefined;
  await waitFor(
    () => {
      caller = room.remoteParticipants.get(callerIdentity);
      return caller?.attributes['sip.callStatus'] === 'active';
    },
    10_000,
    'the caller never became active in the room',
  );
  return { room, caller: caller!, track };
}

/** Frames of the caller's audio until `wanted` loud ones arrived (or the deadline). */
async function loudFrames(track: RemoteTrack, wanted: number, timeoutMs: number): Promise<{ loud: number; total: number }> {
  const stream = new AudioStream(track, { sampleRate: TONE_RATE, numChannels: 1 });
  const deadline = Date.now() + timeoutMs;
  let loud = 0;
  let total = 0;
  const reader = stream.getReader();
  try {
    while (loud < wanted && Date.now() < deadline) {
      const next = await Promise.race([reader.read(), sleep(Math.max(0, deadline - Date.now())).then(() => undefined)]);
      if (!next || next.done) break;
      total++;
      if (rms(next.value.data) > LOUD_RMS) loud++;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return { loud, total };
}

test('inbound routes: idempotent upserts, lists, deletes; invalid or ambiguous ones are refused', async () => {
  const trunk = { trunkId: uniqueName('trunk'), tenantId: 'acme', numbers: [randomNumber()] };
  const saved = await client.upsertInboundTrunk(trunk);
  assert.deepEqual(saved, { ...trunk, includeCallerNumber: false });
  assert.deepEqual(await client.upsertInboundTrunk(trunk), saved, 'the same upsert again changes nothing');
  const trunks = await client.listInboundTrunks();
  assert.equal(trunks.filter((t) => t.trunkId === trunk.trunkId).length, 1);
  assert.ok(trunks.some((t) => t.trunkId === fileRoute.trunkId), 'the routes file was loaded at start');

  await assert.rejects(client.upsertInboundTrunk({ ...trunk, numbers: ['5550100'] }), InvalidRequestError);
  await assert.rejects(client.upsertInboundTrunk({ ...trunk, tenantId: 'acme_corp' }), InvalidRequestError);
  await assert.rejects(client.upsertInboundTrunk({ ...trunk, allowedAddresses: ['not-an-ip'] }), InvalidRequestError);
  // Another unrestricted trunk for the same number would make routing ambiguous...
  await assert.rejects(client.upsertInboundTrunk({ ...trunk, trunkId: uniqueName('trunk') }), InboundRouteConflictError);
  // ...one restricted to a source network does not: it wins for calls from there.
  const restricted = { ...trunk, trunkId: uniqueName('trunk'), allowedAddresses: ['10.1.0.0/16'] };
  await client.upsertInboundTrunk(restricted);

  const rule = { ruleId: uniqueName('rule'), trunkIds: [trunk.trunkId], metadata: '{}' };
  assert.deepEqual(await client.upsertDispatchRule(rule), { ...rule, roomPrefix: 'call_inbound' });
  await client.upsertDispatchRule(rule);
  assert.equal((await client.listDispatchRules()).filter((r) => r.ruleId === rule.ruleId).length, 1);
  await assert.rejects(client.upsertDispatchRule({ ...rule, ruleId: uniqueName('rule') }), InboundRouteConflictError);

  await client.deleteDispatchRule(rule.ruleId);
  await client.deleteInboundTrunk(trunk.trunkId);
  await client.deleteInboundTrunk(restricted.trunkId);
  await assert.rejects(client.deleteInboundTrunk(trunk.trunkId), InboundRouteNotFoundError);
  await assert.rejects(client.deleteDispatchRule(rule.ruleId), InboundRouteNotFoundError);
  assert.ok(!(await client.listInboundTrunks()).some((t) => t.trunkId === trunk.trunkId));
});

test('an unknown number is refused with 404, a trunk without a dispatch rule with 480; no room is made', async () => {
  const unknown = await callIn('uac-rejected', randomNumber());
  assert.equal(await withTimeout(sippExitCode(unknown), 15_000, 'SIPp never finished'), 0);
  assert.match(unknown.messages(), /^SIP\/2\.0 404 Not Found/m);

  const route = await addRoute({ rule: false });
  const unrouted = await callIn('uac-rejected', route.number);
  assert.equal(await withTimeout(sippExitCode(unrouted), 15_000, 'SIPp never finished'), 0);
  assert.match(unrouted.messages(), /^SIP\/2\.0 480 Temporarily Unavailable/m);
  assert.deepEqual(await tenantRooms(route.tenantId), []);
});

test('a routed call: its room, the caller as a SIP participant, the caller’s audio in the room, and the caller’s BYE', async (t) => {
  const route = await addRoute();
  const sipp = await callIn('uac-call', route.number, { callerAudio: tone(5000), pauseMs: 7000 });
  const room = await roomOf(route.tenantId);
  t.after(() => rooms.deleteRoom(room.name).catch(() => undefined));

  // The room: <prefix>_<tenant>_<16 hex> (call_inbound_... by default), the rule's
  // metadata, no phone number anywhere.
  const token = new RegExp(`^${ROOM_PREFIX}_${route.tenantId}_([0-9a-f]{16})$`).exec(room.name)?.[1];
  assert.ok(token, `room name ${room.name}`);
  assert.equal(room.metadata, route.metadata);
  const identity = `sip_caller_${token}`;
  const { room: observer, caller, track } = await observe(room.name, identity);
  t.after(() => observer.disconnect());

  assert.equal(caller.kind, ParticipantKind.SIP);
  assert.equal(caller.attributes['sip.trunkID'], route.trunkId);
  assert.equal(caller.attributes['sip.ruleID'], route.ruleId);
  assert.equal(caller.attributes['sip.direction'], 'inbound');
  assert.match(caller.attributes['sip.callID'] ?? '', /^SCL_[A-Za-z0-9]{12}$/);
  assert.equal(caller.attributes['sip.phoneNumber'], undefined, 'the trunk did not ask for the caller’s number');
  const visible = JSON.stringify([room.name, identity, caller.attributes, caller.name, caller.metadata]);
  assert.ok(!visible.includes(CALLER_NUMBER_DIGITS) && !visible.includes(route.number.slice(2)), `a number leaked: ${visible}`);

  // The caller's tone arrives as the SIP participant's audio.
  const levels = await loudFrames(await withTimeout(track, 10_000, 'never subscribed to the caller'), 50, 10_000);
  t.diagnostic(`frames from the caller: ${levels.total}, loud: ${levels.loud}`);
  assert.ok(levels.loud >= 50, `expected the caller's tone in the room, got ${levels.loud} loud frames of ${levels.total}`);

  // The caller hangs up: BYE answered, the participant leaves, the room stays for the workflow.
  assert.equal(await withTimeout(sippExitCode(sipp), 20_000, 'SIPp never finished'), 0);
  assert.equal(countRequests(sipp.messages(), 'BYE'), 1);
  await waitFor(async () => !(await participantIdentities(room.name)).includes(identity), 10_000, 'the caller stayed in the room');
  assert.equal(gateway.activeCallCount, 0);
});

test('audio published in the room reaches the caller, and deleting the room sends BYE', async (t) => {
  const route = await addRoute();
  // SIPp echoes what the gateway sends it: the room's tone comes back as the caller's audio.
  const sipp = await callIn('uac-call-remote-bye', route.number, { rtpEcho: true });
  const room = await roomOf(route.tenantId);
  t.after(() => rooms.deleteRoom(room.name).catch(() => undefined));
  const identity = `sip_caller_${room.name.slice(-16)}`;
  const { room: observer, track } = await observe(room.name, identity);

  const source = new AudioSource(TONE_RATE, 1);
  await observer.localParticipant!.publishTrack(
    LocalAudioTrack.createAudioTrack('agent-voice', source),
    new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }),
  );
  const generate = createToneGenerator({ frequencyHz: 440, sampleRate: TONE_RATE, amplitude: 0.5 });
  let speaking = true;
  const speaking$ = (async () => {
    while (speaking) {
      const samples = generate(10);
      await source.captureFrame(new AudioFrame(samples, TONE_RATE, 1, samples.length));
    }
  })();
  try {
    const levels = await loudFrames(await withTimeout(track, 10_000, 'never subscribed to the caller'), 50, 15_000);
    t.diagnostic(`frames back from the caller: ${levels.total}, loud: ${levels.loud}`);
    assert.ok(levels.loud >= 50, `expected the room's tone echoed by the caller, got ${levels.loud} loud frames of ${levels.total}`);
  } finally {
    speaking = false;
    await speaking$;
    await observer.disconnect();
    await source.close();
  }

  // The call workflow hangs up by deleting the room: the gateway sends BYE.
  await rooms.deleteRoom(room.name);
  assert.equal(await withTimeout(sippExitCode(sipp), 15_000, 'SIPp never finished (no BYE?)'), 0);
  const messages = sipp.messages();
  assert.equal(countRequests(messages, 'BYE'), 1);
  assert.match(messages, /^BYE sip:caller@/m, 'the BYE goes to the caller’s Contact');
  await waitFor(() => gateway.activeCallCount === 0, 5000, 'the call stayed registered');
});

test('a transfer of an inbound call sends REFER to the caller, then BYE', async (t) => {
  const route = await addRoute();
  const sipp = await callIn('uac-call-refer', route.number);
  const room = await roomOf(route.tenantId);
  t.after(() => rooms.deleteRoom(room.name).catch(() => undefined));
  const identity = `sip_caller_${room.name.slice(-16)}`;
  const { room: observer } = await observe(room.name, identity);
  t.after(() => observer.disconnect());

  const result = await client.transferSipParticipant({ roomName: room.name, participantIdentity: identity, transferTo: 'tel:+15550100009' });
  assert.deepEqual(result, { roomName: room.name, participantIdentity: identity });
  assert.equal(await withTimeout(sippExitCode(sipp), 15_000, 'SIPp never finished'), 0);
  const messages = sipp.messages();
  assert.equal(countRequests(messages, 'REFER'), 1);
  assert.match(messages, /Refer-To: <tel:\+15550100009>/);
  assert.equal(countRequests(messages, 'BYE'), 1);
  await waitFor(async () => !(await participantIdentities(room.name)).includes(identity), 5000, 'the caller stayed in the room');
});

test('a caller who cancels while it rings gets 487, and no room or participant is left', async () => {
  const route = await addRoute();
  const sipp = await callIn('uac-cancel', route.number);
  assert.equal(await withTimeout(sippExitCode(sipp), 15_000, 'SIPp never finished'), 0);
  assert.match(sipp.messages(), /^SIP\/2\.0 487 Request Terminated/m);
  await waitFor(async () => (await tenantRooms(route.tenantId)).length === 0, 10_000, 'the room of the canceled call is still there');
  await waitFor(() => gateway.activeCallCount === 0, 5000, 'the canceled call stayed registered');
});

// Last: it stops the gateway.
test('draining hangs up inbound calls with BYE', async () => {
  const sipp = await callIn('uac-call-remote-bye', fileRoute.number);
  const room = await roomOf(fileRoute.tenantId);
  assert.equal(room.metadata, '{"from":"file"}', 'routed by the trunk and rule from the routes file');
  await waitFor(() => gateway.activeCallCount === 1, 10_000, 'the call never registered');
  await waitFor(
    async () => (await rooms.listParticipants(room.name)).some((p) => p.attributes['sip.callStatus'] === 'active'),
    10_000,
    'the caller never became active',
  );
  gatewayStopped = true;
  await withTimeout(gateway.shutdown(), 15_000, 'shutdown did not finish');
  assert.equal(await withTimeout(sippExitCode(sipp), 10_000, 'SIPp never finished (no BYE?)'), 0);
  assert.equal(countRequests(sipp.messages(), 'BYE'), 1);
  await rooms.deleteRoom(room.name).catch(() => undefined);
});
