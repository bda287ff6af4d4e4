/** The caller's own tenant and its settings: today, how long personal data is kept. */
import { z } from 'zod';
import { defineRoute } from '../route.js';

const tenant = z.object({
  id: z.string(),
  name: z.string(),
  retentionDays: z.number().int().nullable().meta({ description: 'Days a call’s transcript, analysis and number are kept after it ends; null keeps them until erased.' }),
});

export function tenantRoutes() {
  return [
    defineRoute({
      method: 'GET',
      path: '/v1/tenant',
      operationId: 'getTenant',
      summary: 'The tenant the key belongs to',
      tag: 'Tenant',
      role: 'viewer',
      responses: { 200: { description: 'The tenant.', schema: tenant } },
      handler: async ({ tenantDb }) => {
        const row = await tenantDb((tx) => tx.selectFrom('tenants').select(['id', 'name', 'retention_days']).executeTakeFirstOrThrow());
        return { status: 200, body: { id: row.id, name: row.name, retentionDays: row.retention_days } };
      },
    }),
    defineRoute({
      method: 'PATCH',
      path: '/v1/tenant',
      operationId: 'updateTenant',
      summary: 'Change the tenant’s retention (enforced daily by the retention workflow)',
      tag: 'Tenant',
      role: 'admin',
      body: z.strictObject({ retentionDays: z.number().int().min(1).max(3650).nullable() }),
      responses: { 200: { description: 'The tenant.', schema: tenant } },
      handler: async ({ body, tenantDb }) => {
        const row = await tenantDb((tx) => tx.updateTable('tenants').set({ retention_days: body.retentionDays }).returning(['id', 'name', 'retention_days']).executeTakeFirstOrThrow());
        return { status: 200, body: { id: row.id, name: row.name, retentionDays: row.retention_days } };
      },
    }),
  ];
}
