/**
 * Every Prometheus metric Kickcall exports, defined once. Each process registers the
 * whole set and moves the ones it owns; Prometheus tells processes apart by target.
 *
 * Labels name kinds of things (a stage, an outcome, a route template), never a tenant, a
 * call, a campaign or a number: no PII, and bounded cardinality.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ProcessRole } from '../config.js';

export const registry = new Registry();
const registers = [registry];

const gaugeSources: { mediaCalls?: () => number; sipCalls?: () => number } = {};
/** Where a process's active-call gauge reads from at each scrape. */
export function measureActiveCalls(of: 'media' | 'sip', source: () => number): void {
  gaugeSources[of === 'media' ? 'mediaCalls' : 'sipCalls'] = source;
}

/** Voice-turn latencies: telephony wants the agent to answer within about a second. */
const latencyBucketsS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];

export const metrics = {
  // Media worker.
  mediaActiveCalls: new Gauge({
    name: 'kickcall_media_active_calls',
    help: 'Calls this media worker carries now.',
    registers,
    collect() {
      if (gaugeSources.mediaCalls) this.set(gaugeSources.mediaCalls());
    },
  }),
  mediaJobs: new Counter({ name: 'kickcall_media_jobs_total', help: 'Call jobs this media worker has run (sampled each second).', registers }),

  // SIP gateway.
  sipActiveCalls: new Gauge({
    name: 'kickcall_sip_active_calls',
    help: 'SIP legs this gateway carries now.',
    registers,
    collect() {
      if (gaugeSources.sipCalls) this.set(gaugeSources.sipCalls());
    },
  }),

  // Orchestration worker.
  dialOutcomes: new Counter({
    name: 'kickcall_dial_outcomes_total',
    help: 'Dial attempts by how the far end answered (answered, busy, no_answer, rejected, failed).',
    labelNames: ['outcome'] as const,
    registers,
  }),
  callsEnded: new Counter({ name: 'kickcall_calls_ended_total', help: 'Calls that reached a disposition.', labelNames: ['disposition'] as const, registers }),
  campaignDials: new Counter({
    name: 'kickcall_campaign_dials_total',
    help: 'Dials campaigns started; its rate is the achieved pace in calls per second.',
    registers,
  }),
  campaignDialsWithheld: new Counter({
    name: 'kickcall_campaign_dials_withheld_total',
    help: 'Dials a campaign pass wanted but pacing, trunk or provider capacity held back.',
    labelNames: ['limit'] as const,
    registers,
  }),
  webhookDeliveries: new Counter({
    name: 'kickcall_webhook_delivery_attempts_total',
    help: 'Webhook delivery attempts by result (delivered, rejected, failed).',
    labelNames: ['result'] as const,
    registers,
  }),

  // Event bridge.
  turnLatency: new Histogram({
    name: 'kickcall_turn_latency_seconds',
    help: 'Latency of each conversational turn by stage (eou, stt, llm_ttft, tts_ttfb, voice_to_voice).',
    labelNames: ['stage'] as const,
    buckets: latencyBucketsS,
    registers,
  }),
  providerErrors: new Counter({
    name: 'kickcall_provider_errors_total',
    help: 'Provider faults media workers reported (agent.error events), by error code.',
    labelNames: ['code', 'retryable'] as const,
    registers,
  }),
  callEvents: new Counter({ name: 'kickcall_call_events_total', help: 'Call events the bridge delivered, by type.', labelNames: ['type'] as const, registers }),
  bridgeLag: new Histogram({
    name: 'kickcall_event_bridge_lag_seconds',
    help: 'From an event being published by the media worker to its workflow accepting it.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  }),
  usageSttAudio: new Counter({ name: 'kickcall_usage_stt_audio_seconds_total', help: 'Audio sent to speech-to-text.', registers }),
  usageTtsCharacters: new Counter({ name: 'kickcall_usage_tts_characters_total', help: 'Characters synthesised by text-to-speech.', registers }),
  usageLlmTokens: new Counter({ name: 'kickcall_usage_llm_tokens_total', help: 'LLM tokens by direction (input, output).', labelNames: ['direction'] as const, registers }),
  providerCost: new Counter({
    name: 'kickcall_provider_cost_usd_total',
    help: 'Provider cost of calls so far, priced from usage with the price table, by component (stt, tts, llm).',
    labelNames: ['component'] as const,
    registers,
  }),

  // API.
  apiRequests: new Counter({
    name: 'kickcall_api_requests_total',
    help: 'API requests by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  }),
  apiDuration: new Histogram({
    name: 'kickcall_api_request_duration_seconds',
    help: 'API request duration by method and route template.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  }),
};

let started = false;

/** Process metrics (CPU, memory, event-loop lag), labelled with the process's role. */
export function collectProcessMetrics(role: ProcessRole): void {
  if (started) return;
  started = true;
  registry.setDefaultLabels({ process: role });
  collectDefaultMetrics({ register: registry, prefix: 'kickcall_' });
}

/** Every metric name this module defines, for checking alert rules against. */
export function definedMetricNames(): string[] {
  return Object.values(metrics).map((m) => (m as unknown as { name: string }).name);
}
