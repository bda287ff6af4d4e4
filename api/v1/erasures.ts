/**
 * Erasure of a phone number's personal data across the tenant: transcripts, analyses (and
 * the summary their `call.analyzed` events carried), captured answers and callback
 * requests of its calls, the number on those calls, and its
 * campaign contacts (with their custom fields). The request is recorded with a keyed hash
 * of the number (`erasureHash`), never the number. The do-not-call list keeps the number:
 * erasing must not make it callable again.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { defineRoute } from '../route.js';
import { e164 } from '../schemas.js';
import { scrubAnalysisEvents } from '../../activities/retention.js';

const counts = z.object({ calls: z.number().int(), turns: z.number().int(), analyses: z.number().int(), answers: z.number().int(), callbacks: z.number().int(), agentNotes: z.number().int(), contacts: z.number().int() });

/**
 * What an erasure record keeps of the number: enough for an operator holding the key to
 * answer "was this number erased?", and nothing a copy of the database can reverse (an
 * unkeyed hash of a phone number falls to trying every number).
 */
export function erasureHash(erasureKey: string, tenantId: string, phone: string): string {
  return createHmac('sha256', erasureKey).update(`${tenantId}:${phone}`).digest('hex');
}

export function erasureRoutes(deps: { erasureKey: string }) {
  return [
    defineRoute({
      method: 'POST',
      path: '/v1/erasures',
      operationId: 'eraseNumber',
      summary: 'Erase a phone number’s personal data across the tenant',
      tag: 'Privacy',
      role: 'admin',
      body: z.strictObject({ phone: e164 }),
      responses: { 201: { description: 'What was erased.', schema: z.object({ id: z.string(), counts }) } },
      handler: async ({ principal, body, tenantDb, setResourceId }) => {
        const id = `era-${randomBytes(8).toString('hex')}`;
        setResourceId(id);
        const erased = await tenantDb(async (tx) => {
          const calls = (await tx.selectFrom('calls').select('id').where('callee_e164', '=', body.phone).execute()).map((c) => c.id);
          const n = (r: { numDeletedRows: bigint }) => Number(r.numDeletedRows);
          const result = { calls: calls.length, turns: 0, analyses: 0, answers: 0, callbacks: 0, agentNotes: 0, contacts: 0 };
          if (calls.length > 0) {
            result.turns = n(await tx.deleteFrom('call_turns').where('call_id', 'in', calls).executeTakeFirst());
            result.analyses = n(await tx.deleteFrom('call_analyses').where('call_id', 'in', calls).executeTakeFirst());
            result.answers = n(await tx.deleteFrom('call_answers').where('call_id', 'in', calls).executeTakeFirst());
            result.callbacks = n(await tx.deleteFrom('call_callbacks').where('call_id', 'in', calls).executeTakeFirst());
            result.agentNotes = n(await tx.deleteFrom('call_agent_notes').where('call_id', 'in', calls).executeTakeFirst());
            await tx.updateTable('calls').set({ callee_e164: null }).where('id', 'in', calls).execute();
            // The analysis also went out as an event (kept for webhooks and their retries).
            await scrubAnalysisEvents(tx, calls);
          }
          result.contacts = n(await tx.deleteFrom('contacts').where('phone_e164', '=', body.phone).executeTakeFirst());
          await tx
            .insertInto('erasures')
            .values({ id, tenant_id: principal.tenantId, phone_hmac: erasureHash(deps.erasureKey, principal.tenantId, body.phone), api_key_id: principal.keyId, counts: JSON.stringify(result) })
            .execute();
          return result;
        });
        return { status: 201, body: { id, counts: erased } };
      },
    }),
  ];
}
