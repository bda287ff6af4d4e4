/**
 * Calls end to end over real SIP (testing layer 4): the outbound call workflow on the
 * Temporal dev server with the real activities (orchestration worker), the event bridge,
 * a LiveKit Agents media worker with the provider simulators, the stack's SIP gateway,
 * and SIPp as the callee speaking a scripted, tone-coded conversation over RTP.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy } from '@nats-io/jetstream';
import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { pino } from 'pino';
import { createDb, type Db } from '../../deploy/db/schema.js';
import { startSipp, type SippScenario } from '../../deploy/sipp.js';
import { renderCalleeScript } from '../../media/simulators/callee-audio.js';
import type { PhraseId } from '../../media/simulators/phrasebook.js';
import { ensureCallEventsStream } from '../../media/events/publisher.js';
import { startEventBridge, type EventBridge } from '../../workers/event-bridge.js';
import { createOrchestrationWorker } from '../../workers/orchestration.js';
import { outboundCallWorkflow } from '../../workflows/call/outbound.js';
import type { CallResult, OutboundCallInput } from '../../workflows/call/types.js';
import { callWorkflowId } from '../../workflows/ids.js';
import { config, uniqueName, testBridgeIdleMs } from '../helpers/env.js';
import { startTestMediaServer, type TestMediaServer } from '../helpers/media-server.js';
import { saveHistoryIfRecording } from '../helpers/histories.js';
import { temporalClient } from '../helpers/temporal.js';
import { disposeRtcRuntime } from '../../media/rtc-runtime.js';

const agentName = uniqueName('kc-e2e-agent');
const taskQueue = uniqueName('e2e');
const tenantId = uniqueName('e2e').replace('-', '');
let nc: NatsConnection;
let db: Db;
let client: Client;
let closeTemporal: () => Promise<void>;
let media: TestMediaServer;
let bridge: EventBridge;
let worker: Worker;
let workerRunning: Promise<void>;
let closeWorker: () => Promise<void>;

before(async () => {
  nc = await connect({ servers: config.nats.url });
  await ensureCallEventsStream(nc);
  db = createDb(config.postgres.url, { maxConnections: 4 });
  ({ client, close: closeTemporal } = await temporalClient());
  media = await startTestMediaServer(agentName, { idleProcesses: 0 });
  bridge = await startEventBridge({ nc, temporal: client, db, log: pino({ level: 'silent' }), durableName: uniqueName('e2e-bridge'), deliverPolicy: DeliverPolicy.New, removeWhenIdleMs: testBridgeIdleMs });
  ({ worker, close: closeWorker } = await createOrchestrationWorker(config, { taskQueue, agentName }));
  workerRunning = worker.run();
});

after(async () => {
  worker.shutdown();
  await workerRunning;
  await closeWorker();
  await bridge.stop();
  await media.stop();
  await db.destroy();
  await nc.close();
  await closeTemporal();
  await disposeRtcRuntime();
});

let sipPort = 5090;
let rtpPort = 16_090;

/**
 * SIPp as the callee on its own ports, saying `phrases` once the call is answered. The
 * callee lets the greeting finish first: this fixture's media server forks each job cold
 * (no warm processes, so teardown is quick), which took up to 4.5 s before the greeting
 * could start here; a first line at 6 s then talked over it. How soon the greeting comes
 * is media-agent.test.ts's business, not this test's.
 */
async function callee(scenario: SippScenario, phrases: PhraseId[] = [], gapMs?: number) {
  sipPort += 2;
  rtpPort += 4;
  const script = { leadSilenceMs: 10_000, ...(gapMs ? { gapMs } : {}) };
  const files = scenario.startsWith('uas-talk') ? { 'callee.pcmu': await renderCalleeScript(phrases, script) } : undefined;
  const sipp = await startSipp({ scenario, host: config.host, port: sipPort, mediaPort: rtpPort, timeoutS: 90, ...(files ? { files } : {}) });
  after(() => sipp.stop());
  return sipp;
}

function callInput(address: string, overrides: Partial<OutboundCallInput> = {}): OutboundCallInput {
  return {
    tenantId,
    contactId: uniqueName('c'),
    attempt: 1,
    callTo: '+15550100002',
    trunk: { address, numbers: ['+15550100000'] },
    contact: { timeZone: 'UTC', consent: true },
    window: { start: '00:00', end: '23:59' },
    agent: {
      instructions: 'You are Ava, calling from Acme Dental about a free check-up. Be brief.',
      greeting: 'Hi, this is Ava from Acme Dental. Do you have a minute?',
      voicemailMessage: 'Hi, this is Ava from Acme Dental. Please call us back. Goodbye.',
    },
    limits: { ringingTimeoutS: 10, maxDurationS: 90, silenceTimeoutS: 25 },
    analysis: { goal: 'Book a free check-up', fields: { interest: { type: 'enum', description: 'How interested the callee is', values: ['high', 'low', 'none'] } } },
    ...overrides,
  };
}

async function placeCall(input: OutboundCallInput, historyName?: string): Promise<CallResult> {
  const handle = await client.workflow.start(outboundCallWorkflow, { workflowId: callWorkflowId(input), taskQueue, args: [input] });
  const result = await handle.result();
  if (historyName) await saveHistoryIfRecording(handle, `e2e-${historyName}`);
  return result;
}

async function turnsOf(callId: string) {
  return db.selectFrom('call_turns').select(['role', 'text']).where('call_id', '=', callId).orderBy('seq').execute();
}

test('an answered conversation over SIP ends completed, with its transcript and analysis persisted', async () => {
  const sipp = await callee('uas-talk', ['not_interested']);
  const input = callInput(sipp.address);
  const result = await placeCall(input, 'answered-conversation');
  const callId = callWorkflowId(input);
  assert.equal(result.disposition, 'completed', `ended ${result.endReason}`);
  assert.equal(result.endReason, 'end_call');
  assert.equal(result.analysis?.status, 'ok');
  const turns = await turnsOf(callId);
  assert.deepEqual(turns.slice(0, 2), [
    { role: 'agent', text: input.agent.greeting },
    { role: 'user', text: 'No thanks, I am not interested. Goodbye.' },
  ]);
  const analysis = await db.selectFrom('call_analyses').selectAll().where('call_id', '=', callId).executeTakeFirstOrThrow();
  assert.equal(analysis.status, 'ok');
  assert.ok(analysis.summary && analysis.summary.length > 0);
  assert.ok(['high', 'low', 'none'].includes((analysis.fields as { interest: string }).interest));
  const row = await db.selectFrom('calls').selectAll().where('id', '=', callId).executeTakeFirstOrThrow();
  assert.equal(row.disposition, 'completed');
  assert.ok(row.answered_at && row.ended_at);
  const events = await db.selectFrom('domain_events').select('type').where('call_id', '=', callId).orderBy('occurred_at').execute();
  assert.deepEqual(events.map((e) => e.type).sort(), ['call.analyzed', 'call.answered', 'call.ended', 'call.started']);
  const verdict = await sipp.exited;
  assert.equal(verdict.code, 0, `SIPp: answered, talked, got our BYE:\n${verdict.output.slice(-800)}`);
});

test('opt-out over SIP: the number goes on the tenant’s do-not-call list at once, and the next dial to it is blocked', async () => {
  const sipp = await callee('uas-talk', ['do_not_call']);
  const input = callInput(sipp.address, { callTo: '+15550100077' });
  const result = await placeCall(input, 'opt-out');
  assert.equal(result.disposition, 'opted_out');
  const listed = await db.selectFrom('do_not_call').selectAll().where('tenant_id', '=', tenantId).where('phone_e164', '=', '+15550100077').executeTakeFirst();
  assert.ok(listed, 'the number is on the list');
  const next = await placeCall({ ...input, contactId: uniqueName('c2') });
  assert.equal(next.disposition, 'blocked');
  assert.equal(next.endReason, 'do_not_call');
});

test('voicemail over SIP: the agent leaves the message and the disposition is voicemail', async () => {
  const sipp = await callee('uas-talk', ['voicemail_greeting']);
  const input = callInput(sipp.address, { campaignId: 'spring' });
  const result = await placeCall(input, 'voicemail');
  assert.equal(result.disposition, 'voicemail');
  assert.equal(result.retry.retry, true, 'the voicemail retry policy applies');
  const turns = await turnsOf(callWorkflowId(input));
  assert.ok(turns.some((t) => t.role === 'agent' && t.text === input.agent.voicemailMessage), 'the message was left');
});

test('transfer over SIP: the caller hears the notice, then SIPp receives the REFER to the configured target', async () => {
  const sipp = await callee('uas-talk-refer', ['ask_human']);
  const input = callInput(sipp.address, { transfer: { to: 'sip:frontdesk@127.0.0.1:5999', label: 'our front desk' } });
  const result = await placeCall(input, 'transfer');
  assert.equal(result.disposition, 'transferred', `ended ${result.endReason}`);
  const refer = /REFER [^\n]*\n(?:[^\n]+\n)*?Refer-To: *<?([^>\r\n]+)/i.exec(sipp.messages());
  assert.equal(refer?.[1], 'sip:frontdesk@127.0.0.1:5999');
  const verdict = await sipp.exited;
  assert.equal(verdict.code, 0, verdict.output.slice(-800));
});

test('busy and no answer over SIP: the real SIP outcomes map to their dispositions and retry decisions', async () => {
  const busy = await callee('uas-busy');
  const busyResult = await placeCall(callInput(busy.address, { campaignId: 'spring' }), 'busy');
  assert.equal(busyResult.disposition, 'busy');
  assert.equal(busyResult.sipStatusCode, 486);
  assert.equal(busyResult.retry.retry, true);

  const silent = await callee('uas-no-answer');
  const noAnswer = await placeCall(callInput(silent.address, { campaignId: 'spring', limits: { ringingTimeoutS: 2 } }));
  assert.equal(noAnswer.disposition, 'no_answer');
});
