/**
 * `npm run demo`: brings the stack up and places one real call through it, end to end.
 * SIPp plays the callee on loopback and speaks a scripted conversation over RTP; the call
 * goes: call workflow → compliance → room + media agent → SIP gateway → SIP INVITE → SIPp
 * answers → the agent greets, listens (Deepgram simulator), answers (OpenAI simulator),
 * speaks (Aura simulator) → every turn through NATS and the event bridge into the
 * workflow → hang-up → post-call analysis → PostgreSQL. Prints the call's story and where
 * to read it in the Temporal UI.
 */
import { once } from 'node:events';
import { connect } from '@nats-io/transport-node';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { dispose } from '@livekit/rtc-node';
import { maskPhone, createLogger } from './logger.js';
import { createDb } from './db/schema.js';
import { startSipp } from './sipp.js';
import { stackUp } from './stack/stack.js';
import { renderCalleeScript } from '../media/simulators/callee-audio.js';
import { startEventBridge } from '../workers/event-bridge.js';
import { createMediaServer, stopMediaServer } from '../workers/media.js';
import { createOrchestrationWorker } from '../workers/orchestration.js';
import { outboundCallWorkflow } from '../workflows/call/outbound.js';
import type { OutboundCallInput } from '../workflows/call/types.js';
import { callWorkflowId } from '../workflows/ids.js';
import { callStatusQuery } from '../workflows/messages.js';

const say = (line = '') => console.log(line);

// The demo tells its own story; the workers (and the media jobs they fork, which read
// the environment) only speak up when something is wrong.
Runtime.install({ logger: new DefaultLogger('WARN') });
process.env.KICKCALL_LOG_LEVEL = 'warn';

say('Kickcall demo: one AI voice call through the real stack\n');
const stackConfig = await stackUp((line) => say(line));
const config = { ...stackConfig, logLevel: 'warn' as const };
const run = new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14);
const agentName = `kickcall-demo-agent-${run}`;
const taskQueue = `kickcall-demo-${run}`;

// The callee: SIPp answers on its own loopback port and speaks four lines, tone-coded so
// the Deepgram simulator can transcribe them.
say('\nPreparing the callee (SIPp) and its lines...');
const calleeAudio = await renderCalleeScript(['who_is_this', 'ask_price', 'callback_tomorrow', 'thanks_bye'], { gapMs: 7000 });
const sipp = await startSipp({ scenario: 'uas-talk', host: config.host, port: 5070, mediaPort: 16_070, timeoutS: 120, files: { 'callee.pcmu': calleeAudio } });

const nc = await connect({ servers: config.nats.url, name: 'kickcall-demo' });
const db = createDb(config.postgres.url, { maxConnections: 4 });
const connection = await Connection.connect({ address: config.temporal.address });
const client = new Client({ connection, namespace: config.temporal.namespace });
const media = createMediaServer({ ...config, media: { ...config.media, agentName } }, { port: 18_081, production: false, idleProcesses: 0 });
const registered = once(media.event, 'worker_registered');
const mediaRunning = media.run();
await registered;
const bridge = await startEventBridge({ nc, temporal: client, db, log: createLogger('event-bridge', 'warn'), durableName: `demo-bridge-${run}` });
const { worker, close } = await createOrchestrationWorker(config, { taskQueue, agentName });

const input: OutboundCallInput = {
  tenantId: 'demo',
  contactId: `c${run}`,
  attempt: 1,
  callTo: '+15550100001',
  trunk: { address: sipp.address, numbers: ['+15550100000'] },
  contact: { timeZone: 'UTC', consent: true },
  // Always open, so the demo works at any hour.
  window: { start: '00:00', end: '23:59' },
  agent: {
    instructions: 'You are Alex from Kickcall Energy, offering a free quote. Be brief and friendly.',
    greeting: 'Hi, this is Alex from Kickcall Energy. Do you have a minute for a free quote?',
  },
  limits: { ringingTimeoutS: 15, maxDurationS: 120, silenceTimeoutS: 20 },
  analysis: {
    goal: 'Book a free energy quote',
    fields: { interest: { type: 'enum', description: 'How interested the callee is', values: ['high', 'medium', 'low'] } },
  },
};
const workflowId = callWorkflowId(input);
say(`Callee: SIPp answering on sip:${sipp.address} (number ${maskPhone(input.callTo)})`);

let exitCode = 0;
try {
  say(`\nCall workflow ${workflowId} started; dialling...`);
  const result = await worker.runUntil(async () => {
    const handle = await client.workflow.start(outboundCallWorkflow, {
      workflowId,
      taskQueue,
      args: [input],
      staticSummary: 'Demo call: energy quote',
      staticDetails: 'Dials SIPp on loopback through the SIP gateway; the callee speaks a scripted conversation.',
    });
    // Follow the call as an operator would: its live status, by query.
    let last = '';
    let inflight: Promise<void> = Promise.resolve();
    const watch = setInterval(() => {
      inflight = handle
        .query(callStatusQuery)
        .then((s) => {
          const line = `  ${s.status}${s.turns ? ` · ${s.turns} turns` : ''}`;
          if (line !== last) say((last = line));
        })
        .catch(() => undefined);
    }, 250);
    try {
      return await handle.result();
    } finally {
      clearInterval(watch);
      // Queries are answered by a worker: let the last one finish while this one runs.
      await inflight;
    }
  });

  const turns = await db.selectFrom('call_turns').select(['role', 'text']).where('call_id', '=', workflowId).orderBy('seq').execute();
  const analysis = await db.selectFrom('call_analyses').selectAll().where('call_id', '=', workflowId).executeTakeFirst();
  const callbacks = await db.selectFrom('call_callbacks').select('requested_when').where('call_id', '=', workflowId).execute();
  const verdict = await Promise.race([sipp.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000))]);

  say('\nThe conversation');
  for (const t of turns) say(`  ${t.role === 'agent' ? 'agent ' : 'callee'}  ${t.text}`);
  say('\nWhat happened');
  say(`  disposition      ${result.disposition} (${result.endReason})`);
  if (result.durationMs !== undefined) say(`  duration         ${(result.durationMs / 1000).toFixed(1)} s, ${result.turns} turns, ${result.agents} agent(s)`);
  if (callbacks.length) say(`  callback asked   ${callbacks.map((c) => c.requested_when).join(', ')}`);
  if (analysis?.status === 'ok') {
    say(`  analysis         ${analysis.summary}`);
    say(`                   sentiment ${analysis.sentiment}, goal met ${analysis.goal_met ? 'yes' : 'no'}, fields ${JSON.stringify(analysis.fields)}`);
  } else {
    say(`  analysis         ${analysis ? `failed: ${analysis.error}` : 'none'}`);
  }
  say(`  callee (SIPp)    ${verdict === undefined ? 'still running' : verdict.code === 0 ? 'scenario completed: answered, talked, BYE received' : `scenario failed (exit ${verdict.code})`}`);
  say('\nWhere to look');
  say(`  Temporal UI      ${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows/${workflowId}`);
  say(`  stack status     npm run stack:status`);
  say(`  gateway log      npm run stack:logs -- sip-gateway`);
  if (result.disposition !== 'completed' || analysis?.status !== 'ok' || verdict?.code !== 0) exitCode = 1;
} finally {
  await sipp.stop();
  await close();
  await bridge.stop();
  await stopMediaServer(media, 5_000);
  await mediaRunning;
  await nc.drain();
  await db.destroy();
  await connection.close();
  await dispose();
}
process.exitCode = exitCode;
