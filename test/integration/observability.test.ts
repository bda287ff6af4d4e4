/**
 * One scripted call over real SIP (SIPp as the callee) through separate processes — the
 * API, the orchestration worker and the media worker, each started with an OTLP endpoint
 * and its own metrics port — with the event bridge in this process:
 * - its spans form one trace across every process boundary (API → Temporal client →
 *   workflow → activity → media job → NATS → bridge → the workflow's signal handler),
 *   collected by an OTLP/HTTP receiver in this test;
 * - each process's `/metrics` shows the call with values checked against the database.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy } from '@nats-io/jetstream';
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { issueApiKey } from '../../api/api-keys.js';
import { callCost } from '../../activities/pricing.js';
import { loadConfig } from '../../deploy/config.js';
import { createDb, type Db } from '../../deploy/db/schema.js';
import { startSipp } from '../../deploy/sipp.js';
import { startMetricsServer, type MetricsServer } from '../../deploy/telemetry/metrics-server.js';
import { temporalClientInterceptors } from '../../deploy/telemetry/temporal-tracing.js';
import { startTracing, type Tracing } from '../../deploy/telemetry/tracing.js';
import { renderCalleeScript } from '../../media/simulators/callee-audio.js';
import { startEventBridge, type EventBridge } from '../../workers/event-bridge.js';
import { pollFor } from '../helpers/async.js';
import { config, uniqueName, testBridgeIdleMs } from '../helpers/env.js';
import { freeListenPorts } from '../helpers/ports.js';
import { startProcess, type RunningProcess } from '../helpers/processes.js';

interface CollectedSpan {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
}

/** An OTLP/HTTP (JSON) trace receiver: what a collector would get. */
async function otlpReceiver(): Promise<{ url: string; spans: CollectedSpan[]; close: () => Promise<void> }> {
  const spans: CollectedSpan[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      if (req.url === '/v1/traces' && /json/.test(req.headers['content-type'] ?? '')) {
        const doc = JSON.parse(body) as {
          resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: { name: string; traceId: string; spanId: string; parentSpanId?: string }[] }[] }[];
        };
        for (const rs of doc.resourceSpans) {
          const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
          for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ service, name: s.name, traceId: s.traceId, spanId: s.spanId, ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}) });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, config.host, r));
  return { url: `http://${config.host}:${(server.address() as AddressInfo).port}`, spans, close: () => new Promise<void>((r) => server.close(() => r())) };
}


/** Reads one sample from Prometheus text: the series whose labels include `labels`, summed. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  let found = false;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) {
      total += Number(m[3]);
      found = true;
    }
  }
  assert.ok(found, `no ${name} ${JSON.stringify(labels)} series in:\n${text.split('\n').filter((l) => l.startsWith(name)).join('\n')}`);
  return total;
}

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://${config.host}:${port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
  return res.text();
}

let collector: Awaited<ReturnType<typeof otlpReceiver>>;
let tracing: Tracing;
let bridgeMetrics: MetricsServer;
let nc: NatsConnection;
let db: Db;
let connection: Connection;
let bridge: EventBridge;
const processes: RunningProcess[] = [];
const ports = { api: 0, apiMetrics: 0, orchestrationMetrics: 0, media: 0, mediaMetrics: 0, bridgeMetrics: 0 };
const taskQueue = uniqueName('observed');
const agentName = uniqueName('kc-observed');

before(async () => {
  collector = await otlpReceiver();
  const keys = Object.keys(ports) as (keyof typeof ports)[];
  const free = await freeListenPorts(config.host, keys.length);
  keys.forEach((k, i) => (ports[k] = free[i]!));
  const telemetryEnv = { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, TEMPORAL_TASK_QUEUE: taskQueue, MEDIA_AGENT_NAME: agentName, KICKCALL_LOG_LEVEL: 'info' };
  // This process is the event bridge: traced, with its own metrics port.
  const here = loadConfig({ ...process.env, ...telemetryEnv, EVENT_BRIDGE_METRICS_PORT: String(ports.bridgeMetrics) });
  tracing = startTracing(here, 'event-bridge');
  bridgeMetrics = await startMetricsServer(here, 'event-bridge', pino({ level: 'silent' }));
  nc = await connect({ servers: config.nats.url });
  db = createDb(config.postgres.url, { maxConnections: 4 });
  connection = await Connection.connect({ address: config.temporal.address });
  const temporal = new Client({ connection, namespace: config.temporal.namespace, interceptors: temporalClientInterceptors(tracing) });
  bridge = await startEventBridge({ nc, temporal, db, log: pino({ level: 'silent' }), durableName: uniqueName('observed-bridge'), deliverPolicy: DeliverPolicy.New, removeWhenIdleMs: testBridgeIdleMs });

  processes.push(
    ...(await Promise.all([
      startProcess('api/main.ts', { ...telemetryEnv, API_PORT: String(ports.api), API_METRICS_PORT: String(ports.apiMetrics) }, /api listening/),
      startProcess('workers/orchestration.ts', { ...telemetryEnv, KICKCALL_DEPLOYMENT_DUTIES: 'false', ORCHESTRATION_METRICS_PORT: String(ports.orchestrationMetrics) }, /orchestration worker polling/),
      startProcess('workers/media.ts', { ...telemetryEnv, MEDIA_WORKER_HTTP_PORT: String(ports.media), MEDIA_WORKER_METRICS_PORT: String(ports.mediaMetrics) }, /media worker registered/),
    ])),
  );
});

after(async () => {
  await Promise.all(processes.map((p) => p.stop(15_000)));
  await bridge.stop();
  await bridgeMetrics.close();
  await tracing.shutdown();
  await collector.close();
  await nc.close();
  await db.destroy();
  await connection.close();
});

test('one call: one trace across API, workflow, activities, media job, NATS and bridge; metrics agree with the records', async () => {
  const tenantId = uniqueName('obs').replace('-', '');
  const { key } = await issueApiKey(db, { tenantId, name: 'observability', role: 'admin' });
  const audio = await renderCalleeScript(['who_is_this', 'not_interested'], { gapMs: 2_500 });
  const sipp = await startSipp({ scenario: 'uas-talk', host: config.host, port: 5162, mediaPort: 16_162, timeoutS: 90, files: { 'callee.pcmu': audio } });
  after(() => sipp.stop());
  const api = `http://${config.host}:${ports.api}`;
  const post = (path: string, body: unknown) => fetch(`${api}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  const trunk = await post('/v1/trunks', { id: 'main', address: sipp.address, numbers: ['+14155550100'], maxCallsPerSecond: 5, maxChannels: 5 });
  assert.equal(trunk.status, 201, await trunk.text());
  const started = await post('/v1/calls', {
    to: '+14155550109',
    trunkId: 'main',
    agent: { instructions: 'You are Ava, calling from Acme Dental about a free check-up. Be brief.', greeting: 'Hi, this is Ava from Acme Dental. Do you have a minute?' },
    contact: { timeZone: 'UTC', consent: true },
    window: { start: '00:00', end: '23:59' },
    limits: { ringingTimeoutS: 10, maxDurationS: 90, silenceTimeoutS: 8 },
  });
  assert.equal(started.status, 201, await started.clone().text());
  const { id: callId } = (await started.json()) as { id: string };
  const ended = await pollFor(async () => {
    const row = await db.selectFrom('calls').select(['status', 'disposition']).where('id', '=', callId).executeTakeFirst();
    return row?.status === 'ended' ? row : undefined;
  }, 90_000, 'the call never ended');
  assert.equal(ended.disposition, 'completed');

  // --- Traces ---
  const trace = await pollFor(() => {
    const root = collector.spans.find((s) => s.service === 'kickcall-api' && s.name === 'POST /v1/calls');
    if (!root) return undefined;
    const spans = collector.spans.filter((s) => s.traceId === root.traceId);
    const services = new Set(spans.map((s) => s.service));
    const complete = ['kickcall-api', 'kickcall-orchestration', 'kickcall-media-job', 'kickcall-event-bridge'].every((s) => services.has(s)) && spans.some((s) => s.name === 'agent.turn');
    return complete && spans.every((s) => s === root || spans.some((p) => p.spanId === s.parentSpanId)) ? { root, spans } : undefined;
  }, 30_000, () => `the call's trace never connected; spans seen:\n${collector.spans.map((s) => `${s.service} ${s.name} ${s.traceId.slice(0, 8)} ${s.spanId} <- ${s.parentSpanId ?? 'root'}`).join('\n')}`);
  const byId = new Map(trace.spans.map((s) => [s.spanId, s]));
  const parentOf = (s: CollectedSpan) => (s.parentSpanId ? byId.get(s.parentSpanId) : undefined);
  assert.equal(trace.root.parentSpanId, undefined, 'the API request starts the trace');

  const media = trace.spans.find((s) => s.name === 'call.media');
  assert.ok(media, 'the media job joined the trace');
  assert.deepEqual([parentOf(media)?.service, parentOf(media)?.name], ['kickcall-orchestration', 'RunActivity:dispatchAgent'], 'the job continues the dispatching activity');
  const turns = trace.spans.filter((s) => s.name === 'agent.turn');
  assert.ok(turns.every((t) => t.parentSpanId === media.spanId), 'turns are children of the job');
  const bridged = trace.spans.filter((s) => s.service === 'kickcall-event-bridge' && s.name === 'bridge turn.metrics');
  assert.equal(bridged.length, turns.length, 'each turn crossed NATS into the bridge');
  assert.ok(bridged.every((b) => turns.some((t) => t.spanId === b.parentSpanId)), 'through the traceparent header');
  const handled = trace.spans.filter((s) => s.service === 'kickcall-orchestration' && s.name === 'HandleSignal:callEvent');
  const ancestors = (s: CollectedSpan): CollectedSpan[] => {
    const p = parentOf(s);
    return p ? [p, ...ancestors(p)] : [];
  };
  assert.ok(handled.some((h) => ancestors(h).some((a) => a.name === 'bridge turn.metrics')), 'the workflow handled a bridged turn inside the same trace');
  assert.ok(ancestors(media).includes(trace.root), 'and all of it hangs from the API request');

  // --- Metrics ---
  const [orchestration, mediaWorker, bridgeText, apiText] = await Promise.all([scrape(ports.orchestrationMetrics), scrape(ports.mediaMetrics), scrape(ports.bridgeMetrics), scrape(ports.apiMetrics)]);
  assert.equal(sample(orchestration, 'kickcall_dial_outcomes_total', { outcome: 'answered' }), 1);
  assert.equal(sample(orchestration, 'kickcall_calls_ended_total', { disposition: 'completed' }), 1);
  assert.equal(sample(mediaWorker, 'kickcall_media_jobs_total'), 1);
  assert.equal(sample(mediaWorker, 'kickcall_media_active_calls'), 0, 'the call is over');
  assert.equal(sample(apiText, 'kickcall_api_requests_total', { method: 'POST', route: '/v1/calls', status: '201' }), 1);
  assert.equal(sample(apiText, 'kickcall_api_requests_total', { method: 'POST', route: '/v1/trunks', status: '201' }), 1);

  const metricRows = await db.selectFrom('call_turn_metrics').selectAll().where('call_id', '=', callId).execute();
  assert.ok(metricRows.length >= 1, 'the call had measured turns');
  assert.equal(sample(bridgeText, 'kickcall_turn_latency_seconds_count', { stage: 'voice_to_voice' }), metricRows.length);
  const v2vSumS = metricRows.reduce((s, r) => s + Number(r.voice_to_voice_ms), 0) / 1000;
  assert.ok(Math.abs(sample(bridgeText, 'kickcall_turn_latency_seconds_sum', { stage: 'voice_to_voice' }) - v2vSumS) < 1e-6);
  const usage = await db.selectFrom('call_usage').selectAll().where('call_id', '=', callId).execute();
  assert.equal(usage.length, 1);
  const u = usage[0]!;
  const cost = callCost({ sttAudioS: Number(u.stt_audio_s), ttsCharacters: Number(u.tts_characters), llm: [{ model: u.llm_model, inputTokens: Number(u.llm_input_tokens), outputTokens: Number(u.llm_output_tokens) }], connectedS: 0 });
  assert.ok(cost.ttsUsd > 0);
  assert.ok(Math.abs(sample(bridgeText, 'kickcall_provider_cost_usd_total', { component: 'tts' }) - cost.ttsUsd) < 1e-9, 'TTS cost counter equals the priced usage');
  assert.ok(Math.abs(sample(bridgeText, 'kickcall_provider_cost_usd_total', { component: 'llm' }) - cost.llmUsd) < 1e-9, 'LLM cost counter equals the priced usage');
  assert.equal(sample(bridgeText, 'kickcall_usage_tts_characters_total'), Number(u.tts_characters));
  for (const text of [orchestration, mediaWorker, bridgeText, apiText]) {
    assert.ok(!text.includes(callId) && !text.includes(tenantId) && !text.includes('4155550109'), 'no call, tenant or number in any label');
  }
  const verdict = await sipp.exited;
  assert.equal(verdict.code, 0, verdict.output.slice(-800));
});
