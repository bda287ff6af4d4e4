/**
 * Cost and latency analytics through the API, against PostgreSQL: the cost of scripted
 * calls equals a hand calculation from the price table, latency percentiles equal the
 * hand-computed interpolated ones, and only the tenant's (and the campaign's) calls count.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { startApi, type ApiHarness } from '../helpers/api.js';
import { uniqueName } from '../helpers/env.js';
import { temporalClient } from '../helpers/temporal.js';

let temporal: Client;
let closeTemporal: () => Promise<void>;
let api: ApiHarness;
before(async () => {
  ({ client: temporal, close: closeTemporal } = await temporalClient());
  api = await startApi({ temporal });
});
after(async () => {
  await api.close();
  await closeTemporal();
});

const at = (s: number) => new Date(Date.UTC(2026, 10, 2, 15, 0, s));

async function seedCall(tenantId: string, campaignId: string, name: string, connectedS: number | null, usage: { stt: number; tts: number; input: number; output: number }, v2v: number[], agentId?: string) {
  const id = `outbound_${tenantId}_${campaignId}_${name}_1`;
  await api.db
    .insertInto('calls')
    .values({ id, tenant_id: tenantId, campaign_id: campaignId, agent_id: agentId ?? null, direction: 'outbound', status: 'completed', answered_at: connectedS === null ? null : at(0), ended_at: connectedS === null ? at(0) : new Date(at(0).getTime() + connectedS * 1000) })
    .execute();
  await api.db.insertInto('call_usage').values({ call_id: id, seq: 1, stt_audio_s: usage.stt, tts_characters: usage.tts, llm_input_tokens: usage.input, llm_output_tokens: usage.output, llm_model: 'gpt-4.1', occurred_at: at(1) }).execute();
  for (const [i, ms] of v2v.entries()) {
    await api.db.insertInto('call_turn_metrics').values({ call_id: id, seq: i + 2, eou_delay_ms: 300, stt_ms: 50, llm_ttft_ms: 400, tts_ttfb_ms: 200, voice_to_voice_ms: ms, occurred_at: at(i) }).execute();
  }
}

test('the cost of scripted calls equals the hand calculation; latency percentiles are the interpolated ones', async () => {
  const t = await api.newTenant();
  const other = await api.newTenant();
  await seedCall(t.tenantId, 'spring', 'a', 61.2, { stt: 80, tts: 1500, input: 600, output: 300 }, [100, 200, 300, 400, 500], 'ava');
  await seedCall(t.tenantId, 'spring', 'b', 30, { stt: 40, tts: 500, input: 400, output: 200 }, [600, 700, 800, 900, 1000], 'ben');
  await seedCall(t.tenantId, 'autumn', 'c', 600, { stt: 600, tts: 9000, input: 9000, output: 9000 }, [5000], 'ava');
  await seedCall(other.tenantId, 'spring', 'd', 600, { stt: 600, tts: 9000, input: 9000, output: 9000 }, [9000], 'ava');

  const res = await api.request('GET', '/v1/analytics/costs?campaignId=spring', { key: t.keys.viewer });
  assert.equal(res.status, 200, res.text);
  const c = res.body as { calls: number; answeredCalls: number; costUsd: Record<string, number>; costPerCallUsd: number; ttsComparison: { provider: string; costUsd: number }[] };
  // By hand, from the default price table:
  //   STT 120 s = 2 min × $0.0077            = $0.0154
  //   TTS 2,000 chars × $0.030 / 1,000        = $0.06
  //   LLM gpt-4.1 1,000 in × $2/M + 500 out × $8/M = $0.002 + $0.004 = $0.006
  //   telephony ⌈61.2⌉ + 30 = 92 s × $0.013 / 60   = $0.019933…
  //   self-hosted 92 s × $0.00009 / 60            = $0.000138
  const expected = { sttUsd: 0.0154, ttsUsd: 0.06, llmUsd: 0.006, telephonyUsd: (92 / 60) * 0.013, selfHostedUsd: 0.000138 };
  assert.equal(c.calls, 2);
  assert.equal(c.answeredCalls, 2);
  for (const [k, v] of Object.entries(expected)) assert.ok(Math.abs((c.costUsd[k] ?? NaN) - v) < 1e-9, `${k}: ${c.costUsd[k]} ≠ ${v}`);
  const total = Object.values(expected).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs((c.costUsd.totalUsd ?? NaN) - total) < 1e-9);
  assert.ok(Math.abs(c.costPerCallUsd - total / 2) < 1e-9);
  assert.deepEqual(
    c.ttsComparison.map((p) => [p.provider, Math.round(p.costUsd * 1e6) / 1e6]),
    [['Deepgram Aura-2', 0.06], ['ElevenLabs', 0.4], ['Amazon Polly (neural)', 0.032]],
  );

  const lat = await api.request('GET', '/v1/analytics/latency?campaignId=spring', { key: t.keys.viewer });
  assert.equal(lat.status, 200, lat.text);
  const v2v = (lat.body as Record<string, { count: number; p50: number; p95: number; p99: number }>).voiceToVoiceMs;
  // Ten values 100…1000: p50 = 550, p95 = 100 + 0.95 × 9 × 100 = 955, p99 = 991.
  assert.deepEqual(v2v, { count: 10, p50: 550, p95: 955, p99: 991 });
  assert.equal((lat.body as Record<string, { p50: number }>).llmTtftMs?.p50, 400);

  // Every call of the tenant, and none of the other tenant's.
  const all = await api.request('GET', '/v1/analytics/latency', { key: t.keys.viewer });
  assert.equal((all.body as Record<string, { count: number; p99: number }>).voiceToVoiceMs?.count, 11);
  const empty = await api.request('GET', `/v1/analytics/costs?campaignId=${uniqueName('none')}`, { key: t.keys.viewer });
  assert.deepEqual([(empty.body as { calls: number }).calls, (empty.body as { costPerCallUsd: unknown }).costPerCallUsd], [0, null]);
  // Per saved agent, across campaigns: Ava spoke on a (100…500) and c (5000), not on the other tenant's d.
  const ava = await api.request('GET', '/v1/analytics/latency?agentId=ava', { key: t.keys.viewer });
  assert.deepEqual((ava.body as Record<string, { count: number; p50: number }>).voiceToVoiceMs, { count: 6, p50: 350, p95: 3875, p99: 4775 });
  const ben = await api.request('GET', '/v1/analytics/costs?agentId=ben', { key: t.keys.viewer });
  assert.equal((ben.body as { calls: number }).calls, 1);
  const bad = await api.request('GET', '/v1/analytics/costs?from=yesterday', { key: t.keys.viewer });
  assert.equal(bad.status, 400);
});
