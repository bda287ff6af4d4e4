/**
 * Post-call analysis against the real PostgreSQL and the OpenAI simulator (in-process on
 * its own port): structured output validated and stored, campaign fields filled, asked
 * once per call, invalid output retried then recorded as a failure, never dropped.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { pino } from 'pino';
import { analysisSchema, checkAnswer, createAnalysisActivities } from '../../activities/analysis.js';
import { createCallRecordActivities } from '../../activities/call-records.js';
import { createDb, type Db } from '../../deploy/db/schema.js';
import { startOpenAISimulator } from '../../media/simulators/openai-server.js';
import type { RunningSimulator } from '../../media/simulators/server-base.js';
import type { OpenAISettings } from '../../media/simulators/openai-server.js';
import { config, uniqueName } from '../helpers/env.js';

let db: Db;
let sim: RunningSimulator<OpenAISettings>;
let analysis: ReturnType<typeof createAnalysisActivities>;
const tenantId = uniqueName('an').replace('-', '');

before(async () => {
  db = createDb(config.postgres.url, { maxConnections: 2 });
  sim = await startOpenAISimulator({ host: config.host, port: 0, logger: pino({ level: 'silent' }), settings: { ttftMs: 0, tokensPerSecond: 0 } });
  // Provider errors are Temporal's to retry: the SDK does not retry on its own here.
  const openai = new OpenAI({ baseURL: sim.url, apiKey: 'test', maxRetries: 0 });
  analysis = createAnalysisActivities({ db, openai, model: 'gpt-4.1' });
});
after(async () => {
  await sim.close();
  await db.destroy();
});

/** Queues faults through the simulator's admin API (at its root, beside /v1). */
async function injectFaults(faults: object[]): Promise<void> {
  const res = await fetch(`${new URL(sim.url).origin}/_sim/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ faults }) });
  assert.equal(res.status, 200, await res.text());
}

/** A call row with these turns, as the event bridge would have written them. */
async function callWithTurns(lines: [role: 'user' | 'agent', text: string][]): Promise<string> {
  const callId = `outbound_${tenantId}_direct_${uniqueName('c')}_1`;
  await createCallRecordActivities({ db }).recordCall({ callId, tenantId, attempt: 1, direction: 'outbound', roomName: `call_${callId}` });
  if (lines.length > 0) {
    await db
      .insertInto('call_turns')
      .values(lines.map(([role, text], i) => ({ call_id: callId, seq: i + 2, role, text, occurred_at: new Date().toISOString() })))
      .execute();
  }
  return callId;
}

const fields = { interest: { type: 'enum' as const, description: 'How interested', values: ['high', 'low', 'none'] }, callback: { type: 'boolean' as const, description: 'Wants a callback' } };

test('an answered conversation is analysed against the schema, stored, and asked for once', async () => {
  const callId = await callWithTurns([
    ['agent', 'Hi, this is Ava from Acme Dental. Do you have a minute?'],
    ['user', 'No thanks, I am not interested. Goodbye.'],
    ['agent', 'Thank you for your time. Goodbye.'],
  ]);
  const before = sim.control.stats.structuredCompletions ?? 0;
  const outcome = await analysis.analyzeCall({ callId, goal: 'Book a check-up', fields });
  assert.equal(outcome.status, 'ok');
  assert.ok(outcome.status === 'ok');
  assert.equal(outcome.disposition, 'not_interested');
  assert.equal(outcome.sentiment, 'negative');
  assert.equal(outcome.goalMet, false);
  assert.deepEqual(outcome.fields, { interest: 'none', callback: false });
  assert.equal(outcome.attempts, 1);
  const row = await db.selectFrom('call_analyses').selectAll().where('call_id', '=', callId).executeTakeFirstOrThrow();
  assert.equal(row.status, 'ok');
  assert.equal(row.model, 'gpt-4.1');
  assert.deepEqual(await analysis.analyzeCall({ callId, goal: 'Book a check-up', fields }), outcome, 'a retried activity returns the stored analysis');
  assert.equal((sim.control.stats.structuredCompletions ?? 0) - before, 1, 'the LLM was asked once');
});

test('invalid model output is asked for again; after three invalid answers the failure is recorded', async () => {
  const recovered = await callWithTurns([['user', 'Please remove me from your list and do not call me again.']]);
  await injectFaults([{ kind: 'invalid_output', count: 2, target: 'chat' }]);
  const second = await analysis.analyzeCall({ callId: recovered });
  assert.equal(second.status, 'ok');
  assert.equal(second.attempts, 3);
  assert.ok(second.status === 'ok' && second.disposition === 'opted_out');

  const failing = await callWithTurns([['user', 'Sorry, who is this?']]);
  await injectFaults([{ kind: 'invalid_output', count: 3, target: 'chat' }]);
  const failed = await analysis.analyzeCall({ callId: failing });
  assert.equal(failed.status, 'failed');
  assert.ok(failed.status === 'failed' && /not JSON/.test(failed.error) && failed.attempts === 3);
  const row = await db.selectFrom('call_analyses').selectAll().where('call_id', '=', failing).executeTakeFirstOrThrow();
  assert.equal(row.status, 'failed');
  assert.match(row.error ?? '', /after 3 attempts/);
});

test('a provider error is thrown for Temporal to retry, and nothing is recorded', async () => {
  const callId = await callWithTurns([['user', 'Hello?']]);
  await injectFaults([{ kind: 'http_503', count: 1, target: 'chat' }]);
  await assert.rejects(analysis.analyzeCall({ callId }), /503/);
  assert.equal(await db.selectFrom('call_analyses').select('status').where('call_id', '=', callId).executeTakeFirst(), undefined);
  assert.equal((await analysis.analyzeCall({ callId })).status, 'ok', 'the retry succeeds');
});

test('a call without a transcript cannot be analysed (non-retryable input error)', async () => {
  const callId = await callWithTurns([]);
  await assert.rejects(analysis.analyzeCall({ callId }), (err: Error & { type?: string; nonRetryable?: boolean }) => err.type === 'InvalidInput' && err.nonRetryable === true);
});

test('the schema is strict and the validator catches what a model might get wrong', () => {
  const schema = analysisSchema(fields);
  const good = { summary: 's', disposition: 'interested', sentiment: 'positive', goal_met: true, fields: { interest: 'high', callback: false } };
  assert.ok('answer' in checkAnswer(JSON.stringify(good), schema));
  for (const [bad, why] of [
    [{ ...good, disposition: 'maybe' }, /disposition/],
    [{ ...good, fields: { interest: 'high' } }, /callback/],
    [{ ...good, extra: 1 }, /additional/],
    [{ ...good, goal_met: 'yes' }, /goal_met/],
  ] as const) {
    const checked = checkAnswer(JSON.stringify(bad), schema);
    assert.ok('problem' in checked && why.test(checked.problem), JSON.stringify(checked));
  }
  assert.deepEqual(checkAnswer('', schema), { problem: 'the model returned no content' });
});
