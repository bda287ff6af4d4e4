/** The audit log, newest first: every mutating request and every refused read. Admins only. */
import { z } from 'zod';
import { ApiProblem, problem } from '../problem.js';
import { defineRoute } from '../route.js';

const record = z.object({
  id: z.string(),
  apiKeyId: z.string().nullable(),
  role: z.string().nullable(),
  method: z.string(),
  route: z.string(),
  resourceId: z.string().nullable(),
  status: z.number().int(),
  ip: z.string().nullable(),
  requestId: z.string(),
  occurredAt: z.string(),
});

export function auditLogRoutes() {
  return [
    defineRoute({
      method: 'GET',
      path: '/v1/audit-log',
      operationId: 'listAuditLog',
      summary: 'Read the audit log, newest first',
      tag: 'Audit log',
      role: 'admin',
      query: z.strictObject({
        limit: z.coerce.number().int().min(1).max(500).default(100),
        before: z.string().regex(/^\d{1,19}$/).optional().meta({ description: 'Records older than this record ID (the previous page’s `nextBefore`).' }),
        resourceId: z.string().max(200).optional(),
      }),
      responses: { 200: { description: 'A page of records.', schema: z.object({ items: z.array(record), nextBefore: z.string().nullable() }) } },
      handler: async ({ query, tenantDb }) => {
        if (query.before && BigInt(query.before) > 2n ** 63n - 1n) throw new ApiProblem(problem('invalid-request', 400, 'Invalid request', 'query.before: out of range.'));
        const rows = await tenantDb((tx) => {
          let q = tx.selectFrom('audit_log').selectAll();
          if (query.before) q = q.where('id', '<', query.before);
          if (query.resourceId) q = q.where('resource_id', '=', query.resourceId);
          return q.orderBy('id', 'desc').limit(query.limit + 1).execute();
        });
        const items = rows.slice(0, query.limit);
        return {
          status: 200,
          body: {
            items: items.map((r) => ({ id: String(r.id), apiKeyId: r.api_key_id, role: r.role, method: r.method, route: r.route, resourceId: r.resource_id, status: r.status, ip: r.ip, requestId: r.request_id, occurredAt: r.occurred_at.toISOString() })),
            nextBefore: rows.length > query.limit ? String(items.at(-1)?.id) : null,
          },
        };
      },
    }),
  ];
}
