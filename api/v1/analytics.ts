/**
 * Cost and latency analytics over a tenant's calls, optionally one campaign's, and a
 * time range. Costs come from each call's measured usage priced by the price table
 * (activities/pricing.ts), with a text-to-speech provider comparison on the same
 * character counts. Latency is p50/p95/p99 per stage from the media workers' turn
 * metrics.
 */
import { sql } from 'kysely';
import { z } from 'zod';
import { callCost, ttsProviderPrices, type PriceTable } from '../../activities/pricing.js';
import { defineRoute } from '../route.js';
import { idParam } from '../schemas.js';
import type { TenantTx } from '../tenant-db.js';

const filterQuery = z.strictObject({
  campaignId: idParam.optional(),
  agentId: idParam.optional().meta({ description: 'Calls that spoke as this saved agent.' }),
  from: z.iso.datetime({ offset: true }).optional().meta({ description: 'Calls created at or after this instant.' }),
  to: z.iso.datetime({ offset: true }).optional().meta({ description: 'Calls created before this instant.' }),
});
type Filter = z.infer<typeof filterQuery>;

const percentiles = z.object({ count: z.number().int(), p50: z.number().nullable(), p95: z.number().nullable(), p99: z.number().nullable() });
const stages = ['eouDelayMs', 'sttMs', 'llmTtftMs', 'ttsTtfbMs', 'voiceToVoiceMs'] as const;
const stageColumns: Record<(typeof stages)[number], string> = { eouDelayMs: 'eou_delay_ms', sttMs: 'stt_ms', llmTtftMs: 'llm_ttft_ms', ttsTtfbMs: 'tts_ttfb_ms', voiceToVoiceMs: 'voice_to_voice_ms' };

/** The calls the filter selects, as SQL conditions on `c` (the calls table). */
function callFilter(f: Filter) {
  return sql.join(
    [
      sql`true`,
      ...(f.campaignId ? [sql`c.campaign_id = ${f.campaignId}`] : []),
      ...(f.agentId ? [sql`c.agent_id = ${f.agentId}`] : []),
      ...(f.from ? [sql`c.created_at >= ${new Date(f.from)}`] : []),
      ...(f.to ? [sql`c.created_at < ${new Date(f.to)}`] : []),
    ],
    sql` AND `,
  );
}

async function latency(tx: TenantTx, f: Filter) {
  const result: Record<string, z.infer<typeof percentiles>> = {};
  for (const stage of stages) {
    const column = sql.ref(`m.${stageColumns[stage]}`);
    const { rows } = await sql<{ n: number; p: number[] | null }>`
      SELECT count(${column})::int AS n,
             percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY ${column}) AS p
      FROM call_turn_metrics m JOIN calls c ON c.id = m.call_id
      WHERE ${callFilter(f)}`.execute(tx);
    const row = rows[0];
    const at = (i: number) => (row?.p?.[i] === undefined || row.p[i] === null ? null : Math.round(row.p[i] * 10) / 10);
    result[stage] = { count: row?.n ?? 0, p50: at(0), p95: at(1), p99: at(2) };
  }
  return result;
}

async function costs(tx: TenantTx, f: Filter, prices: PriceTable) {
  const { rows: [totals] } = await sql<{ calls: number; answered: number; connected_s: number; stt_s: number; tts_chars: number }>`
    SELECT count(*)::int AS calls,
           count(c.answered_at)::int AS answered,
           coalesce(sum(ceil(extract(epoch FROM (c.ended_at - c.answered_at)))), 0)::float8 AS connected_s,
           coalesce((SELECT sum(u.stt_audio_s) FROM call_usage u JOIN calls c ON c.id = u.call_id WHERE ${callFilter(f)}), 0)::float8 AS stt_s,
           coalesce((SELECT sum(u.tts_characters) FROM call_usage u JOIN calls c ON c.id = u.call_id WHERE ${callFilter(f)}), 0)::float8 AS tts_chars
    FROM calls c WHERE ${callFilter(f)}`.execute(tx);
  const { rows: llm } = await sql<{ model: string; input: number; output: number }>`
    SELECT u.llm_model AS model, sum(u.llm_input_tokens)::float8 AS input, sum(u.llm_output_tokens)::float8 AS output
    FROM call_usage u JOIN calls c ON c.id = u.call_id WHERE ${callFilter(f)} GROUP BY u.llm_model ORDER BY u.llm_model`.execute(tx);
  const usage = {
    sttAudioS: totals?.stt_s ?? 0,
    ttsCharacters: totals?.tts_chars ?? 0,
    llm: llm.map((l) => ({ model: l.model, inputTokens: l.input, outputTokens: l.output })),
    connectedS: totals?.connected_s ?? 0,
  };
  const breakdown = callCost(usage, prices);
  const calls = totals?.calls ?? 0;
  return {
    calls,
    answeredCalls: totals?.answered ?? 0,
    usage,
    costUsd: breakdown,
    costPerCallUsd: calls === 0 ? null : breakdown.totalUsd / calls,
    prices: {
      sttPerMinuteUsd: prices.sttPerMinuteUsd,
      ttsPer1kCharactersUsd: prices.ttsPer1kCharactersUsd,
      telephonyPerMinuteUsd: prices.telephonyPerMinuteUsd,
      selfHostedPerConnectedMinuteUsd: prices.selfHostedPerConnectedMinuteUsd,
      source: prices.source,
    },
    ttsComparison: ttsProviderPrices.map((p) => ({ ...p, costUsd: (usage.ttsCharacters / 1e6) * p.per1MCharactersUsd })),
  };
}

const money = z.object({ sttUsd: z.number(), ttsUsd: z.number(), llmUsd: z.number(), telephonyUsd: z.number(), selfHostedUsd: z.number(), totalUsd: z.number() });

export function analyticsRoutes(prices: PriceTable) {
  return [
    defineRoute({
      method: 'GET',
      path: '/v1/analytics/latency',
      operationId: 'getLatencyAnalytics',
      summary: 'Turn latency per stage: p50/p95/p99 in ms',
      tag: 'Analytics',
      role: 'viewer',
      query: filterQuery,
      responses: { 200: { description: 'Percentiles per stage over the selected calls’ turns.', schema: z.object(Object.fromEntries(stages.map((s) => [s, percentiles])) as Record<(typeof stages)[number], typeof percentiles>) } },
      handler: async ({ query, tenantDb }) => ({ status: 200, body: await tenantDb((tx) => latency(tx, query)) }),
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/analytics/costs',
      operationId: 'getCostAnalytics',
      summary: 'Usage and cost of the selected calls, by component, with a TTS provider comparison',
      tag: 'Analytics',
      role: 'viewer',
      query: filterQuery,
      responses: {
        200: {
          description: 'Totals over the selected calls.',
          schema: z.object({
            calls: z.number().int(),
            answeredCalls: z.number().int(),
            usage: z.object({ sttAudioS: z.number(), ttsCharacters: z.number(), llm: z.array(z.object({ model: z.string(), inputTokens: z.number(), outputTokens: z.number() })), connectedS: z.number() }),
            costUsd: money,
            costPerCallUsd: z.number().nullable(),
            prices: z.object({ sttPerMinuteUsd: z.number(), ttsPer1kCharactersUsd: z.number(), telephonyPerMinuteUsd: z.number(), selfHostedPerConnectedMinuteUsd: z.number(), source: z.string() }),
            ttsComparison: z.array(z.object({ provider: z.string(), per1MCharactersUsd: z.number(), source: z.string(), costUsd: z.number() })),
          }),
        },
      },
      handler: async ({ query, tenantDb }) => ({ status: 200, body: await tenantDb((tx) => costs(tx, query, prices)) }),
    }),
  ];
}
