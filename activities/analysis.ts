/**
 * Post-call analysis: the LLM reads the call's transcript (from PostgreSQL) and answers
 * in structured output against a JSON schema: summary, disposition, sentiment, whether
 * the call's goal was met, and the campaign's own fields. The answer is validated here
 * (never trusted); invalid output is asked for again, then recorded as a failed analysis
 * — never dropped. Provider errors (429, 5xx, network) are thrown for Temporal to retry.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { Ajv, type ErrorObject } from 'ajv';
import type OpenAI from 'openai';
import type { Db } from '../deploy/db/schema.js';
import { heartbeating } from './heartbeat.js';
import { FailureType } from '../workflows/errors.js';
import type { AnalysisFieldSpec } from '../workflows/call/types.js';

export type { AnalysisFieldSpec };

export const analysisDispositions = [
  'interested',
  'not_interested',
  'callback_requested',
  'wrong_person',
  'voicemail',
  'opted_out',
  'transferred',
  'other',
] as const;
export const sentiments = ['positive', 'neutral', 'negative'] as const;

export type AnalysisOutcome =
  | {
      status: 'ok';
      summary: string;
      disposition: (typeof analysisDispositions)[number];
      sentiment: (typeof sentiments)[number];
      goalMet: boolean;
      fields: Record<string, unknown>;
      attempts: number;
    }
  | { status: 'failed'; error: string; attempts: number };

export interface AnalyzeCallInput {
  callId: string;
  /** What the call was for, e.g. "book a check-up". */
  goal?: string;
  /** The campaign's own fields to fill. */
  fields?: Record<string, AnalysisFieldSpec>;
}

/** The JSON schema the model must answer with: strict, every property required. */
export function analysisSchema(fields: Record<string, AnalysisFieldSpec> = {}): Record<string, unknown> {
  const fieldSchema = (f: AnalysisFieldSpec) =>
    f.type === 'enum' ? { type: 'string', enum: f.values ?? [], description: f.description } : { type: f.type, description: f.description };
  return {
    type: 'object',
    additionalProperties: false,
    required: ['summary', 'disposition', 'sentiment', 'goal_met', 'fields'],
    properties: {
      summary: { type: 'string', description: 'Two sentences on what happened in the call.' },
      disposition: { type: 'string', enum: [...analysisDispositions] },
      sentiment: { type: 'string', enum: [...sentiments] },
      goal_met: { type: 'boolean', description: 'Whether the call achieved its goal.' },
      fields: {
        type: 'object',
        additionalProperties: false,
        required: Object.keys(fields),
        properties: Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, fieldSchema(f)])),
      },
    },
  };
}

interface ModelAnswer {
  summary: string;
  disposition: (typeof analysisDispositions)[number];
  sentiment: (typeof sentiments)[number];
  goal_met: boolean;
  fields: Record<string, unknown>;
}

const ajv = new Ajv({ allErrors: true, strict: false });

function describe(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`).join('; ');
}

/** Parses and validates the model's content; returns the answer or why it is unusable. */
export function checkAnswer(content: string | null | undefined, schema: Record<string, unknown>): { answer: ModelAnswer } | { problem: string } {
  if (!content) return { problem: 'the model returned no content' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch {
    return { problem: 'the model’s output is not JSON' };
  }
  const validate = ajv.compile<ModelAnswer>(schema);
  if (!validate(parsed)) return { problem: `the model’s output does not match the schema: ${describe(validate.errors)}` };
  return { answer: parsed };
}

export function createAnalysisActivities(deps: { db: Db; openai: OpenAI; model: string; maxOutputAttempts?: number }) {
  const maxAttempts = deps.maxOutputAttempts ?? 3;

  const stored = async (callId: string): Promise<AnalysisOutcome | undefined> => {
    const row = await deps.db.selectFrom('call_analyses').selectAll().where('call_id', '=', callId).executeTakeFirst();
    if (!row) return undefined;
    if (row.status === 'failed') return { status: 'failed', error: row.error ?? 'unknown', attempts: row.attempts };
    return {
      status: 'ok',
      summary: row.summary ?? '',
      disposition: row.disposition as ModelAnswer['disposition'],
      sentiment: row.sentiment as ModelAnswer['sentiment'],
      goalMet: row.goal_met ?? false,
      fields: (row.fields ?? {}) as Record<string, unknown>,
      attempts: row.attempts,
    };
  };

  return {
    analyzeCall: (input: AnalyzeCallInput): Promise<AnalysisOutcome> => heartbeating(() => analyze(input)),
  };

  async function analyze(input: AnalyzeCallInput): Promise<AnalysisOutcome> {
    // A retry after a crash returns what was stored; the LLM is asked once per call.
    const done = await stored(input.callId);
    if (done) return done;

    const turns = await deps.db.selectFrom('call_turns').select(['role', 'text']).where('call_id', '=', input.callId).orderBy('seq').execute();
    if (turns.length === 0) {
      throw ApplicationFailure.create({ type: FailureType.InvalidInput, message: 'the call has no transcript to analyse', nonRetryable: true });
    }
    const transcript = turns.map((t) => `${t.role === 'user' ? 'caller' : 'agent'}: ${t.text}`).join('\n');
    const schema = analysisSchema(input.fields);
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
      {
        role: 'system',
        content:
          'You analyse phone calls made by an AI agent. Answer only with JSON matching the schema.' +
          (input.goal ? ` The call's goal: ${input.goal}.` : ''),
      },
      { role: 'user', content: `Transcript (one turn per line):\n${transcript}` },
    ];

    let problem = '';
    let attempts = 0;
    while (attempts < maxAttempts) {
      attempts++;
      const completion = await deps.openai.chat.completions.create({
        model: deps.model,
        messages,
        response_format: { type: 'json_schema', json_schema: { name: 'call_analysis', strict: true, schema } },
      });
      const message = completion.choices[0]?.message;
      const checked = message?.refusal ? { problem: 'the model refused' } : checkAnswer(message?.content, schema);
      if ('answer' in checked) {
        const a = checked.answer;
        await deps.db
          .insertInto('call_analyses')
          .values({
            call_id: input.callId,
            status: 'ok',
            summary: a.summary,
            disposition: a.disposition,
            sentiment: a.sentiment,
            goal_met: a.goal_met,
            fields: JSON.stringify(a.fields),
            model: deps.model,
            attempts,
          })
          .onConflict((oc) => oc.column('call_id').doNothing())
          .execute();
        return (await stored(input.callId))!;
      }
      problem = checked.problem;
    }
    await deps.db
      .insertInto('call_analyses')
      .values({ call_id: input.callId, status: 'failed', error: `${problem} (after ${attempts} attempts)`, model: deps.model, attempts })
      .onConflict((oc) => oc.column('call_id').doNothing())
      .execute();
    return (await stored(input.callId))!;
  }
}

export type AnalysisActivities = ReturnType<typeof createAnalysisActivities>;
