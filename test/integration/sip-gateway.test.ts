/**
 * SIP gateway against the real local stack: the gateway runs as a child process on its
 * own ports (15xxx/16xxx, never the stack's own gateway), SIPp plays the far end on
 * loopback, LiveKit is the stack's server. Each test has its own room and SIPp port.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync } from 'node:fs';
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
  type RemoteTrack,
} from '@livekit/rtc-node';
import { RoomServiceClient } from 'livekit-server-sdk';
import { repoRoot } from '../../deploy/config.js';
import { startSipp as startSippRun, type SippRun, type SippScenario } from '../../deploy/sipp.js';
import { createToneGenerator, rms } from '../../media/audio.js';
import { SipGatewayClient } from '../../media/sip-gateway/client.js';
import { IdempotencyConflictError, SipCallError, SipNoAnswerError } from '../../media/sip-gateway/errors.js';
import type { CreateSipParticipantRequest } from '../../media/sip-gateway/schemas.js';
import { sleep, waitFor, withTimeout } from '../helpers/async.js';
import { config, joinToken, uniqueName } from '../helpers/env.js';
import { disposeRtcRuntime } from '../../media/rtc-runtime.js';

const GATEWAY_SIP_PORT = 15160;
const GATEWAY_CONTROL_PORT = 15189;
const GATEWAY_RTP_START = 16100;
const GATEWAY_RTP_END = 16139;
const SIPP_RTP_PORT = 16300;
const TONE_RATE = 48_000;
const CALLER_ID = '+15550100000';
const CALLEE = '+15550100001';

const rooms = new RoomServiceClient(config.livekit.httpUrl, config.livekit.apiKey, config.livekit.apiSecret);
const client = new SipGatewayClient({ baseUrl: `http://${config.host}:${GATEWAY_CONTROL_PORT}` });
const workDir = mkdtempSync(path.join(tmpdir(), 'kickcall-sipgw-'));
const runs = new Set<SippRun>();
let gateway: ChildProcess | undefined;
let gatewayExit: Promise<number | null> | undefined;

before(async () => {
  const log = openSync(path.join(workDir, 'gateway.log'), 'a');
  gateway = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'workers', 'sip-gateway.ts')], {
    cwd: repoRoot,
    env: {
      ...process.env,
      SIP_PORT: String(GATEWAY_SIP_PORT),
      SIP_RTP_PORT_START: String(GATEWAY_RTP_START),
      SIP_RTP_PORT_END: String(GATEWAY_RTP_END),
      SIP_GATEWAY_CONTROL_PORT: String(GATEWAY_CONTROL_PORT),
      // The stack's gateway holds the default metrics port.
      SIP_GATEWAY_METRICS_PORT: '0',
      KICKCALL_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', log, log],
  });
  const child = gateway;
  gatewayExit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  await waitFor(() => client.isHealthy(), 30_000, `gateway never became healthy (log: ${workDir}/gateway.log)`);
});

after(async () => {
  for (const run of runs) await run.stop();
  if (gateway && gateway.exitCode === null) {
    gateway.kill('SIGTERM');
    const exited = await Promise.race([gatewayExit, sleep(15_000).then(() => 'timeout' as const)]);
    if (exited === 'timeout') gateway.kill('SIGKILL');
  }
  await disposeRtcRuntime();
});

let nextSippPort = 15171;

/** SIPp as the far end for one call, on its own loopback port. */
async function startSipp(scenario: SippScenario, opts: { rtpEcho?: boolean } = {}): Promise<SippRun> {
  const sipp = await startSippRun({ scenario, host: '127.0.0.1', port: nextSippPort++, mediaPort: SIPP_RTP_PORT, timeoutS: 90, ...opts });
  runs.add(sipp);
  return sipp;
}

/** SIPp's exit code: 0 only if the whole scenario ran as written. */
function sippExitCode(sipp: SippRun): Promise<number | null> {
  return sipp.exited.then((r) => r.code);
}

function dialRequest(sipp: SippRun, roomName: string, identity: string, extra: Partial<CreateSipParticipantRequest> = {}): CreateSipParticipantRequest {
  return {
    trunk: { address: sipp.address, numbers: [CALLER_ID] },
    callTo: CALLEE,
    roomName,
    participantIdentity: identity,
    ringingTimeoutMs: 10_000,
    waitUntilAnswered: true,
    ...extra,
  };
}

/** Requests SIPp received: lines such as "INVITE sip:..." at the start of a message. */
function countRequests(messages: string, method: string): number {
  return messages.split('\n').filter((line) => line.startsWith(`${method} sip:`)).length;
}

/** Distinct Call-IDs of the INVITEs SIPp received. */
function inviteCallIds(messages: string): Set<string> {
  const ids = new Set<string>();
  for (const message of messages.split(/^-{10,}.*$/m)) {
    if (!/^INVITE sip:/m.test(message)) continue;
    const callId = /^(?:Call-ID|i):\s*(\S+)/im.exec(message)?.[1];
    if (callId) ids.add(callId);
  }
  return ids;
}

async function participantIdentities(roomName: string): Promise<string[]> {
  try {
    return (await rooms.listParticipants(roomName)).map((p) => p.identity);
  } catch {
    return []; // the room is gone: nobody is in it
  }
}

test('answered call: SIP participant becomes active, audio flows both ways, removal sends BYE', async (t) => {
  const sipp = await startSipp('uas-answer', { rtpEcho: true });
  const roomName = uniqueName('sipgw-answer');
  const identity = 'sip-callee';
  await rooms.createRoom({ name: roomName, emptyTimeout: 60 });

  // The agent stand-in joins first, so it sees the SIP participant's whole status history.
  const agent = new Room();
  t.after(async () => {
    await agent.disconnect();
    await rooms.deleteRoom(roomName).catch(() => undefined);
  });
  const statuses: string[] = [];
  const recordStatus = (attrs: Record<string, string>, who: string) => {
    const s = attrs['sip.callStatus'];
    if (who === identity && s && statuses.at(-1) !== s) statuses.push(s);
  };
  agent.on(RoomEvent.ParticipantConnected, (p) => recordStatus(p.attributes, p.identity));
  agent.on(RoomEvent.ParticipantAttributesChanged, (_changed, p) => recordStatus(p.attributes, p.identity));
  const calleeTrack = new Promise<RemoteTrack>((resolve) => {
    agent.on(RoomEvent.TrackSubscribed, (track, _pub, p) => {
      if (p.identity === identity && track.kind === TrackKind.KIND_AUDIO) resolve(track);
    });
  });
  await agent.connect(config.livekit.wsUrl, await joinToken(roomName, 'agent'), { autoSubscribe: true, dynacast: false });

  // The agent speaks a tone for the whole call: the gateway sends it over RTP, SIPp
  // echoes it, and it comes back as the SIP participant's audio.
  const source = new AudioSource(TONE_RATE, 1);
  const agentTrack = LocalAudioTrack.createAudioTrack('agent-voice', source);
  await agent.localParticipant!.publishTrack(agentTrack, new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }));
  const tone = createToneGenerator({ frequencyHz: 440, sampleRate: TONE_RATE, amplitude: 0.5 });
  let speaking = true;
  const speaking$ = (async () => {
    while (speaking) {
      const samples = tone(10);
      await source.captureFrame(new AudioFrame(samples, TONE_RATE, 1, samples.length));
    }
  })();

  try {
    // Without waitUntilAnswered the response comes once the INVITE is out; SIPp waits
    // 500 ms before ringing, so the server must show the participant as dialing.
    const dialed = await client.createSipParticipant(dialRequest(sipp, roomName, identity, { waitUntilAnswered: false }));
    assert.match(dialed.sipCallId, /^SCL_[A-Za-z0-9]{12}$/);
    const dialing = (await rooms.listParticipants(roomName)).find((p) => p.identity === identity);
    assert.equal(dialing?.attributes['sip.callStatus'], 'dialing');

    await waitFor(() => statuses.at(-1) === 'active', 10_000, 'the agent never saw sip.callStatus=active');
    // LiveKit announces a participant once its connection is up, which can be after the
    // 180: the agent sees ringing → active, possibly preceded by dialing.
    assert.deepEqual(statuses.filter((s) => s !== 'dialing'), ['ringing', 'active']);
    assert.ok(statuses.indexOf('dialing') <= 0, `status went backwards: ${statuses.join(' → ')}`);

    const listed = (await rooms.listParticipants(roomName)).find((p) => p.identity === identity);
    assert.ok(listed, 'the SIP participant is in the room');
    assert.equal(listed.attributes['sip.callStatus'], 'active');
    assert.equal(listed.attributes['sip.callID'], dialed.sipCallId);
    assert.equal(agent.remoteParticipants.get(identity)?.kind, ParticipantKind.SIP);

    // Energy back from the SIP participant: the tone went out over RTP and came back.
    const track = await withTimeout(calleeTrack, 10_000, 'never subscribed to the SIP participant’s audio');
    const levels: number[] = [];
    const stream = new AudioStream(track, { sampleRate: TONE_RATE, numChannels: 1 });
    const deadline = Date.now() + 15_000;
    for await (const frame of stream) {
      levels.push(rms(frame.data));
      if (levels.filter((l) => l > 2000).length >= 50 || Date.now() > deadline) break;
    }
    const loud = levels.filter((l) => l > 2000).length;
    t.diagnostic(`frames from the SIP participant: ${levels.length}, loud: ${loud}, peak rms: ${Math.round(Math.max(0, ...levels))}`);
    assert.ok(loud >= 50, `expected echoed tone from the SIP participant, got ${loud} loud frames of ${levels.length}`);
  } finally {
    speaking = false;
    await speaking$;
    // Unpublish before closing the source: closing a source whose track is still
    // published corrupts rtc-node's native heap (see test/integration/livekit.test.ts).
    await agent.localParticipant!.unpublishTrack(agentTrack.sid!);
    await source.close();
  }

  // Removing the participant makes the gateway hang up with BYE; SIPp's scenario ends
  // only after it received the BYE.
  await rooms.removeParticipant(roomName, identity);
  const code = await withTimeout(sippExitCode(sipp), 15_000, 'SIPp never finished (no BYE?)');
  assert.equal(code, 0, 'SIPp scenario failed');
  assert.equal(countRequests(sipp.messages(), 'BYE'), 1);
  assert.ok(!(await participantIdentities(roomName)).includes(identity));
});

test('busy: 486 becomes SipCallError with sipStatusCode 486 and no participant is left', async (t) => {
  const sipp = await startSipp('uas-busy');
  const roomName = uniqueName('sipgw-busy');
  t.after(() => rooms.deleteRoom(roomName).catch(() => undefined));
  await assert.rejects(client.createSipParticipant(dialRequest(sipp, roomName, 'sip-busy')), (err: unknown) => {
    assert.ok(err instanceof SipCallError, `expected SipCallError, got ${String(err)}`);
    assert.equal(err.sipStatusCode, 486);
    assert.equal(err.sipStatus, 'Busy Here');
    assert.equal(err.retryable, false);
    return true;
  });
  assert.equal(await withTimeout(sippExitCode(sipp), 10_000, 'SIPp never finished (no ACK?)'), 0);
  await waitFor(async () => !(await participantIdentities(roomName)).includes('sip-busy'), 5000, 'the SIP participant stayed in the room');
});

test('ringing timeout: no-answer error and a CANCEL sent', async (t) => {
  const sipp = await startSipp('uas-no-answer');
  const roomName = uniqueName('sipgw-noanswer');
  t.after(() => rooms.deleteRoom(roomName).catch(() => undefined));
  const startedAt = Date.now();
  await assert.rejects(client.createSipParticipant(dialRequest(sipp, roomName, 'sip-noanswer', { ringingTimeoutMs: 2000 })), (err: unknown) => {
    assert.ok(err instanceof SipNoAnswerError, `expected SipNoAnswerError, got ${String(err)}`);
    assert.equal(err.ringingTimeoutMs, 2000);
    return true;
  });
  const elapsedMs = Date.now() - startedAt;
  assert.ok(elapsedMs >= 2000 && elapsedMs < 8000, `gave up after ${elapsedMs} ms`);
  // The scenario only completes after CANCEL → 200, 487 → ACK.
  assert.equal(await withTimeout(sippExitCode(sipp), 10_000, 'SIPp never finished (no CANCEL?)'), 0);
  assert.equal(countRequests(sipp.messages(), 'CANCEL'), 1);
  assert.ok(!(await participantIdentities(roomName)).includes('sip-noanswer'));
});

test('a repeated dial for the same room and identity returns the same call and sends one INVITE', async (t) => {
  const sipp = await startSipp('uas-answer');
  const roomName = uniqueName('sipgw-dup');
  const identity = 'sip-dup';
  t.after(() => rooms.deleteRoom(roomName).catch(() => undefined));
  const request = dialRequest(sipp, roomName, identity);
  // Two at once (an activity retried while the first attempt is still waiting)...
  const [a, b] = await Promise.all([client.createSipParticipant(request), client.createSipParticipant(request)]);
  // ...and one after the answer, without waiting.
  const c = await client.createSipParticipant({ ...request, waitUntilAnswered: false });
  assert.equal(a.sipCallId, b.sipCallId);
  assert.equal(a.sipCallId, c.sipCallId);
  // The same identity for a different callee is a conflict, not a second call.
  await assert.rejects(client.createSipParticipant({ ...request, callTo: '+15550100002' }), IdempotencyConflictError);

  await rooms.removeParticipant(roomName, identity);
  assert.equal(await withTimeout(sippExitCode(sipp), 15_000, 'SIPp never finished'), 0);
  // Retransmissions of one INVITE share its Call-ID; a second dial would have a new one.
  assert.equal(inviteCallIds(sipp.messages()).size, 1, 'exactly one call reached the far end');
});

test('cold transfer: REFER, 202, NOTIFY sipfrag 200, then the gateway hangs up', async (t) => {
  const sipp = await startSipp('uas-refer');
  const roomName = uniqueName('sipgw-transfer');
  const identity = 'sip-transfer';
  t.after(() => rooms.deleteRoom(roomName).catch(() => undefined));
  await client.createSipParticipant(dialRequest(sipp, roomName, identity));
  const result = await client.transferSipParticipant({ roomName, participantIdentity: identity, transferTo: 'tel:+15550100009' });
  assert.deepEqual(result, { roomName, participantIdentity: identity });
  assert.equal(await withTimeout(sippExitCode(sipp), 15_000, 'SIPp never finished'), 0);
  const messages = sipp.messages();
  assert.equal(countRequests(messages, 'REFER'), 1);
  assert.match(messages, /Refer-To: <tel:\+15550100009>/);
  assert.equal(countRequests(messages, 'BYE'), 1);
  await waitFor(async () => !(await participantIdentities(roomName)).includes(identity), 5000, 'the SIP participant stayed in the room');
});

// Last: it stops the gateway.
test('SIGTERM drains: live calls get BYE and the process exits 0', async (t) => {
  const sipp = await startSipp('uas-answer');
  const roomName = uniqueName('sipgw-drain');
  t.after(() => rooms.deleteRoom(roomName).catch(() => undefined));
  await client.createSipParticipant(dialRequest(sipp, roomName, 'sip-drain'));
  assert.ok(gateway);
  gateway.kill('SIGTERM');
  assert.equal(await withTimeout(gatewayExit!, 20_000, 'gateway did not exit after SIGTERM'), 0);
  assert.equal(await withTimeout(sippExitCode(sipp), 10_000, 'SIPp never finished (no BYE?)'), 0);
  assert.equal(countRequests(sipp.messages(), 'BYE'), 1);
});
