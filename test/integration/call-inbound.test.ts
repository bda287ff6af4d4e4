/**
 * An inbound call end to end, on the stack as deployed: SIPp calls a number on an inbound
 * trunk; the SIP gateway's dispatch rule answers it into a `call_inbound_*` room; LiveKit's
 * webhook reaches the API, which starts the inbound call workflow; the orchestration worker
 * dispatches the media agent, which greets, hears the caller and ends the call; the
 * workflow hangs up, analyses and records it.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { createDb, type Db } from '../../deploy/db/schema.js';
import { startSipp } from '../../deploy/sipp.js';
import { renderCalleeScript } from '../../media/simulators/callee-audio.js';
import type { PhraseId } from '../../media/simulators/phrasebook.js';
import type { CallResult } from '../../workflows/call/types.js';
import { waitFor } from '../helpers/async.js';
import { config, uniqueName } from '../helpers/env.js';
import { temporalClient } from '../helpers/temporal.js';

let db: Db;
let client: Client;
let close: () => Promise<void>;
before(async () => {
  db = createDb(config.postgres.url, { maxConnections: 2 });
  ({ client, close } = await temporalClient());
});
after(async () => {
  await db.destroy();
  await close();
});

async function control(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${config.sip.controlUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** Routes a fresh number of a fresh tenant to the agent, and calls it with SIPp saying `lines`. */
async function placeInboundCall(t: { name: string }, opts: { includeCallerNumber: boolean; lines: PhraseId[]; sipPort: number; mediaPort: number }) {
  const tenantId = uniqueName('inb').replace('-', '');
  const number = `+1555${String(randomInt(1_000_000, 9_999_999))}`;
  const trunkId = uniqueName('trunk');
  const ruleId = uniqueName('rule');
  const route = {
    tenantId,
    agent: { instructions: 'You answer the phone for Acme Dental. Be brief.', greeting: 'Acme Dental, this is Ava. How can I help?' },
    analysis: { goal: 'Help the caller' },
  };
  assert.equal((await control('POST', '/v1/sip/inbound-trunks', { trunkId, tenantId, numbers: [number], includeCallerNumber: opts.includeCallerNumber })).status, 200);
  assert.equal((await control('POST', '/v1/sip/dispatch-rules', { ruleId, trunkIds: [trunkId], metadata: JSON.stringify(route) })).status, 200);
  after(async () => {
    await control('DELETE', `/v1/sip/dispatch-rules/${ruleId}`);
    await control('DELETE', `/v1/sip/inbound-trunks/${trunkId}`);
  });

  const sipp = await startSipp({
    scenario: 'uac-call-remote-bye',
    host: config.host,
    port: opts.sipPort,
    mediaPort: opts.mediaPort,
    timeoutS: 90,
    remote: `${config.host}:${config.sip.port}`,
    service: number.slice(1),
    // The caller waits 10 s before speaking: in a loaded rehearsal its line, 6 s after the
    // answer, was recorded before the greeting's turn (the greeting was still being spoken).
    files: { 'caller.pcmu': await renderCalleeScript(opts.lines, { leadSilenceMs: 10_000 }) },
  });
  after(() => sipp.stop());

  let callId = '';
  await waitFor(
    async () => {
      const row = await db.selectFrom('calls').select(['id', 'status']).where('tenant_id', '=', tenantId).executeTakeFirst();
      callId = row?.id ?? '';
      return row !== undefined;
    },
    30_000,
    `${t.name}: no inbound call workflow recorded the call`,
  );
  assert.match(callId, /^inbound_inb[0-9a-f]+_[0-9a-f]{16}$/);
  const result = (await client.workflow.getHandle(callId).result()) as CallResult;
  return { tenantId, number, trunkId, route, callId, result, sipp };
}

test('an inbound SIP call is answered by the agent, follows the conversation, and is recorded with its analysis', async (t) => {
  const bad = await control('POST', '/v1/sip/inbound-trunks', { trunkId: uniqueName('trunk'), tenantId: 'x', numbers: ['5550100'] });
  assert.equal(bad.status, 400, 'a number that is not E.164 is refused');
  const { callId, result, route, sipp } = await placeInboundCall(t, { includeCallerNumber: false, lines: ['not_interested'], sipPort: 5170, mediaPort: 16_170 });
  assert.equal(result.disposition, 'completed', `ended ${result.endReason}`);
  assert.equal(result.endReason, 'end_call');

  const turns = await db.selectFrom('call_turns').select(['role', 'text']).where('call_id', '=', callId).orderBy('seq').execute();
  assert.deepEqual(turns.slice(0, 2), [
    { role: 'agent', text: route.agent.greeting },
    { role: 'user', text: 'No thanks, I am not interested. Goodbye.' },
  ]);
  const row = await db.selectFrom('calls').selectAll().where('id', '=', callId).executeTakeFirstOrThrow();
  assert.equal(row.direction, 'inbound');
  assert.equal(row.disposition, 'completed');
  assert.equal(row.callee_e164, null, 'the caller’s number is not stored from the room (none was given)');
  const analysis = await db.selectFrom('call_analyses').select('status').where('call_id', '=', callId).executeTakeFirst();
  assert.equal(analysis?.status, 'ok');
  const verdict = await sipp.exited;
  assert.equal(verdict.code, 0, `SIPp: INVITE answered, talked, BYE from the gateway:\n${verdict.output.slice(-800)}`);
});

test('an inbound caller who asks not to be called is added to the tenant’s do-not-call list, when the trunk shares their number', async (t) => {
  const { tenantId, callId, result } = await placeInboundCall(t, { includeCallerNumber: true, lines: ['do_not_call'], sipPort: 5172, mediaPort: 16_172 });
  assert.equal(result.endReason, 'do_not_call', `ended ${result.endReason}`);
  // The SIPp scenario calls from +15550109999.
  const listed = await db.selectFrom('do_not_call').select(['phone_e164', 'source']).where('tenant_id', '=', tenantId).execute();
  assert.deepEqual(listed, [{ phone_e164: '+15550109999', source: `call:${callId}` }]);
  const row = await db.selectFrom('calls').select('callee_e164').where('id', '=', callId).executeTakeFirstOrThrow();
  assert.equal(row.callee_e164, '+15550109999', 'the call is on record under the number, so an erasure of it finds the call');
});
