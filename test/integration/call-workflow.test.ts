/**
 * The call workflow's decisions on the real Temporal dev server, with scripted activities
 * (testing layer 2): every outcome and its retry decision, the compliance gate, tool
 * requests, agent loss, limits, and events delivered twice or out of order. The test plays
 * the event bridge and LiveKit's webhooks by signalling as they do.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/activity';
import { lines } from '../../workflows/call/conversation.js';
import { replacementSeqBand } from '../../workflows/call/state.js';
import { FailureType } from '../../workflows/errors.js';
import type { CallResult, OutboundCallInput } from '../../workflows/call/types.js';
import { outboundCallWorkflow } from '../../workflows/call/outbound.js';
import { calleeIdentityFor, callWorkflowId } from '../../workflows/ids.js';
import { callEventSignal, callStatusQuery, hangUpUpdate, roomEventSignal, type CallEventSignal } from '../../workflows/messages.js';
import { waitFor } from '../helpers/async.js';
import { saveHistoryIfRecording } from '../helpers/histories.js';
import { uniqueName } from '../helpers/env.js';
import { fakeCallActivities, type FakeCallScript } from '../helpers/fake-call-activities.js';
import { temporalClient, withWorker } from '../helpers/temporal.js';

let client: Client;
let close: () => Promise<void>;
before(async () => ({ client, close } = await temporalClient()));
after(() => close());

function callInput(overrides: Partial<OutboundCallInput> = {}): OutboundCallInput {
  return {
    tenantId: 'acme',
    contactId: uniqueName('c').replace(/[^A-Za-z0-9-]/g, '').slice(-30),
    attempt: 1,
    callTo: '+15550100001',
    trunk: { address: '127.0.0.1:5999', numbers: ['+15550100000'] },
    // Always inside the window, whatever the time of day the test runs.
    contact: { timeZone: 'UTC', consent: true },
    window: { start: '00:00', end: '23:59' },
    agent: { instructions: 'You are Ava from Acme Dental.', greeting: 'Hi, this is Ava from Acme Dental.' },
    limits: { silenceTimeoutS: 20, maxDurationS: 120 },
    ...overrides,
  };
}

const ts = () => new Date().toISOString();
const ev = {
  joined: (seq: number, identity = 'agent-AJ_1'): CallEventSignal => ({ seq, ts: ts(), type: 'agent.joined', workerId: 'w', resumed: seq > 1, participantIdentity: identity }),
  agentTurn: (seq: number): CallEventSignal => ({ seq, ts: ts(), type: 'agent.turn', chars: 30, interrupted: false }),
  userTurn: (seq: number): CallEventSignal => ({ seq, ts: ts(), type: 'user.turn', chars: 12 }),
  tool: (seq: number, name: Extract<CallEventSignal, { type: 'tool.requested' }>['name'], args: Record<string, unknown> = {}): CallEventSignal => ({
    seq,
    ts: ts(),
    type: 'tool.requested',
    toolCallId: `t${seq}`,
    name,
    args,
  }),
  ended: (seq: number, reason: string): CallEventSignal => ({ seq, ts: ts(), type: 'call.ended', reason }),
  left: (seq: number, reason: 'call_ended' | 'drained' | 'error' | 'participant_left'): CallEventSignal => ({ seq, ts: ts(), type: 'agent.left', reason }),
};

/** Runs one call workflow against scripted activities; `during` plays the bridge. */
async function runCall(
  input: OutboundCallInput,
  script: FakeCallScript,
  during: (handle: WorkflowHandle<typeof outboundCallWorkflow>, fake: ReturnType<typeof fakeCallActivities>) => Promise<void> = () => Promise.resolve(),
): Promise<{ result: CallResult; fake: ReturnType<typeof fakeCallActivities>; workflowId: string }> {
  const fake = fakeCallActivities(script);
  const workflowId = callWorkflowId(input);
  const result = await withWorker(fake.activities, async (taskQueue) => {
    const handle = await client.workflow.start(outboundCallWorkflow, { workflowId, taskQueue, args: [input] });
    await during(handle, fake);
    const result = await handle.result();
    await saveHistoryIfRecording(handle, `call-${historyName(input)}`);
    return result;
  });
  return { result, fake, workflowId };
}

let currentTest = '';
beforeEach((t) => {
  currentTest = t.name;
});

/** A file name for the scenario's saved history: the running test's name, shortened. */
function historyName(input: OutboundCallInput): string {
  return (currentTest || input.contactId).toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 60).replace(/-+$/, '');
}

/** Waits until the callee answered (the workflow reports in_progress). */
async function answered(handle: WorkflowHandle): Promise<void> {
  await waitFor(async () => (await handle.query(callStatusQuery)).status === 'in_progress', 10_000, 'the call was never answered');
}

async function signalAll(handle: WorkflowHandle, events: CallEventSignal[]): Promise<void> {
  for (const e of events) await handle.signal(callEventSignal, e);
}

test('an answered conversation: compliance, room, agent, dial, turns, hang-up, analysis, domain events, in that order', async () => {
  const { result, fake, workflowId } = await runCall(callInput(), {}, async (h) => {
    await answered(h);
    await signalAll(h, [ev.joined(1), ev.agentTurn(2), ev.userTurn(3), ev.agentTurn(4), ev.tool(5, 'end_call', { reason: 'done' }), ev.ended(6, 'end_call'), ev.left(7, 'call_ended')]);
  });
  assert.equal(result.disposition, 'completed');
  assert.equal(result.endReason, 'end_call');
  assert.equal(result.turns, 3);
  assert.equal(result.agents, 1);
  assert.deepEqual(result.analysis, { status: 'ok', summary: 'The caller agreed to a check-up.', sentiment: 'positive', goalMet: true });
  assert.deepEqual(result.retry, { retry: false });
  const order = fake.names().filter((n) => ['checkCompliance', 'createRoom', 'dispatchAgent', 'dialCallee', 'hangUp', 'analyzeCall'].includes(n));
  assert.deepEqual(order, ['checkCompliance', 'createRoom', 'dispatchAgent', 'dialCallee', 'hangUp', 'analyzeCall']);
  assert.deepEqual(fake.calls('emitDomainEvent').map((e) => e.type), ['call.started', 'call.answered', 'call.ended', 'call.analyzed']);
  const dial = fake.calls('dialCallee')[0];
  assert.equal(dial?.participantIdentity, calleeIdentityFor(workflowId));
  assert.equal(dial?.ringingTimeoutMs, 30_000, 'the ringing timeout is set explicitly');
  const dispatched = fake.calls('dispatchAgent')[0] as { config: Record<string, unknown> };
  assert.equal(JSON.stringify(dispatched.config).includes('+1555'), false, 'no phone number reaches the agent');
  assert.equal(fake.calls('updateCall').at(-1)?.disposition, 'completed');
});

test('an analysis that fails outright leaves the call completed, its analysis marked failed', async () => {
  const { result, fake } = await runCall(callInput(), { analysis: 'throws' }, async (h) => {
    await answered(h);
    await signalAll(h, [ev.joined(1), ev.userTurn(2), ev.agentTurn(3), ev.ended(4, 'end_call'), ev.left(5, 'call_ended')]);
  });
  assert.equal(result.disposition, 'completed');
  assert.equal(result.analysis?.status, 'failed');
  assert.match(String(result.analysis?.error), /no transcript/);
  assert.deepEqual(fake.calls('emitDomainEvent').map((e) => e.type), ['call.started', 'call.answered', 'call.ended', 'call.analyzed']);
});

test('busy → a second attempt after the configured delay → answered; the attempts are linked', async () => {
  const input = callInput({ retry: { busy: { maxAttempts: 2, delayS: 1 } } });
  const fake = fakeCallActivities({ dial: (n) => (n === 1 ? 'busy' : 'answered') });
  const first = callWorkflowId(input);
  const second = callWorkflowId({ ...input, attempt: 2 });
  const { firstResult, secondResult } = await withWorker(fake.activities, async (taskQueue) => {
    const handle = await client.workflow.start(outboundCallWorkflow, { workflowId: first, taskQueue, args: [input] });
    const firstResult = await handle.result();
    const next = client.workflow.getHandle<typeof outboundCallWorkflow>(second);
    await answered(next);
    await signalAll(next, [ev.joined(1), ev.agentTurn(2), ev.ended(3, 'caller_hung_up')]);
    return { firstResult, secondResult: await next.result() };
  });
  assert.equal(firstResult.disposition, 'busy');
  assert.equal(firstResult.sipStatusCode, 486);
  assert.deepEqual(firstResult.retry, { retry: true, nextAttempt: 2, delayMs: 1000 });
  assert.equal(firstResult.nextAttemptId, second);
  assert.equal(secondResult.disposition, 'completed');
  assert.deepEqual(secondResult.retry, { retry: false });
  const dialTimes = fake.log.filter((c) => c.name === 'dialCallee');
  assert.equal(dialTimes.length, 2, 'dialled exactly twice');
});

for (const [outcome, disposition, retry] of [
  ['no_answer', 'no_answer', { retry: false }],
  ['rejected', 'rejected', { retry: false }],
  ['failed', 'failed', { retry: true, nextAttempt: 2, delayMs: 120_000 }],
] as const) {
  test(`${outcome}: disposition ${disposition}, retry decision reported, the room torn down`, async () => {
    // A campaign schedules its own attempts: the workflow reports the decision and ends.
    const input = callInput({ campaignId: 'spring', retry: { no_answer: { maxAttempts: 1, delayS: 60 } } });
    const { result, fake } = await runCall(input, { dial: () => outcome });
    assert.equal(result.disposition, disposition);
    assert.equal(result.answered, false);
    assert.deepEqual(result.retry, retry);
    assert.equal(result.nextAttemptId, undefined);
    assert.ok(fake.names().includes('hangUp'), 'the room was deleted');
    assert.ok(!fake.names().includes('analyzeCall'));
    assert.equal(fake.calls('updateCall').at(-1)?.disposition, disposition);
  });
}

test('a number on the do-not-call list is never dialled', async () => {
  const { result, fake } = await runCall(callInput(), { dncListed: true });
  assert.equal(result.disposition, 'blocked');
  assert.equal(result.endReason, 'do_not_call');
  assert.deepEqual(fake.names().filter((n) => ['createRoom', 'dispatchAgent', 'dialCallee'].includes(n)), []);
});

test('outside the contact’s calling window the call waits, durably, without dialling', async () => {
  // A one-minute window twelve hours away in the contact's zone is certainly closed now.
  const hour = (new Date().getUTCHours() + 12) % 24;
  const start = `${String(hour).padStart(2, '0')}:00`;
  const input = callInput({ window: { start, end: `${String(hour).padStart(2, '0')}:01` } });
  const { result, fake } = await runCall(input, {}, async (h) => {
    await waitFor(async () => (await h.query(callStatusQuery)).status === 'waiting_for_window', 10_000, 'never waited for the window');
    await h.executeUpdate(hangUpUpdate, { args: [{ reason: 'operator_cancelled' }] });
  });
  assert.equal(result.disposition, 'cancelled');
  assert.equal(result.endReason, 'operator_cancelled');
  assert.ok(!fake.names().includes('dialCallee') && !fake.names().includes('checkCompliance'));
});

test('a campaign’s call started ahead of its slot waits for it before anything else, then records how late it began', async () => {
  // Ten seconds ahead: the worker is built inside `runCall`, which takes a few of them.
  const plannedAtMs = Date.now() + 10_000;
  const input = callInput({ campaignId: 'spring', plannedAtMs });
  const { result, fake } = await runCall(input, { dial: () => 'no_answer' }, async (_h, running) => {
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(running.names(), [], 'nothing is done before the slot');
  });
  assert.equal(result.disposition, 'no_answer');
  const lag = fake.calls('recordCall')[0]?.schedulingLagMs as number;
  assert.ok(lag >= 0, `the call began ${-lag} ms before its slot`);
  assert.equal(fake.calls('dialCallee').length, 1);
});

test('a hang-up while a campaign’s call waits for its slot ends it at once, undialled', async () => {
  const startedAtMs = Date.now();
  const input = callInput({ campaignId: 'spring', plannedAtMs: startedAtMs + 120_000 });
  const { result, fake } = await runCall(input, {}, async (h) => {
    await h.executeUpdate(hangUpUpdate, { args: [{ reason: 'operator_cancelled' }] });
  });
  assert.equal(result.disposition, 'cancelled');
  assert.equal(result.endReason, 'operator_cancelled');
  assert.ok(Date.now() - startedAtMs < 60_000, 'it did not wait for the slot');
  assert.ok(!fake.names().includes('dialCallee') && !fake.names().includes('checkCompliance'));
  assert.equal(fake.calls('recordCall')[0]?.schedulingLagMs, undefined, 'a call that never began has no lag');
});

test('duplicate and out-of-order events are applied once, in seq order', async () => {
  const { result, fake } = await runCall(callInput(), {}, async (h) => {
    await answered(h);
    // seq 3 (an answer) arrives before seq 2 (the opt-out), and several arrive twice.
    await signalAll(h, [
      ev.tool(3, 'record_answer', { field: 'interest', value: 'high' }),
      ev.joined(1),
      ev.joined(1),
      ev.tool(2, 'do_not_call'),
      ev.tool(3, 'record_answer', { field: 'interest', value: 'high' }),
      ev.userTurn(4),
      ev.userTurn(4),
      ev.ended(5, 'do_not_call'),
    ]);
  });
  assert.equal(result.turns, 1, 'the duplicated turn counted once');
  assert.equal(result.disposition, 'opted_out');
  const decisions = fake.names().filter((n) => n === 'addToDoNotCall' || n === 'recordAnswer');
  assert.deepEqual(decisions, ['addToDoNotCall', 'recordAnswer'], 'seq 2 acted on before seq 3, each once');
  const optOut = fake.calls('addToDoNotCall')[0];
  assert.equal(optOut?.callTo, '+15550100001');
  assert.equal(optOut?.tenantId, 'acme');
});

test('a lost event does not stall the call: the gap is skipped after a moment', async () => {
  const { result } = await runCall(callInput(), {}, async (h) => {
    await answered(h);
    await signalAll(h, [ev.joined(1), ev.userTurn(3), ev.ended(4, 'end_call')]);
  });
  assert.equal(result.endReason, 'end_call');
  assert.equal(result.turns, 1);
});

test('media worker lost mid-call: a new agent is dispatched with the seq to continue from, and the call completes', async () => {
  const { result, fake } = await runCall(callInput(), {}, async (h, live) => {
    await answered(h);
    await signalAll(h, [ev.joined(1, 'agent-AJ_first'), ev.agentTurn(2), ev.userTurn(3)]);
    // LiveKit reports the agent gone (its process was killed: no agent.left of its own).
    await h.signal(roomEventSignal, { eventId: 'EV_1', event: 'participant_left', roomName: 'x', participantIdentity: 'agent-AJ_first', participantKind: 'agent', atMs: Date.now() });
    await waitFor(() => live.calls('dispatchAgent').length === 2, 15_000, 'no replacement agent was dispatched');
    // The replacement numbers its events past the band kept for its predecessor's last ones.
    const next = 4 + replacementSeqBand;
    await signalAll(h, [ev.joined(next, 'agent-AJ_second'), ev.agentTurn(next + 1), ev.ended(next + 2, 'end_call')]);
  });
  assert.equal(result.disposition, 'completed');
  assert.equal(result.agents, 2);
  assert.equal(result.turns, 3);
  const [firstAgent, secondAgent] = fake.calls('dispatchAgent');
  assert.equal(firstAgent?.generation, 0);
  assert.equal(secondAgent?.generation, 1);
  assert.equal(secondAgent?.minNextSeq, 4, 'the new agent continues after the last event seen');
  assert.equal(fake.calls('dialCallee').length, 1, 'the callee was not dialled again');
});

test('an agent that drains on shutdown hands the call back: a replacement continues it', async () => {
  const { result } = await runCall(callInput(), {}, async (h, live) => {
    await answered(h);
    await signalAll(h, [ev.joined(1), ev.agentTurn(2), ev.left(3, 'drained')]);
    await waitFor(() => live.calls('dispatchAgent').length === 2, 15_000, 'no replacement agent was dispatched');
    await signalAll(h, [ev.joined(4 + replacementSeqBand, 'agent-AJ_2'), ev.ended(5 + replacementSeqBand, 'caller_hung_up')]);
  });
  assert.equal(result.agents, 2);
  assert.equal(result.endReason, 'caller_hung_up');
});

test('transfer: the caller hears the notice, then the SIP REFER goes to the configured target', async () => {
  const input = callInput({ transfer: { to: 'sip:desk@127.0.0.1:5999', label: 'a specialist' } });
  const { result, fake } = await runCall(input, { transfer: 'ok' }, async (h) => {
    await answered(h);
    await signalAll(h, [ev.joined(1), ev.userTurn(2), ev.tool(3, 'transfer_to_human', { reason: 'wants a person' })]);
  });
  assert.equal(result.disposition, 'transferred');
  const order = fake.names().filter((n) => n === 'sendControl' || n === 'transferCallee');
  assert.deepEqual(order, ['sendControl', 'transferCallee']);
  assert.equal((fake.calls('sendControl')[0]?.command as { command: string }).command, 'transfer_notice');
  assert.equal(fake.calls('transferCallee')[0]?.transferTo, 'sip:desk@127.0.0.1:5999');
  const dispatched = fake.calls('dispatchAgent')[0] as { config: { transfer: unknown } };
  assert.deepEqual(dispatched.config.transfer, { allowed: true, targetLabel: 'a specialist' });
});

test('a provider failure is left to the agent: its fallback transfer goes through; bad dispatch metadata ends the call', async () => {
  const input = callInput({ transfer: { to: 'sip:desk@127.0.0.1:5999' } });
  const failed = (seq: number, code: string): CallEventSignal => ({ seq, ts: ts(), type: 'agent.error', code, retryable: false });
  const { result, fake } = await runCall(input, { transfer: 'ok' }, async (h) => {
    await answered(h);
    // The agent reports the LLM's failure, then its fallback asks for a person.
    await signalAll(h, [ev.joined(1), ev.userTurn(2), failed(3, 'llm_error'), ev.tool(4, 'transfer_to_human', { reason: 'provider_failure' })]);
  });
  assert.equal(result.disposition, 'transferred');
  assert.equal(fake.calls('transferCallee').length, 1);

  const { result: bad } = await runCall(callInput(), {}, async (h) => {
    await answered(h);
    await signalAll(h, [failed(1, 'invalid_metadata')]);
  });
  assert.equal(bad.endReason, 'agent_error:invalid_metadata');
});

test('when no agent can keep the call (STT down for each), the fallback still applies: a transfer if configured, else a hang-up', async () => {
  const failed = (seq: number): CallEventSignal => ({ seq, ts: ts(), type: 'agent.error', code: 'stt_error', retryable: false });
  /** Each agent joins, loses its STT for good and leaves; the workflow sends the next. */
  const everyAgentFails = async (h: WorkflowHandle, live: ReturnType<typeof fakeCallActivities>) => {
    await answered(h);
    let seq = 1;
    for (let agent = 1; agent <= 3; agent++) {
      await waitFor(() => live.calls('dispatchAgent').length === agent, 15_000, `agent #${agent} was not dispatched`);
      if (agent > 1) seq += replacementSeqBand;
      await signalAll(h, [ev.joined(seq, `agent-AJ_${agent}`), failed(seq + 1), ev.left(seq + 2, 'error')]);
      seq += 3;
    }
  };
  const transferring = callInput({ agent: { ...callInput().agent, fallback: 'transfer' }, transfer: { to: 'sip:desk@127.0.0.1:5999' } });
  const { result, fake } = await runCall(transferring, { transfer: 'ok' }, everyAgentFails);
  assert.equal(result.disposition, 'transferred', 'the caller reached a person instead of being hung up on');
  assert.equal(fake.calls('transferCallee').length, 1);
  assert.equal(fake.calls('dispatchAgent').length, 3);
  const afterLast = fake.names().slice(fake.names().lastIndexOf('dispatchAgent') + 1);
  assert.deepEqual(afterLast.filter((n) => ['sendControl', 'retireAgents', 'transferCallee'].includes(n)), ['retireAgents', 'transferCallee'], 'no agent asked to announce it; whatever agent is left is removed first');

  const { result: hungUp, fake: plain } = await runCall(callInput(), {}, everyAgentFails);
  assert.equal(hungUp.endReason, 'agent_unavailable');
  assert.equal(plain.calls('transferCallee').length, 0);
});

test('a refused transfer is told to the caller and the conversation goes on', async () => {
  const input = callInput({ transfer: { to: 'sip:desk@127.0.0.1:5999' } });
  const { result, fake } = await runCall(input, { transfer: 'refused' }, async (h, live) => {
    await answered(h);
    await signalAll(h, [ev.joined(1), ev.tool(2, 'transfer_to_human', { reason: 'x' })]);
    await waitFor(() => live.calls('sendControl').length === 2, 10_000, 'the caller was not told');
    await signalAll(h, [ev.agentTurn(3), ev.ended(4, 'end_call')]);
  });
  assert.equal(result.disposition, 'completed');
  assert.deepEqual(fake.calls('sendControl')[1]?.command, { command: 'say', text: lines.transferFailed, allowInterruptions: true });
});

test('voicemail: the agent leaves its message, the disposition is voicemail and the retry policy applies', async () => {
  const input = callInput({ campaignId: 'spring', agent: { ...callInput().agent, voicemailMessage: 'Please call us back.' } });
  const { result, fake } = await runCall(input, {}, async (h) => {
    await answered(h);
    await signalAll(h, [ev.joined(1), ev.tool(2, 'voicemail_detected'), ev.agentTurn(3), ev.ended(4, 'voicemail')]);
  });
  assert.equal(result.disposition, 'voicemail');
  assert.deepEqual(result.retry, { retry: true, nextAttempt: 2, delayMs: 4 * 3600 * 1000 });
  assert.ok(!fake.names().includes('analyzeCall'), 'a voicemail greeting is not analysed');
  const dispatched = fake.calls('dispatchAgent')[0] as { config: { voicemailMessage?: string } };
  assert.equal(dispatched.config.voicemailMessage, 'Please call us back.');
});

test('callback requests and answers are recorded as they happen', async () => {
  const { fake } = await runCall(callInput(), {}, async (h) => {
    await answered(h);
    await signalAll(h, [ev.joined(1), ev.tool(2, 'schedule_callback', { when: 'tomorrow at 10' }), ev.tool(3, 'record_answer', { field: 'plan', value: 'gold' }), ev.ended(4, 'end_call')]);
  });
  assert.equal(fake.calls('recordCallback')[0]?.when, 'tomorrow at 10');
  assert.equal(fake.calls('recordCallback')[0]?.seq, 2);
  assert.equal(fake.calls('recordAnswer')[0]?.field, 'plan');
  assert.equal(fake.calls('recordAnswer')[0]?.value, 'gold');
});

test('silence: the caller is asked once whether they are there, then the call ends', async () => {
  const { result, fake } = await runCall(callInput({ limits: { silenceTimeoutS: 1, maxDurationS: 60 } }), {}, async (h, live) => {
    await answered(h);
    await signalAll(h, [ev.joined(1)]);
    await waitFor(() => live.calls('sendControl').length === 2, 10_000, 'the caller was not asked');
    // The agent speaking the prompt is not the caller answering it.
    await signalAll(h, [ev.agentTurn(2)]);
  });
  assert.equal(result.endReason, 'silence_timeout');
  const commands = fake.calls('sendControl').map((c) => c.command);
  assert.deepEqual(commands, [{ command: 'ping' }, { command: 'say', text: lines.stillThere, allowInterruptions: true }, { command: 'ping' }], 'the agent is alive, so the caller is asked, once');
  assert.equal(fake.calls('dispatchAgent').length, 1);
});

test('turns push the silence deadline back without a timer per event, and the caller is asked only after a full silence', async () => {
  let lastTurnAtMs = 0;
  let askedAtMs = 0;
  const { result, fake, workflowId } = await runCall(callInput({ limits: { silenceTimeoutS: 3, maxDurationS: 60 } }), {}, async (h, live) => {
    await answered(h);
    await signalAll(h, [ev.joined(1)]);
    await new Promise((r) => setTimeout(r, 1_000));
    // Later than the deadline the first timer was set for: that timer fires with nothing due.
    await signalAll(h, [ev.agentTurn(2), ev.userTurn(3)]);
    lastTurnAtMs = Date.now();
    await waitFor(() => live.calls('sendControl').length === 2, 10_000, 'the caller was not asked');
    askedAtMs = Date.now();
    await signalAll(h, [ev.ended(4, 'end_call')]);
  });
  assert.equal(result.endReason, 'end_call');
  const commands = fake.calls('sendControl').map((c) => (c.command as { command: string }).command);
  assert.deepEqual(commands, ['ping', 'say'], 'the agent is alive, so the caller is asked');
  assert.ok(askedAtMs - lastTurnAtMs >= 2_900, `asked ${askedAtMs - lastTurnAtMs} ms after the last turn, before a full silence`);
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const timersStarted = events.filter((e) => e.timerStartedEventAttributes).length;
  const timersCancelled = events.filter((e) => e.timerCanceledEventAttributes).length;
  // The first timer (kept through three events), the one that found the silence, and the
  // one pending when the call ended (cancelled then).
  assert.equal(timersStarted, 3, 'one timer per silence deadline reached, not one per event');
  assert.equal(timersCancelled, 1, 'no event cancelled a timer');
});

test('an agent that no longer answers (its machine died, LiveKit still lists it) is replaced after a silence', async () => {
  const fake = fakeCallActivities({ agentsInRoom: () => ['agent-AJ_1'] });
  let agentAlive = true;
  const activities = {
    ...fake.activities,
    sendControl: async (i: { command: { command: string } }) => {
      await fake.activities.sendControl(i);
      if (!agentAlive) throw ApplicationFailure.create({ type: FailureType.AgentUnavailable, message: 'the call has no live agent', nonRetryable: true });
    },
  };
  const input = callInput({ limits: { silenceTimeoutS: 1, maxDurationS: 60 } });
  const next = 2 + replacementSeqBand;
  const result = await withWorker(activities, async (taskQueue) => {
    const h = await client.workflow.start(outboundCallWorkflow, { workflowId: callWorkflowId(input), taskQueue, args: [input] });
    await answered(h);
    agentAlive = false;
    await signalAll(h, [ev.joined(1, 'agent-AJ_1')]);
    await waitFor(() => fake.calls('dispatchAgent').length === 2, 15_000, 'no replacement agent was dispatched');
    agentAlive = true;
    // The old agent was alive after all: taken out of the room, it leaves (LiveKit's
    // participant_left) and its job publishes its last events, numbered where it stopped.
    await h.signal(roomEventSignal, { eventId: 'EV_gone', event: 'participant_left', roomName: 'x', participantIdentity: 'agent-AJ_1', participantKind: 'agent', atMs: Date.now() });
    await signalAll(h, [ev.tool(2, 'do_not_call'), ev.ended(3, 'job_shutdown'), ev.left(4, 'drained')]);
    await signalAll(h, [ev.joined(next, 'agent-AJ_2'), ev.userTurn(next + 1)]);
    await waitFor(async () => (await h.query(callStatusQuery)).turns === 1, 10_000, 'the replacement’s turn was not applied');
    await signalAll(h, [ev.ended(next + 2, 'end_call')]);
    return h.result();
  });
  assert.equal(result.endReason, 'end_call', 'the superseded agent’s end of its job did not end the call');
  assert.equal(result.agents, 2);
  assert.equal(fake.calls('dispatchAgent').length, 2, 'its expected leave did not send a third agent');
  const order = fake.names().filter((n) => n === 'retireAgents' || n === 'dispatchAgent');
  assert.deepEqual(order, ['dispatchAgent', 'retireAgents', 'dispatchAgent'], 'the old agent left the room before the new one was sent');
  assert.equal(fake.calls('dispatchAgent')[1]?.seqBand, replacementSeqBand);
  assert.equal(fake.calls('addToDoNotCall').length, 1, 'the opt-out the caller made before the agent was cut off still counts');
});

test('an agent removed for a replacement whose leave arrives before its removal returns does not send a third agent', async () => {
  // The first agent never said who it is (no agent.joined), then stopped answering pings.
  const fake = fakeCallActivities({ agentsInRoom: () => ['agent-AJ_ghost'] });
  let agentAlive = false;
  let handle: WorkflowHandle | undefined;
  const activities = {
    ...fake.activities,
    sendControl: async (i: { command: { command: string } }) => {
      await fake.activities.sendControl(i);
      if (!agentAlive) throw ApplicationFailure.create({ type: FailureType.AgentUnavailable, message: 'the call has no live agent', nonRetryable: true });
    },
    // LiveKit's webhook for the removal can reach the workflow before the activity's result.
    retireAgents: async (i: { roomName: string }) => {
      const result = await fake.activities.retireAgents(i);
      await handle!.signal(roomEventSignal, { eventId: 'EV_ghost_left', event: 'participant_left', roomName: i.roomName, participantIdentity: 'agent-AJ_ghost', participantKind: 'agent', atMs: Date.now() });
      return result;
    },
  };
  const input = callInput({ limits: { silenceTimeoutS: 1, maxDurationS: 60 } });
  const result = await withWorker(activities, async (taskQueue) => {
    const h = await client.workflow.start(outboundCallWorkflow, { workflowId: callWorkflowId(input), taskQueue, args: [input] });
    handle = h;
    await answered(h);
    await waitFor(() => fake.calls('dispatchAgent').length === 2, 15_000, 'no replacement agent was dispatched');
    agentAlive = true;
    const next = 1 + replacementSeqBand;
    await signalAll(h, [ev.joined(next, 'agent-AJ_2'), ev.userTurn(next + 1)]);
    await waitFor(async () => (await h.query(callStatusQuery)).turns === 1, 10_000, 'the replacement’s turn was not applied');
    await signalAll(h, [ev.ended(next + 2, 'end_call')]);
    return h.result();
  });
  assert.equal(result.endReason, 'end_call');
  assert.equal(fake.calls('dispatchAgent').length, 2, 'the ghost’s leave did not count as the replacement’s');
  assert.equal(fake.calls('retireAgents').length, 1);
});

test('maximum duration: the call is hung up when it runs out, whatever the agent does', async () => {
  const { result, fake } = await runCall(callInput({ limits: { maxDurationS: 2, silenceTimeoutS: 30 } }), {}, async (h) => {
    await answered(h);
    await signalAll(h, [ev.joined(1), ev.agentTurn(2)]);
  });
  assert.equal(result.endReason, 'max_duration');
  assert.ok(fake.names().includes('hangUp'));
});

test('the callee hanging up ends the call (LiveKit participant_left)', async () => {
  const input = callInput();
  const { result } = await runCall(input, {}, async (h) => {
    await answered(h);
    await signalAll(h, [ev.joined(1), ev.agentTurn(2)]);
    await h.signal(roomEventSignal, { eventId: 'EV_c', event: 'participant_left', roomName: 'x', participantIdentity: calleeIdentityFor(h.workflowId), participantKind: 'sip', atMs: Date.now() });
  });
  assert.equal(result.endReason, 'caller_hung_up');
});

test('hang-up by update: validated, then the call ends at once', async () => {
  const { result } = await runCall(callInput(), {}, async (h) => {
    await answered(h);
    await assert.rejects(h.executeUpdate(hangUpUpdate, { args: [{ reason: ' ' }] }), (err: Error) => {
      const cause = err.cause as ApplicationFailure | undefined;
      // Typed, so the API can answer 400 rather than a server error.
      return cause?.type === FailureType.InvalidInput && /needs a reason/.test(String(cause.message));
    });
    assert.deepEqual(await h.executeUpdate(hangUpUpdate, { args: [{ reason: 'operator' }] }), { accepted: true });
  });
  assert.equal(result.endReason, 'operator');
  assert.equal(result.disposition, 'completed');
});

test('starting the same attempt twice never dials twice; a workflow ID that does not name the attempt is refused', async () => {
  const input = callInput();
  const fake = fakeCallActivities({});
  await withWorker(fake.activities, async (taskQueue) => {
    const workflowId = callWorkflowId(input);
    const handle = await client.workflow.start(outboundCallWorkflow, { workflowId, taskQueue, args: [input] });
    await assert.rejects(client.workflow.start(outboundCallWorkflow, { workflowId, taskQueue, args: [input] }), WorkflowExecutionAlreadyStartedError);
    await answered(handle);
    await handle.signal(callEventSignal, ev.ended(1, 'end_call'));
    await handle.result();
    await assert.rejects(
      client.workflow.start(outboundCallWorkflow, { workflowId, taskQueue, args: [input], workflowIdReusePolicy: 'REJECT_DUPLICATE' }),
      WorkflowExecutionAlreadyStartedError,
    );

    const bad = client.workflow.execute(outboundCallWorkflow, { workflowId: uniqueName('not-a-call-id'), taskQueue, args: [input] });
    await assert.rejects(bad, (err: unknown) => err instanceof WorkflowFailedError && /workflow ID must be outbound_acme_direct_/.test(String(err.cause?.message)));
  });
  assert.equal(fake.calls('dialCallee').length, 1);
});
