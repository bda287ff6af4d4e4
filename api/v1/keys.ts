/**
 * API keys of the caller's tenant: make one (its secret is in this response only), list
 * them by prefix, revoke one: admins only. A revoked key is refused from its next request.
 * Any key may read itself (its role), so a client such as the console can offer only
 * what the key may do.
 */
import { sql } from 'kysely';
import { z } from 'zod';
import type { Db } from '../../deploy/db/schema.js';
import { apiRoles, issueApiKey } from '../api-keys.js';
import { notFound } from '../problem.js';
import { defineRoute } from '../route.js';

const apiKey = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(apiRoles),
  prefix: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
const keyParams = z.object({ keyId: z.string().regex(/^key_[0-9a-f]{16}$/) });

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
type KeyRow = { id: string; name: string; role: (typeof apiRoles)[number]; prefix: string; created_at: Date; last_used_at: Date | null; revoked_at: Date | null };
const toKey = (k: KeyRow) => ({ id: k.id, name: k.name, role: k.role, prefix: k.prefix, createdAt: iso(k.created_at)!, lastUsedAt: iso(k.last_used_at), revokedAt: iso(k.revoked_at) });
const columns = ['id', 'name', 'role', 'prefix', 'created_at', 'last_used_at', 'revoked_at'] as const;

export function keyRoutes(deps: { db: Db }) {
  return [
    defineRoute({
      method: 'POST',
      path: '/v1/api-keys',
      operationId: 'createApiKey',
      summary: 'Make an API key (the secret is shown once, in this response)',
      tag: 'API keys',
      role: 'admin',
      body: z.strictObject({ name: z.string().trim().min(1).max(100), role: z.enum(apiRoles) }),
      responses: { 201: { description: 'The key, with its secret.', schema: apiKey.extend({ key: z.string() }) }, 409: { description: 'A repeat under the same Idempotency-Key: the secret is not shown twice (`secret-shown-once`).' } },
      showsSecretOnce: true,
      handler: async ({ principal, body, tenantDb, setResourceId }) => {
        // Issued as the application role (the key table's lookup is not tenant-scoped),
        // for the caller's tenant only; read back through the tenant's view.
        const issued = await issueApiKey(deps.db, { tenantId: principal.tenantId, name: body.name, role: body.role, createdBy: principal.keyId });
        setResourceId(issued.id);
        const row = await tenantDb((tx) => tx.selectFrom('api_keys').select(columns).where('id', '=', issued.id).executeTakeFirstOrThrow());
        return { status: 201, body: { ...toKey(row), key: issued.key } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/api-keys',
      operationId: 'listApiKeys',
      summary: 'List API keys (prefixes, never secrets)',
      tag: 'API keys',
      role: 'admin',
      responses: { 200: { description: 'Every key of the tenant, newest first.', schema: z.object({ items: z.array(apiKey) }) } },
      handler: async ({ tenantDb }) => {
        const rows = await tenantDb((tx) => tx.selectFrom('api_keys').select(columns).orderBy('created_at', 'desc').execute());
        return { status: 200, body: { items: rows.map(toKey) } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/api-keys/current',
      operationId: 'getCurrentApiKey',
      summary: 'The key making this request: its name and role',
      tag: 'API keys',
      role: 'viewer',
      responses: { 200: { description: 'The calling key.', schema: apiKey } },
      handler: async ({ principal, tenantDb }) => {
        const row = await tenantDb((tx) => tx.selectFrom('api_keys').select(columns).where('id', '=', principal.keyId).executeTakeFirstOrThrow());
        return { status: 200, body: toKey(row) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/v1/api-keys/:keyId',
      operationId: 'revokeApiKey',
      summary: 'Revoke an API key',
      tag: 'API keys',
      role: 'admin',
      params: keyParams,
      responses: { 200: { description: 'The revoked key.', schema: apiKey }, 404: { description: 'No such key in this tenant.' } },
      handler: async ({ params, tenantDb }) => {
        const row = await tenantDb(async (tx) => {
          await tx.updateTable('api_keys').set({ revoked_at: sql<Date>`coalesce(revoked_at, now())` }).where('id', '=', params.keyId).execute();
          return tx.selectFrom('api_keys').select(columns).where('id', '=', params.keyId).executeTakeFirst();
        });
        if (!row) throw notFound(`API key ${params.keyId}`);
        return { status: 200, body: toKey(row) };
      },
    }),
  ];
}
