/**
 * The media worker end to end: a real LiveKit Agents worker (jobs forked per call) on the
 * stack's LiveKit server, the provider simulators behind the real Deepgram and OpenAI
 * plugins, and the caller simulator as the callee speaking real audio. Every assertion
 * reads what a user would: what the caller heard, and the call's events in JetStream.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AgentDispatchClient, RoomServiceClient } from 'livekit-server-sdk';
import type { CallConfigInput } from '../../media/agent/call-config.js';
import { scriptedLines } from '../../media/agent/tools.js';
import { ensureCallEventsStream } from '../../media/events/publisher.js';
import { readCallEvents } from '../../media/events/history.js';
import { controlReplySchema, type CallEvent, type ControlReply } from '../../media/events/schema.js';
import { callControlSubject } from '../../media/events/subjects.js';
import { CallerSimulator, createCallerToken } from '../../media/simulators/caller.js';
import { defaultPhrasebook as phrasebook, type PhraseId } from '../../media/simulators/phrasebook.js';
import { repoRoot } from '../../deploy/config.js';
import { degradeLines } from '../../media/agent/entry.js';
import { waitFor } from '../helpers/async.js';
import { freePortForChild, startTestMediaServer, type TestMediaServer } from '../helpers/media-server.js';
import { config, uniqueName } from '../helpers/env.js';
import { disposeRtcRuntime } from '../../media/rtc-runtime.js';
import { childrenOf } from '../../bench/media/proc-sampler.js';
import { createAgentActivities } from '../../activities/agent.js';

const agentName = uniqueName('kc-test-agent');
const rooms = new RoomServiceClient(config.livekit.httpUrl, config.livekit.apiKey, config.livekit.apiSecret);
const dispatch = new AgentDispatchClient(config.livekit.httpUrl, config.livekit.apiKey, config.livekit.apiSecret);
let media: TestMediaServer;
let nc: NatsConnection;

before(async () => {
  nc = await connect({ servers: config.nats.url });
  await ensureCallEventsStream(nc);
  media = await startTestMediaServer(agentName, { idleProcesses: 0 });
});

after(async () => {
  await media.stop();
  await nc.close();
  await disposeRtcRuntime();
});

const persona = {
  instructions: 'You are Ava, calling from Acme Dental about a free check-up. Be brief.',
  greeting: 'Hi, this is Ava from Acme Dental. Do you have a minute?',
};

/** Creates the call's room, dispatches the agent to it and returns the call ID. */
async function startCall(
  extra: Partial<CallConfigInput> = {},
  rawMetadata?: string,
  toAgent = agentName,
): Promise<{ callId: string; roomName: string }> {
  const callId = uniqueName('call').replaceAll('-', '_');
  const roomName = `room_${callId}`;
  await rooms.createRoom({ name: roomName, emptyTimeout: 30 });
  const metadata: CallConfigInput = { v: 1, callId, tenantId: 'acme', persona, ...extra };
  await dispatch.createDispatch(roomName, toAgent, { metadata: rawMetadata ?? JSON.stringify(metadata) });
  return { callId, roomName };
}

async function joinCaller(roomName: string): Promise<CallerSimulator> {
  const token = await createCallerToken({ apiKey: config.livekit.apiKey, apiSecret: config.livekit.apiSecret, room: roomName, identity: 'callee' });
  const caller = new CallerSimulator({ wsUrl: config.livekit.wsUrl, token });
  await caller.join();
  return caller;
}

/** Every event published for the call so far, in stream order. */
function eventsOf(callId: string): Promise<CallEvent[]> {
  return readCallEvents(nc, callId);
}

function waitForEvent(callId: string, predicate: (e: CallEvent) => boolean, timeoutMs: number, what: string): Promise<void> {
  return waitFor(async () => (await eventsOf(callId)).some(predicate), timeoutMs, `no ${what} event within ${timeoutMs} ms`);
}

function assertSequenced(events: CallEvent[], firstSeq = 1): void {
  assert.deepEqual(
    events.map((e) => e.seq),
    events.map((_, i) => firstSeq + i),
    'seq runs from the first without gaps or duplicates',
  );
}

/** The command lines of this process's children: the in-process worker forks from here. */
function childCommandLines(): string[] {
  return childrenOf(process.pid).map((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      return ''; // ended since it was listed
    }
  });
}

test('the worker starts no end-of-turn model process: turns are detected by VAD alone', () => {
  // LiveKit Agents starts its inference process as the worker starts, before it registers.
  const children = childCommandLines();
  assert.ok(!children.some((line) => line.includes('inference_proc')), `the worker's processes:\n${children.join('\n')}`);
});

test('a callee answering after ringing hears the greeting within a second (it was synthesised while ringing)', async (t) => {
  const { callId, roomName } = await startCall();
  const token = await createCallerToken({
    apiKey: config.livekit.apiKey,
    apiSecret: config.livekit.apiSecret,
    room: roomName,
    identity: 'callee',
    attributes: { 'sip.callStatus': 'ringing' },
  });
  const caller = new CallerSimulator({ wsUrl: config.livekit.wsUrl, token });
  await caller.join();
  const joinedAt = Date.now();
  after(() => caller.leave().catch(() => undefined));
  await waitForEvent(callId, (e) => e.type === 'agent.joined', 15_000, 'agent.joined');
  // The phone rings a little longer, as a real one does, then the callee picks up.
  await new Promise((r) => setTimeout(r, 2_000));
  const answeredAfterJoinMs = Date.now() - joinedAt;
  await caller.room.localParticipant!.setAttributes({ 'sip.callStatus': 'active' });
  assert.ok(await caller.waitForAgentSpeech({ afterMs: answeredAfterJoinMs, timeoutMs: 10_000 }), 'the callee heard the greeting');
  const heardAtMs = caller.report().greetingHeardAtMs ?? Infinity;
  const afterAnswerMs = heardAtMs - answeredAfterJoinMs;
  t.diagnostic(`greeting heard ${afterAnswerMs} ms after the answer`);
  assert.ok(heardAtMs >= answeredAfterJoinMs - 50, 'nothing was played before the answer');
  // The target is 1 s; telephony rules require a live voice within 2 s. Figures across
  // runs are in the bench results; this bound fails only a greeting that is not prompt.
  assert.ok(afterAnswerMs < 2_000, `greeting heard ${afterAnswerMs} ms after the answer`);
  await caller.leave();
});

test('a conversation: greeting heard at once, the caller’s turn transcribed, a reply spoken, every turn on NATS in order', async (t) => {
  const { callId, roomName } = await startCall();
  // The agent is in the room before the caller, as it is while a real phone rings: this
  // fixture forks each job cold (seconds on a busy machine), which is not what is measured.
  await waitForEvent(callId, (e) => e.type === 'agent.joined', 20_000, 'agent.joined');
  const caller = await joinCaller(roomName);
  after(() => caller.leave().catch(() => undefined));

  assert.ok(await caller.waitForAgentSpeech({ timeoutMs: 10_000 }), 'the caller heard the greeting');
  const greetingAtMs = caller.report().greetingHeardAtMs ?? Infinity;
  assert.ok(await caller.waitForAgentTurn({ timeoutMs: 15_000 }), 'the greeting finished');

  const line = await caller.say('interested');
  assert.ok(await caller.waitForAgentTurn({ afterMs: line.endMs, timeoutMs: 15_000 }), 'the agent replied');
  await caller.leave();
  await waitForEvent(callId, (e) => e.type === 'agent.left', 15_000, 'agent.left');

  const events = await eventsOf(callId);
  const types = events.map((e) => e.type);
  assertSequenced(events);
  assert.equal(types[0], 'agent.joined');
  const turns = events.filter((e) => e.type === 'user.turn' || e.type === 'agent.turn');
  assert.deepEqual(
    turns.map((e) => [e.type, e.text]).slice(0, 2),
    [
      ['agent.turn', persona.greeting],
      ['user.turn', phrasebook.byId('interested').text],
    ],
    'the greeting, then exactly what the caller said',
  );
  assert.ok(turns.length >= 3 && turns[2]?.type === 'agent.turn' && turns[2].text.length > 0, 'the agent answered the caller');

  const metrics = events.find((e) => e.type === 'turn.metrics');
  assert.ok(metrics, 'turn latency was reported');
  assert.ok(metrics.voiceToVoiceMs > 0 && metrics.llmTtftMs > 0 && metrics.ttsTtfbMs > 0);
  const usage = events.find((e) => e.type === 'usage');
  assert.ok(usage && usage.ttsCharacters >= persona.greeting.length && usage.llmOutputTokens > 0 && usage.sttAudioS > 0, 'usage was reported');
  assert.deepEqual(types.slice(-2), ['call.ended', 'agent.left']);
  // With the agent already in the room the greeting starts well within a second here (see
  // the diagnostic); the bound leaves room for a loaded machine and catches a greeting
  // that does not come promptly. The answer-after-ringing test holds the 2 s rule.
  t.diagnostic(`greeting heard ${greetingAtMs} ms after the callee joined`);
  assert.ok(greetingAtMs < 3_000, `greeting heard ${greetingAtMs} ms after joining`);
});

test('an opt-out is reported as a tool request, answered politely, and ends the call', async () => {
  const { callId, roomName } = await startCall();
  const caller = await joinCaller(roomName);
  after(() => caller.leave().catch(() => undefined));
  assert.ok(await caller.waitForAgentTurn({ timeoutMs: 15_000 }), 'the greeting finished');
  await caller.say('do_not_call');

  await waitForEvent(callId, (e) => e.type === 'agent.left', 20_000, 'agent.left');
  const events = await eventsOf(callId);
  assertSequenced(events);
  const tool = events.find((e) => e.type === 'tool.requested');
  assert.equal(tool?.type === 'tool.requested' && tool.name, 'do_not_call');
  const lastAgentTurn = events.filter((e) => e.type === 'agent.turn').at(-1);
  assert.equal(lastAgentTurn?.type === 'agent.turn' && lastAgentTurn.text, scriptedLines.doNotCall, 'the agent confirmed the opt-out');
  const ended = events.find((e) => e.type === 'call.ended');
  assert.equal(ended?.type === 'call.ended' && ended.reason, 'do_not_call');
  await waitFor(async () => !(await rooms.listParticipants(roomName)).some((p) => p.identity !== 'callee'), 10_000, 'the agent never left the room');
});

test('a resumed call continues without a second greeting, its events numbered from where they stopped', async () => {
  const resume = {
    turns: [
      { role: 'agent' as const, text: persona.greeting },
      { role: 'user' as const, text: 'Yes, that sounds interesting. Tell me more.' },
    ],
    nextSeq: 9,
  };
  const { callId, roomName } = await startCall({ resume });
  const caller = await joinCaller(roomName);
  after(() => caller.leave().catch(() => undefined));

  await waitForEvent(callId, (e) => e.type === 'agent.joined', 15_000, 'agent.joined');
  assert.equal(await caller.waitForAgentSpeech({ timeoutMs: 3_000 }), false, 'no greeting on resumption');
  const line = await caller.say('ask_price');
  assert.ok(await caller.waitForAgentTurn({ afterMs: line.endMs, timeoutMs: 15_000 }), 'the agent carried on the conversation');
  await caller.leave();
  await waitForEvent(callId, (e) => e.type === 'agent.left', 15_000, 'agent.left');

  const events = await eventsOf(callId);
  assertSequenced(events, 9);
  const joined = events[0];
  assert.ok(joined?.type === 'agent.joined' && joined.resumed);
  assert.ok(!events.some((e) => e.type === 'agent.turn' && e.text === persona.greeting), 'the greeting was not repeated');
});

test('an agent taken out of the room for a replacement ends without ending the call; the replacement numbers its events past it', async () => {
  const activities = createAgentActivities({ dispatch, rooms, nc, agentName });
  const { callId, roomName } = await startCall();
  const caller = await joinCaller(roomName);
  after(() => caller.leave().catch(() => undefined));
  assert.ok(await caller.waitForAgentTurn({ timeoutMs: 15_000 }), 'the greeting finished');
  await waitForEvent(callId, (e) => e.type === 'agent.turn', 10_000, 'the greeting’s agent.turn');
  const before = await eventsOf(callId);
  const firstAgent = before.find((e) => e.type === 'agent.joined');
  assert.ok(firstAgent?.type === 'agent.joined' && firstAgent.participantIdentity);

  const { removed } = await activities.retireAgents({ roomName });
  assert.deepEqual(removed, [firstAgent.participantIdentity]);
  await waitForEvent(callId, (e) => e.type === 'agent.left', 15_000, 'the removed agent’s agent.left');
  const ofFirst = await eventsOf(callId);
  assert.ok(!ofFirst.some((e) => e.type === 'call.ended'), 'being replaced is not the end of the call');
  assert.equal((await activities.retireAgents({ roomName })).removed.length, 0, 'nothing left to remove');

  const lastSeq = before.at(-1)?.seq ?? 0;
  const band = 100;
  const dispatched = await activities.dispatchAgent({ roomName, config: { v: 1, callId, tenantId: 'acme', persona }, generation: 1, minNextSeq: lastSeq + 1, seqBand: band });
  assert.ok(dispatched.nextSeq !== undefined && dispatched.nextSeq > (ofFirst.at(-1)?.seq ?? 0), 'the replacement starts past everything its predecessor stored');
  const again = await activities.dispatchAgent({ roomName, config: { v: 1, callId, tenantId: 'acme', persona }, generation: 1, minNextSeq: lastSeq + 1, seqBand: band });
  assert.deepEqual([again.dispatchId, again.nextSeq], [dispatched.dispatchId, dispatched.nextSeq], 'a retried dispatch finds the first, and its first seq');

  await waitForEvent(callId, (e) => e.type === 'agent.joined' && e.seq === dispatched.nextSeq, 15_000, 'the replacement’s agent.joined');
  assert.equal(await caller.waitForAgentSpeech({ afterMs: caller.now(), timeoutMs: 3_000 }), false, 'the replacement does not greet again');
  const line = await caller.say('ask_price');
  assert.ok(await caller.waitForAgentTurn({ afterMs: line.endMs, timeoutMs: 15_000 }), 'the replacement answered the caller');
  const events = await eventsOf(callId);
  const theirs = events.filter((e) => e.seq >= (dispatched.nextSeq ?? Infinity));
  assertSequenced(theirs, dispatched.nextSeq);
});

test('bad dispatch metadata becomes an error event, and the worker keeps serving calls', async () => {
  const callId = uniqueName('call').replaceAll('-', '_');
  const roomName = `room_${callId}`;
  await rooms.createRoom({ name: roomName, emptyTimeout: 30 });
  await dispatch.createDispatch(roomName, agentName, { metadata: JSON.stringify({ v: 1, callId, tenantId: 'acme', persona: { instructions: '' } }) });

  await waitForEvent(callId, (e) => e.type === 'agent.left', 15_000, 'agent.left');
  const events = await eventsOf(callId);
  assert.deepEqual(events.map((e) => e.type), ['agent.error', 'agent.left']);
  const error = events[0];
  assert.ok(error?.type === 'agent.error' && error.code === 'invalid_metadata' && /persona\.instructions/.test(error.message) && /persona\.greeting/.test(error.message));

  const next = await startCall();
  await waitForEvent(next.callId, (e) => e.type === 'agent.joined', 15_000, 'agent.joined for the next call');
});

interface ToolCase {
  tool: string;
  /** What the caller says after the greeting. */
  says: PhraseId;
  greeting?: string;
  expectArgs: (args: Record<string, unknown>) => boolean;
  /** The line the agent speaks itself, if the tool has one. */
  agentLine?: string;
  /** Whether the tool ends the call (the job leaves on its own). */
  endsCall: boolean;
}

const toolCases: ToolCase[] = [
  { tool: 'end_call', says: 'not_interested', expectArgs: (a) => typeof a.reason === 'string', agentLine: scriptedLines.endCall, endsCall: true },
  { tool: 'transfer_to_human', says: 'ask_human', expectArgs: (a) => typeof a.reason === 'string', agentLine: scriptedLines.transferHold, endsCall: false },
  { tool: 'schedule_callback', says: 'callback_tomorrow', expectArgs: (a) => /tomorrow/i.test(String(a.when)), endsCall: false },
  {
    tool: 'record_answer',
    says: 'answer_yes',
    greeting: 'Hi, this is Ava from Acme Energy. Would you be interested in a free quote?',
    expectArgs: (a) => a.field === 'interested' && a.value === 'yes',
    endsCall: false,
  },
];

for (const c of toolCases) {
  test(`tool ${c.tool}: requested as an event${c.endsCall ? ', and the call ends' : ''}`, async () => {
    const { callId, roomName } = await startCall({
      persona: { ...persona, ...(c.greeting ? { greeting: c.greeting } : {}) },
      transfer: { allowed: true, targetLabel: 'a specialist' },
    });
    const caller = await joinCaller(roomName);
    after(() => caller.leave().catch(() => undefined));
    assert.ok(await caller.waitForAgentTurn({ timeoutMs: 15_000 }), 'the greeting finished');
    await caller.say(c.says);

    await waitForEvent(callId, (e) => e.type === 'tool.requested', 15_000, 'tool.requested');
    if (c.agentLine) await waitForEvent(callId, (e) => e.type === 'agent.turn' && e.text === c.agentLine, 15_000, 'the agent’s own line');
    if (c.endsCall) await waitForEvent(callId, (e) => e.type === 'agent.left', 15_000, 'agent.left');
    await caller.leave();
    await waitForEvent(callId, (e) => e.type === 'agent.left', 15_000, 'agent.left');

    const events = await eventsOf(callId);
    assertSequenced(events);
    const tools = events.filter((e) => e.type === 'tool.requested');
    assert.equal(tools.length, 1, 'one tool request');
    const [tool] = tools;
    assert.ok(tool?.type === 'tool.requested' && tool.name === c.tool && c.expectArgs(tool.args), `tool ${JSON.stringify(tool)}`);
    const ended = events.find((e) => e.type === 'call.ended');
    assert.equal(ended?.type === 'call.ended' && ended.reason, c.endsCall ? c.tool : 'caller_hung_up');
  });
}

test('voicemail: the machine’s greeting is detected, the message is left, the call ends', async () => {
  const voicemailMessage = 'Hi, this is Ava from Acme Dental. Please call us back at your convenience. Goodbye.';
  const { callId, roomName } = await startCall({ voicemailMessage });
  const caller = await joinCaller(roomName);
  after(() => caller.leave().catch(() => undefined));
  // Over SIP the agent hears the callee from the answer on; here it hears the caller once
  // subscribed, which its greeting proves. The machine then talks over it, as machines do.
  assert.ok(await caller.waitForAgentSpeech({ timeoutMs: 10_000 }), 'the agent is live');
  await caller.say('voicemail_greeting');
  await caller.tone(1000, 500);

  await waitForEvent(callId, (e) => e.type === 'agent.left', 30_000, 'agent.left');
  const events = await eventsOf(callId);
  assertSequenced(events);
  assert.ok(events.some((e) => e.type === 'tool.requested' && e.name === 'voicemail_detected'));
  assert.ok(events.some((e) => e.type === 'agent.turn' && e.text === voicemailMessage), 'the voicemail message was spoken');
  const ended = events.find((e) => e.type === 'call.ended');
  assert.equal(ended?.type === 'call.ended' && ended.reason, 'voicemail');
});

test('barge-in: the caller speaking over the agent cuts the agent’s audio', async (t) => {
  const longGreeting =
    'Hi, this is Ava from Acme Dental. I am calling because you are due for your free annual check-up, and we have openings this week in the morning and in the afternoon.';
  const { callId, roomName } = await startCall({ persona: { ...persona, greeting: longGreeting } });
  const caller = await joinCaller(roomName);
  after(() => caller.leave().catch(() => undefined));
  assert.ok(await caller.waitForAgentSpeech({ timeoutMs: 10_000 }), 'the greeting started');
  await new Promise((r) => setTimeout(r, 1_000));
  const line = await caller.say('interrupt');
  assert.ok(line.overAgent, 'the caller really spoke over the agent');

  const cut = caller.report().agentSegments.find((s) => s.startMs <= line.startMs && (s.endMs ?? Infinity) >= line.startMs);
  assert.ok(cut?.endMs !== undefined, 'the agent stopped speaking');
  const cutAfterMs = cut.endMs - line.startMs;
  t.diagnostic(`agent audio stopped ${cutAfterMs} ms after the caller started speaking`);
  // VAD needs ~250 ms of speech to call it an interruption; audio in flight adds a little.
  assert.ok(cutAfterMs < 1_500, `agent kept talking ${cutAfterMs} ms over the caller`);

  await caller.leave();
  await waitForEvent(callId, (e) => e.type === 'agent.left', 15_000, 'agent.left');
  const greeting = (await eventsOf(callId)).find((e) => e.type === 'agent.turn');
  assert.ok(greeting?.type === 'agent.turn' && greeting.interrupted, 'the greeting is recorded as interrupted');
});

/** Queues faults on the OpenAI simulator (the stack's, which every job here uses). */
async function injectLlmFaults(faults: { kind: string; count: number; target: string; retryAfterS?: number }[]): Promise<void> {
  const res = await fetch(`${config.providers.openai.baseUrl.replace(/\/v1$/, '')}/_sim/config`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ appendFaults: faults }),
  });
  assert.equal(res.status, 200, await res.text());
}

async function resetLlmSimulator(): Promise<void> {
  await fetch(`${config.providers.openai.baseUrl.replace(/\/v1$/, '')}/_sim/reset`, { method: 'POST' });
}

test('a transient provider fault (LLM 429) is retried within the turn: the caller still gets a reply', async () => {
  after(resetLlmSimulator);
  const { callId, roomName } = await startCall();
  const caller = await joinCaller(roomName);
  after(() => caller.leave().catch(() => undefined));
  assert.ok(await caller.waitForAgentTurn({ timeoutMs: 15_000 }), 'the greeting finished');
  await injectLlmFaults([{ kind: 'http_429', count: 1, target: 'chat', retryAfterS: 0 }]);
  const line = await caller.say('interested');
  assert.ok(await caller.waitForAgentTurn({ afterMs: line.endMs, timeoutMs: 15_000 }), 'the agent replied despite the fault');
  await caller.leave();
  await waitForEvent(callId, (e) => e.type === 'agent.left', 15_000, 'agent.left');

  const events = await eventsOf(callId);
  const errors = events.filter((e) => e.type === 'agent.error');
  assert.ok(errors.length >= 1 && errors.every((e) => e.type === 'agent.error' && e.retryable), 'the fault was reported as recoverable');
  assert.ok(events.filter((e) => e.type === 'agent.turn').length >= 2, 'greeting and a real reply');
  const ended = events.find((e) => e.type === 'call.ended');
  assert.equal(ended?.type === 'call.ended' && ended.reason, 'caller_hung_up', 'the call was not cut short');
});

test('a provider that stays down degrades gracefully: a holding line, then the polite hang-up fallback', async () => {
  after(resetLlmSimulator);
  const { callId, roomName } = await startCall({ fallback: 'hangup' });
  const caller = await joinCaller(roomName);
  after(() => caller.leave().catch(() => undefined));
  assert.ok(await caller.waitForAgentTurn({ timeoutMs: 15_000 }), 'the greeting finished');
  await injectLlmFaults([{ kind: 'http_500', count: 20, target: 'chat' }]);
  await caller.say('interested');

  await waitForEvent(callId, (e) => e.type === 'agent.left', 30_000, 'agent.left');
  const events = await eventsOf(callId);
  assertSequenced(events);
  assert.ok(events.some((e) => e.type === 'agent.error' && e.code === 'llm_error' && !e.retryable), 'the final failure was reported');
  assert.ok(events.some((e) => e.type === 'agent.turn' && e.text === degradeLines.hangup), 'the caller was told, politely');
  const ended = events.find((e) => e.type === 'call.ended');
  assert.equal(ended?.type === 'call.ended' && ended.reason, 'provider_failure');
});

test('SIGTERM drains the worker and hands the live call back: agent.left drained, the callee still on the line', async () => {
  const drainAgent = uniqueName('kc-drain-agent');
  const worker = spawn(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), [path.join(repoRoot, 'workers', 'media.ts')], {
    // No metrics server: the stack's media worker holds the default port.
    env: { ...process.env, MEDIA_AGENT_NAME: drainAgent, MEDIA_WORKER_HTTP_PORT: await freePortForChild(), MEDIA_WORKER_METRICS_PORT: '0', MEDIA_DRAIN_TIMEOUT_MS: '2000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
  after(() => {
    if (worker.exitCode === null) worker.kill('SIGKILL');
  });
  let output = '';
  worker.stdout.on('data', (d: Buffer) => (output += d.toString()));
  worker.stderr.on('data', (d: Buffer) => (output += d.toString()));
  await waitFor(() => output.includes('media worker registered'), 30_000, `worker never registered:\n${output.slice(-2000)}`);

  const { callId, roomName } = await startCall({}, undefined, drainAgent);
  const caller = await joinCaller(roomName);
  after(() => caller.leave().catch(() => undefined));
  assert.ok(await caller.waitForAgentSpeech({ timeoutMs: 15_000 }), 'the call is live');

  worker.kill('SIGTERM');
  await waitForEvent(callId, (e) => e.type === 'agent.left', 20_000, 'agent.left after SIGTERM');
  const events = await eventsOf(callId);
  const left = events.find((e) => e.type === 'agent.left');
  assert.equal(left?.type === 'agent.left' && left.reason, 'drained');
  assert.ok(!events.some((e) => e.type === 'call.ended'), 'handing back does not end the call');
  const present = (await rooms.listParticipants(roomName)).map((p) => p.identity);
  assert.ok(present.includes('callee'), 'the callee is still on the line, waiting for a replacement agent');
  assert.equal(await exited, 0, 'the worker exited cleanly');
});

/** Sends a control command to the call's agent and returns its acknowledgement. */
async function control(callId: string, command: unknown): Promise<ControlReply> {
  const reply = await nc.request(callControlSubject(callId), JSON.stringify(command), { timeout: 20_000 });
  return controlReplySchema.parse(reply.json());
}

test('control commands from the workflow are validated, applied and acknowledged', async (t) => {
  const { callId, roomName } = await startCall();
  const caller = await joinCaller(roomName);
  after(() => caller.leave().catch(() => undefined));
  assert.ok(await caller.waitForAgentTurn({ timeoutMs: 15_000 }), 'the greeting finished');

  const bad = await control(callId, { command: 'say', text: '' });
  assert.ok(!bad.ok && /text/.test(bad.error), 'an invalid command is refused, naming the field');

  const sayAt = caller.now();
  assert.deepEqual(await control(callId, { command: 'say', text: 'Just a moment while I check that for you.' }), { ok: true });
  assert.ok(await caller.waitForAgentSpeech({ afterMs: sayAt, timeoutMs: 10_000 }), 'the caller heard the line');

  assert.ok(await caller.waitForAgentTurn({ afterMs: sayAt, timeoutMs: 15_000 }));
  const noticeAt = caller.now();
  assert.deepEqual(await control(callId, { command: 'transfer_notice', text: 'I am transferring you to a specialist now.' }), { ok: true });
  const ackAt = caller.now();
  assert.ok(await caller.waitForAgentTurn({ afterMs: noticeAt, timeoutMs: 10_000 }), 'the notice was heard');
  const notice = caller.report().agentSegments.find((seg) => seg.startMs >= noticeAt);
  assert.ok(notice?.endMs !== undefined);
  t.diagnostic(`notice heard ${notice.startMs - noticeAt}..${notice.endMs - noticeAt} ms after the command; acknowledged at ${ackAt - noticeAt} ms`);
  // Acknowledged once the agent has played it out: only the audio still in flight to the
  // caller (WebRTC and playout, about 0.5 s here) may arrive after the acknowledgement.
  assert.ok(ackAt >= notice.endMs - 800, 'transfer_notice is acknowledged only after it was spoken');

  assert.deepEqual(await control(callId, { command: 'hangup', reason: 'transferred' }), { ok: true });
  await waitForEvent(callId, (e) => e.type === 'agent.left', 15_000, 'agent.left after hangup');
  const events = await eventsOf(callId);
  assertSequenced(events);
  const texts = events.filter((e) => e.type === 'agent.turn').map((e) => (e.type === 'agent.turn' ? e.text : ''));
  assert.ok(texts.includes('Just a moment while I check that for you.') && texts.includes('I am transferring you to a specialist now.'));
  const ended = events.find((e) => e.type === 'call.ended');
  assert.equal(ended?.type === 'call.ended' && ended.reason, 'transferred');
});
