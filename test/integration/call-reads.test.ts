/** The API's reads of call records: complete, tenant-scoped, paged. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { getCall, InvalidCursorError, listCalls } from '../../api/call-reads.js';
import { createCallRecordActivities } from '../../activities/call-records.js';
import { persistEvent } from '../../workers/event-bridge.js';
import { createDb, type Db } from '../../deploy/db/schema.js';
import { config, uniqueName } from '../helpers/env.js';

let db: Db;
const tenantA = uniqueName('ra').replace('-', '');
const tenantB = uniqueName('rb').replace('-', '');
const ids: string[] = [];

before(async () => {
  db = createDb(config.postgres.url, { maxConnections: 2 });
  const records = createCallRecordActivities({ db });
  for (let i = 1; i <= 5; i++) {
    const callId = `outbound_${tenantA}_spring_c${i}_1`;
    ids.push(callId);
    await records.recordCall({ callId, tenantId: tenantA, campaignId: 'spring', contactId: `c${i}`, attempt: 1, direction: 'outbound', roomName: `call_${callId}`, calleeE164: '+15550100001' });
    await records.updateCall({ callId, status: 'ended', disposition: i % 2 ? 'completed' : 'busy', endReason: 'x' });
  }
  await records.recordCall({ callId: `outbound_${tenantB}_direct_c1_1`, tenantId: tenantB, contactId: 'c1', attempt: 1, direction: 'outbound', roomName: 'r' });
  const callId = ids[0]!;
  const ts = new Date().toISOString();
  const base = { v: 1 as const, callId, ts };
  await persistEvent(db, { ...base, seq: 2, type: 'agent.turn', text: 'Hello.', interrupted: false });
  await persistEvent(db, { ...base, seq: 3, type: 'user.turn', text: 'Hi.' });
  await persistEvent(db, { ...base, seq: 4, type: 'usage', sttAudioS: 1.5, ttsCharacters: 6, llmInputTokens: 10, llmOutputTokens: 2, llmModel: 'gpt-4.1' });
  await persistEvent(db, { ...base, seq: 9, type: 'usage', sttAudioS: 2, ttsCharacters: 4, llmInputTokens: 5, llmOutputTokens: 1, llmModel: 'gpt-4.1' });
  await records.recordAnswer({ callId, seq: 5, field: 'plan', value: 'gold' });
  await records.recordCallback({ callId, seq: 6, when: 'tomorrow' });
});
after(() => db.destroy());

test('a call reads back whole: turns, usage summed over agents, answers, callbacks; another tenant sees nothing', async () => {
  const call = await getCall(db, tenantA, ids[0]!);
  assert.ok(call);
  assert.deepEqual(call.turns.map((t) => [t.role, t.text]), [['agent', 'Hello.'], ['user', 'Hi.']]);
  assert.deepEqual(call.usage, { sttAudioS: 3.5, ttsCharacters: 10, llmInputTokens: 15, llmOutputTokens: 3 });
  assert.deepEqual(call.answers, { plan: 'gold' });
  assert.deepEqual(call.callbacks, ['tomorrow']);
  assert.equal(call.analysis, null);
  assert.equal(await getCall(db, tenantB, ids[0]!), undefined, 'another tenant’s call reads as absent');
});

test('lists page newest first by cursor, filter, and refuse a forged cursor', async () => {
  const first = await listCalls(db, tenantA, { limit: 2 });
  assert.equal(first.items.length, 2);
  const second = await listCalls(db, tenantA, { limit: 2, cursor: first.nextCursor! });
  const third = await listCalls(db, tenantA, { limit: 2, cursor: second.nextCursor! });
  assert.equal(third.nextCursor, null);
  const seen = [...first.items, ...second.items, ...third.items].map((c) => c.id);
  assert.deepEqual([...seen].sort(), [...ids].sort(), 'every call once, none of the other tenant’s');
  assert.equal((await listCalls(db, tenantA, { disposition: 'busy' })).items.length, 2);
  await assert.rejects(listCalls(db, tenantA, { cursor: 'bm90LWEtY3Vyc29y' }), InvalidCursorError);
});
