/**
 * The tenant's do-not-call list. Adding a number also takes it out of every campaign of
 * the tenant that has not dialled it or would redial it. Numbers travel in bodies only,
 * never in paths (paths end up in logs).
 */
import { z } from 'zod';
import { blockNumber } from '../../activities/compliance.js';
import { ApiProblem, notFound, problem } from '../problem.js';
import { defineRoute } from '../route.js';
import { decodeCursor, e164, encodeCursor, page, pageQuery } from '../schemas.js';

const entry = z.object({ phone: z.string(), source: z.string(), createdAt: z.string() });

export function doNotCallRoutes() {
  return [
    defineRoute({
      method: 'POST',
      path: '/v1/do-not-call',
      operationId: 'addDoNotCall',
      summary: 'Add a number to the do-not-call list',
      tag: 'Do not call',
      role: 'operator',
      body: z.strictObject({ phone: e164, source: z.string().trim().min(1).max(100).default('api') }),
      responses: { 201: { description: 'Listed; `contactsRemoved` campaign contacts will not be called.', schema: z.object({ phone: z.string(), contactsRemoved: z.number().int() }) } },
      handler: async ({ principal, body, tenantDb }) => {
        const { contactsRemoved } = await tenantDb((tx) => blockNumber(tx, principal.tenantId, body.phone, body.source));
        return { status: 201, body: { phone: body.phone, contactsRemoved } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/do-not-call',
      operationId: 'listDoNotCall',
      summary: 'List the do-not-call entries, newest first',
      tag: 'Do not call',
      role: 'viewer',
      query: z.strictObject(pageQuery),
      responses: { 200: { description: 'A page of entries.', schema: page(entry) } },
      handler: async ({ query, tenantDb }) => {
        const rows = await tenantDb((tx) => {
          let q = tx.selectFrom('do_not_call').select(['phone_e164', 'source', 'created_at', 'entry']);
          if (query.cursor) {
            const c = decodeCursor(query.cursor);
            if (!/^[0-9]{1,19}$/.test(c.id)) throw new ApiProblem(problem('invalid-request', 400, 'Invalid request', 'query.cursor: not a cursor this API issued.'));
            // Entries are numbered as they are added: newest first is highest first. (The
            // cursor's instant, in ms, could not tell apart entries of one millisecond.)
            q = q.where('entry', '<', c.id);
          }
          return q.orderBy('entry', 'desc').limit(query.limit + 1).execute();
        });
        const items = rows.slice(0, query.limit);
        const last = items.at(-1);
        return {
          status: 200,
          body: { items: items.map((r) => ({ phone: r.phone_e164, source: r.source, createdAt: r.created_at.toISOString() })), nextCursor: rows.length > query.limit && last ? encodeCursor(last.created_at, String(last.entry)) : null },
        };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/v1/do-not-call',
      operationId: 'removeDoNotCall',
      summary: 'Take a number off the do-not-call list (contacts already skipped stay skipped)',
      tag: 'Do not call',
      role: 'admin',
      body: z.strictObject({ phone: e164 }),
      responses: { 204: { description: 'Removed.' }, 404: { description: 'The number is not on the list.' } },
      handler: async ({ body, tenantDb }) => {
        const removed = await tenantDb((tx) => tx.deleteFrom('do_not_call').where('phone_e164', '=', body.phone).executeTakeFirst());
        if (removed.numDeletedRows === 0n) throw notFound('That do-not-call entry');
        return { status: 204 };
      },
    }),
  ];
}
