/**
 * Reads of call records for the API, always scoped to the caller's tenant: a call of
 * another tenant reads as absent. Lists are paged by an opaque cursor over
 * (created_at, id), newest first.
 */
import { callCost, defaultPrices, type CostBreakdown, type PriceTable } from '../activities/pricing.js';
import type { Db } from '../deploy/db/schema.js';
import { encodeCursor, isCursorPart } from './schemas.js';

export interface CallSummary {
  id: string;
  campaignId: string | null;
  direction: 'outbound' | 'inbound';
  status: string;
  disposition: string | null;
  endReason: string | null;
  attempt: number;
  createdAt: string;
  answeredAt: string | null;
  endedAt: string | null;
}

export interface CallDetail extends CallSummary {
  agentCount: number;
  sipStatusCode: number | null;
  nextAttemptId: string | null;
  turns: { seq: number; role: 'user' | 'agent'; text: string; interrupted: boolean; at: string }[];
  analysis:
    | { status: 'ok'; summary: string | null; disposition: string | null; sentiment: string | null; goalMet: boolean | null; fields: unknown }
    | { status: 'failed'; error: string | null }
    | null;
  /** Summed over every agent that served the call. */
  usage: { sttAudioS: number; ttsCharacters: number; llmInputTokens: number; llmOutputTokens: number };
  /**
   * The usage so far priced by the deployment's price table, by component; connected time runs
   * to the hang-up (to now while the call is live). `costUsd` is the price recorded once
   * the call ended, with the prices of the worker that priced it.
   */
  costBreakdownUsd: CostBreakdown;
  /** Latency per agent turn, in ms from the caller's last audio (the media worker's `turn.metrics`). */
  turnMetrics: TurnMetrics[];
  answers: Record<string, string>;
  callbacks: string[];
  /** Why the agent transferred or ended the call, in its words, in the order given. */
  agentNotes: Array<{ tool: string; note: string }>;
}

export interface TurnMetrics {
  /** The metrics event's place in the call's event sequence (just before the agent turn it measures). */
  seq: number;
  at: string;
  eouDelayMs: number;
  sttMs: number | null;
  llmTtftMs: number;
  ttsTtfbMs: number;
  voiceToVoiceMs: number;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export async function getCall(db: Db, tenantId: string, callId: string, prices: PriceTable = defaultPrices): Promise<CallDetail | undefined> {
  const call = await db.selectFrom('calls').selectAll().where('tenant_id', '=', tenantId).where('id', '=', callId).executeTakeFirst();
  if (!call) return undefined;
  const [turns, analysis, usageByModel, answers, callbacks, notes, metrics] = await Promise.all([
    db.selectFrom('call_turns').select(['seq', 'role', 'text', 'interrupted', 'occurred_at']).where('call_id', '=', callId).orderBy('seq').execute(),
    db.selectFrom('call_analyses').selectAll().where('call_id', '=', callId).executeTakeFirst(),
    db
      .selectFrom('call_usage')
      .select(['llm_model', (eb) => eb.fn.sum<number>('stt_audio_s').as('stt'), (eb) => eb.fn.sum<string>('tts_characters').as('tts'), (eb) => eb.fn.sum<string>('llm_input_tokens').as('llmIn'), (eb) => eb.fn.sum<string>('llm_output_tokens').as('llmOut')])
      .where('call_id', '=', callId)
      .groupBy('llm_model')
      .orderBy('llm_model')
      .execute(),
    db.selectFrom('call_answers').select(['field', 'value']).where('call_id', '=', callId).execute(),
    db.selectFrom('call_callbacks').select('requested_when').where('call_id', '=', callId).orderBy('seq').execute(),
    db.selectFrom('call_agent_notes').select(['tool', 'note']).where('call_id', '=', callId).orderBy('seq').execute(),
    db.selectFrom('call_turn_metrics').selectAll().where('call_id', '=', callId).orderBy('seq').execute(),
  ]);
  // Sums of integer columns arrive as strings (bigint); of real columns as numbers.
  const llm = usageByModel.map((u) => ({ model: u.llm_model, sttAudioS: Number(u.stt), ttsCharacters: Number(u.tts), inputTokens: Number(u.llmIn), outputTokens: Number(u.llmOut) }));
  const sum = (pick: (u: (typeof llm)[number]) => number) => llm.reduce((total, u) => total + pick(u), 0);
  const usage = { sttAudioS: sum((u) => u.sttAudioS), ttsCharacters: sum((u) => u.ttsCharacters), llmInputTokens: sum((u) => u.inputTokens), llmOutputTokens: sum((u) => u.outputTokens) };
  const connectedS = call.answered_at ? Math.max(0, ((call.ended_at ?? new Date()).getTime() - call.answered_at.getTime()) / 1000) : 0;
  return {
    ...summaryOf(call),
    agentCount: call.agent_count,
    sipStatusCode: call.sip_status_code,
    nextAttemptId: call.next_attempt_id,
    turns: turns.map((t) => ({ seq: t.seq, role: t.role, text: t.text, interrupted: t.interrupted, at: t.occurred_at.toISOString() })),
    analysis: !analysis
      ? null
      : analysis.status === 'ok'
        ? { status: 'ok', summary: analysis.summary, disposition: analysis.disposition, sentiment: analysis.sentiment, goalMet: analysis.goal_met, fields: analysis.fields }
        : { status: 'failed', error: analysis.error },
    usage,
    costBreakdownUsd: callCost({ sttAudioS: usage.sttAudioS, ttsCharacters: usage.ttsCharacters, llm, connectedS }, prices),
    turnMetrics: metrics.map((m) => ({ seq: m.seq, at: m.occurred_at.toISOString(), eouDelayMs: m.eou_delay_ms, sttMs: m.stt_ms, llmTtftMs: m.llm_ttft_ms, ttsTtfbMs: m.tts_ttfb_ms, voiceToVoiceMs: m.voice_to_voice_ms })),
    answers: Object.fromEntries(answers.map((a) => [a.field, a.value])),
    callbacks: callbacks.map((c) => c.requested_when),
    agentNotes: notes,
  };
}

export interface ListCallsFilter {
  campaignId?: string;
  status?: string;
  disposition?: string;
  /** 1-100, default 50. */
  limit?: number;
  /** From the previous page's `nextCursor`. */
  cursor?: string;
}

export async function listCalls(db: Db, tenantId: string, filter: ListCallsFilter = {}): Promise<{ items: CallSummary[]; nextCursor: string | null }> {
  const limit = Math.min(Math.max(filter.limit ?? 50, 1), 100);
  let q = db.selectFrom('calls').selectAll().where('tenant_id', '=', tenantId);
  if (filter.campaignId) q = q.where('campaign_id', '=', filter.campaignId);
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.disposition) q = q.where('disposition', '=', filter.disposition);
  if (filter.cursor) {
    const { at, id } = decodeCursor(filter.cursor);
    q = q.where((eb) => eb.or([eb('created_at', '<', new Date(at)), eb.and([eb('created_at', '=', new Date(at)), eb('id', '<', id)])]));
  }
  const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute();
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { items: page.map(summaryOf), nextCursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id) : null };
}

export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
  readonly retryable = false;
}

function decodeCursor(cursor: string): { at: string; id: string } {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { at?: unknown; id?: unknown };
    if (typeof parsed.at === 'string' && typeof parsed.id === 'string' && isCursorPart(parsed.at, parsed.id)) return { at: parsed.at, id: parsed.id };
  } catch {
    // fall through
  }
  throw new InvalidCursorError('the cursor is not one this API issued');
}

function summaryOf(c: {
  id: string;
  campaign_id: string | null;
  direction: 'outbound' | 'inbound';
  status: string;
  disposition: string | null;
  end_reason: string | null;
  attempt: number;
  created_at: Date;
  answered_at: Date | null;
  ended_at: Date | null;
}): CallSummary {
  return {
    id: c.id,
    campaignId: c.campaign_id,
    direction: c.direction,
    status: c.status,
    disposition: c.disposition,
    endReason: c.end_reason,
    attempt: c.attempt,
    createdAt: c.created_at.toISOString(),
    answeredAt: iso(c.answered_at),
    endedAt: iso(c.ended_at),
  };
}
