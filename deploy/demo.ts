/**
 * `npm run demo`: brings the stack up and runs a small campaign end to end over real SIP.
 * A dozen contacts, one campaign workflow, one call workflow per attempt: compliance →
 * room + media agent → SIP gateway → SIP INVITE → SIPp answers as the persona the number
 * picks (interested, not interested, do-not-call, busy) and speaks over RTP → the agent
 * listens (Deepgram simulator), answers (OpenAI simulator), speaks (Aura simulator) →
 * every turn through NATS and the event bridge into the call workflow → hang-up →
 * analysis → the outcome back to the campaign, which redials busy lines by its policy.
 * Shows a progress bar, then dispositions, costs and latencies, and where to look.
 */
import { once } from 'node:events';
import { DeliverPolicy } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { sql } from 'kysely';
import { auditCampaign } from '../bench/campaign/audit.js';
import { seedCampaign, seedTrunk } from '../bench/campaign/fixtures.js';
import { createLogger } from './logger.js';
import { createDb } from './db/schema.js';
import { startSipp } from './sipp.js';
import { stackUp } from './stack/stack.js';
import { ensureCallEventsStream } from '../media/events/publisher.js';
import { callEventsStream } from '../media/events/subjects.js';
import { renderCalleeScript } from '../media/simulators/callee-audio.js';
import { startEventBridge } from '../workers/event-bridge.js';
import { createMediaServer, stopMediaServer } from '../workers/media.js';
import { createOrchestrationWorker } from '../workers/orchestration.js';
import { campaignWorkflow } from '../workflows/campaign/campaign.js';
import { campaignStatsQuery } from '../workflows/campaign/messages.js';
import type { CampaignConfig, CampaignStats } from '../workflows/campaign/types.js';
import { campaignWorkflowId } from '../workflows/ids.js';
import { disposeRtcRuntime } from '../media/rtc-runtime.js';

const say = (line = '') => console.log(line);

// The demo tells its own story; the workers (and the media jobs they fork, which read
// the environment) only speak up when something is wrong.
Runtime.install({ logger: new DefaultLogger('ERROR') });
process.env.KICKCALL_LOG_LEVEL = 'warn';
// @livekit/rtc-node logs at debug level unless NODE_ENV is production, and the media jobs
// write to this terminal: without this, its connection chatter splits the progress bar.
process.env.NODE_ENV ??= 'production';

say('Kickcall demo: a small AI calling campaign through the real stack\n');
const stackConfig = await stackUp((line) => say(line));
const config = { ...stackConfig, logLevel: 'warn' as const };
const run = new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14);
const agentName = `kickcall-demo-agent-${run}`;
const taskQueue = `kickcall-demo-${run}`;
const tenantId = 'demo';
const campaignId = `demo-${run}`;

// The callees: one SIPp answers every call; the number's last digit picks the persona.
say('\nPreparing the callees (SIPp) and what each persona says...');
// Each persona waits for the greeting to finish before speaking, and leaves room for replies.
const script = { leadSilenceMs: 7000, gapMs: 7000 };
const sipp = await startSipp({
  scenario: 'uas-personas',
  host: config.host,
  port: 5070,
  mediaPort: 16_070,
  maxCalls: 100,
  timeoutS: 900,
  files: {
    'interested.pcmu': await renderCalleeScript(['ask_price', 'callback_tomorrow', 'thanks_bye'], script),
    'not_interested.pcmu': await renderCalleeScript(['not_interested'], script),
    'do_not_call.pcmu': await renderCalleeScript(['do_not_call'], script),
  },
});
/** What deploy/sipp/uas-personas.xml plays for a number ending in each digit. */
const personaByLastDigit = ['interested', 'not interested', 'busy', 'do-not-call', 'interested', 'not interested', 'busy', 'do-not-call', 'interested', 'not interested'];

const nc = await connect({ servers: config.nats.url, name: 'kickcall-demo' });
const db = createDb(config.postgres.url, { maxConnections: 4 });
const connection = await Connection.connect({ address: config.temporal.address });
const client = new Client({ connection, namespace: config.temporal.namespace });
// Warm job processes (MEDIA_IDLE_PROCESSES), as deployed: a call that had to wait for a
// cold process would miss its greeting window and the callee's first line. The agents'
// warnings (on 2 cores, mostly "VAD inference is slower than realtime") would bury the
// progress bar; errors still show.
const media = createMediaServer({ ...config, logLevel: 'error', media: { ...config.media, agentName } }, { port: 18_081 });
const registered = once(media.event, 'worker_registered');
const mediaRunning = media.run();
await registered;
// The demo's own consumer starts at new events: the stream may hold every call the stack
// has carried (tests, benchmarks), which it has no business replaying. It is deleted at the
// end, or by NATS 5 minutes after a demo that died stopped pulling.
const bridgeDurable = `demo-bridge-${run}`;
const bridge = await startEventBridge({ nc, temporal: client, db, log: createLogger('event-bridge', 'warn'), durableName: bridgeDurable, deliverPolicy: DeliverPolicy.New, removeWhenIdleMs: 5 * 60_000 });
const { worker, close } = await createOrchestrationWorker(config, { taskQueue, agentName });

const campaignConfig: CampaignConfig = {
  agent: {
    instructions: 'You are Alex from Kickcall Energy, offering a free quote. Be brief and friendly.',
    greeting: 'Hi, this is Alex from Kickcall Energy. Do you have a minute for a free quote?',
  },
  trunkId: `sipp-${run}`,
  // Always open, so the demo works at any hour.
  window: { start: '00:00', end: '23:59' },
  callsPerSecond: 1,
  // Two real-time calls at once: each runs voice activity detection, STT, LLM and TTS on
  // this machine's two cores next to the whole stack.
  maxConcurrentCalls: 2,
  retry: { busy: { maxAttempts: 2, delayS: 10 }, no_answer: { maxAttempts: 2, delayS: 10 }, failed: { maxAttempts: 2, delayS: 10 } },
  limits: { ringingTimeoutS: 15, maxDurationS: 120, silenceTimeoutS: 20 },
  analysis: {
    goal: 'Book a free energy quote',
    fields: { interest: { type: 'enum', description: 'How interested the callee is', values: ['high', 'medium', 'low'] } },
  },
  budgetUsd: 5,
};
const contacts = Array.from({ length: 12 }, (_, i) => ({ id: `contact-${i + 1}`, phone: `+1555010${String(1000 + i).padStart(4, '0')}` }));
await seedTrunk(db, tenantId, { id: `sipp-${run}`, address: sipp.address, maxCallsPerSecond: 2, maxChannels: 2 });
await seedCampaign(db, tenantId, campaignId, campaignConfig, contacts);
say(`Campaign ${campaignId}: ${contacts.length} contacts, 1 call per second, 2 at a time, busy lines redialled after 10 s`);
for (const c of contacts) say(`  ${c.id.padEnd(11)} ${personaByLastDigit[Number(c.phone.at(-1))]}`);

const bar = (s: CampaignStats) => {
  const total = s.contacts?.total ?? contacts.length;
  const done = (s.contacts?.done ?? 0) + (s.contacts?.cancelled ?? 0);
  const width = 24;
  const filled = Math.round((done / total) * width);
  return `  [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} done · ${s.inFlight} on the phone · ${s.dials} dials · $${s.costUsd.toFixed(3)}`;
};

let exitCode = 0;
try {
  say('\nDialling...');
  const result = await worker.runUntil(async () => {
    const handle = await client.workflow.start(campaignWorkflow, {
      workflowId: campaignWorkflowId(tenantId, campaignId),
      taskQueue,
      args: [{ tenantId, campaignId, config: campaignConfig }],
      staticSummary: 'Demo campaign: energy quotes',
    });
    let last = '';
    let inflight: Promise<void> = Promise.resolve();
    const watch = setInterval(() => {
      inflight = handle
        .query(campaignStatsQuery)
        .then((s) => {
          const line = bar(s);
          if (line !== last) say((last = line));
        })
        .catch(() => undefined);
    }, 1000);
    try {
      return await handle.result();
    } finally {
      clearInterval(watch);
      await inflight;
    }
  });

  const calls = await db
    .selectFrom('calls')
    .select(['disposition', sql<number>`count(*)::int`.as('n'), sql<number>`coalesce(sum(cost_usd), 0)`.as('cost'), sql<number>`coalesce(avg(extract(epoch from (ended_at - answered_at))), 0)`.as('talkS')])
    .where('campaign_id', '=', campaignId)
    .groupBy('disposition')
    .orderBy('n', 'desc')
    .execute();
  const latency = await db
    .selectFrom('call_turn_metrics')
    .innerJoin('calls', 'calls.id', 'call_turn_metrics.call_id')
    .select([
      sql<number>`percentile_cont(0.5) within group (order by voice_to_voice_ms)`.as('v2vP50'),
      sql<number>`percentile_cont(0.95) within group (order by voice_to_voice_ms)`.as('v2vP95'),
      sql<number>`percentile_cont(0.5) within group (order by eou_delay_ms)`.as('eouP50'),
      sql<number>`percentile_cont(0.5) within group (order by llm_ttft_ms)`.as('ttftP50'),
      sql<number>`percentile_cont(0.5) within group (order by tts_ttfb_ms)`.as('ttfbP50'),
      sql<number>`count(*)::int`.as('turns'),
    ])
    .where('calls.campaign_id', '=', campaignId)
    .executeTakeFirst();
  const callbacks = await db.selectFrom('call_callbacks').innerJoin('calls', 'calls.id', 'call_callbacks.call_id').select(sql<number>`count(*)::int`.as('n')).where('calls.campaign_id', '=', campaignId).executeTakeFirst();
  // Real SIP: the carrier here is SIPp, not load mode's ledger.
  const audit = await auditCampaign(db, campaignId, campaignConfig.retry, { carrierLedger: false });

  say(`\nCampaign ${result.status}: ${result.contacts.done} contacts done with ${result.dials} dials, $${result.costUsd.toFixed(3)} spent`);
  say('\n  disposition     calls   cost      avg talk');
  for (const c of calls) say(`  ${String(c.disposition ?? 'unknown').padEnd(14)}  ${String(c.n).padStart(5)}   $${Number(c.cost).toFixed(3)}    ${Number(c.talkS).toFixed(1)} s`);
  say('\n  final outcome per contact   ' + Object.entries(result.contacts.dispositions).map(([d, n]) => `${d} ${n}`).join(' · '));
  if (callbacks?.n) say(`  callbacks requested         ${callbacks.n}`);
  if (latency && latency.turns > 0) {
    const ms = (v: number) => `${Math.round(Number(v))} ms`;
    say(`  latency over ${latency.turns} agent turns  voice-to-voice p50 ${ms(latency.v2vP50)}, p95 ${ms(latency.v2vP95)} · end of utterance ${ms(latency.eouP50)} · LLM first token ${ms(latency.ttftP50)} · TTS first byte ${ms(latency.ttfbP50)} (p50s)`);
  }
  say(`  accounting                  ${audit.problems.length === 0 ? 'every contact accounted for once, attempts as the policy says' : `${audit.problems.length} problems: ${audit.problems.slice(0, 3).join('; ')}`}`);
  say('\nWhere to look');
  say(`  campaign in Temporal UI   ${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows/${campaignWorkflowId(tenantId, campaignId)}`);
  say(`  its calls                 ${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows?query=${encodeURIComponent(`KickcallCampaignId="${campaignId}"`)}`);
  say(`  operations console        ${config.api.publicUrl}/console/#/campaigns/${campaignId}`);
  say(`                            (sign in with a key from: npm run api-key -- --tenant ${tenantId} --role admin)`);
  say(`  stack status              npm run stack:status`);
  if (result.status !== 'completed' || audit.problems.length > 0) exitCode = 1;
} finally {
  await sipp.stop();
  await close();
  await bridge.stop();
  // Best effort: NATS may be why the demo failed, and its consumer goes when idle anyway.
  await ensureCallEventsStream(nc)
    .then((jsm) => jsm.consumers.delete(callEventsStream, bridgeDurable))
    .catch(() => undefined);
  await stopMediaServer(media, 5_000);
  await mediaRunning;
  await nc.drain();
  await db.destroy();
  await connection.close();
  await disposeRtcRuntime();
}
process.exitCode = exitCode;
