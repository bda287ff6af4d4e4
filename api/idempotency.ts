/**
 * `Idempotency-Key` with Stripe's semantics. The first request with a key claims it and
 * its response is saved; a repeat with the same method, path and body gets that response
 * again (marked `Idempotent-Replayed: true`); the same key with a different request is
 * refused, and so is a repeat while the first is still running. A server error frees the
 * key so the request can be retried. Keys are per tenant and kept for 24 hours; a claim
 * left pending by a crashed process is taken over after a minute.
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../deploy/db/schema.js';
import { withTenant } from './tenant-db.js';

export const idempotencyKeyPattern = /^[\x21-\x7e]{1,255}$/;
const retentionHours = 24;
const staleClaimS = 60;

export interface SavedResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type Claim =
  | { kind: 'claimed' }
  | { kind: 'replay'; response: SavedResponse }
  | { kind: 'in-use' }
  | { kind: 'reused' };

export interface IdempotentRequest {
  tenantId: string;
  apiKeyId: string;
  key: string;
  method: string;
  path: string;
  /** SHA-256 of the request body (see `bodyDigest`). */
  requestSha256: string;
}

export const bodyDigest = (body: unknown) => createHash('sha256').update(JSON.stringify(body ?? null)).digest('hex');

export async function claimIdempotencyKey(db: Db, req: IdempotentRequest): Promise<Claim> {
  return withTenant(db, req.tenantId, async (tx) => {
    // Expired keys and abandoned claims give way to the new request.
    await tx
      .deleteFrom('idempotency_keys')
      .where('key', '=', req.key)
      .where((eb) =>
        eb.or([
          eb('created_at', '<', sql<Date>`now() - make_interval(hours => ${retentionHours})`),
          eb.and([eb('state', '=', 'pending'), eb('created_at', '<', sql<Date>`now() - make_interval(secs => ${staleClaimS})`)]),
        ]),
      )
      .execute();
    const inserted = await tx
      .insertInto('idempotency_keys')
      .values({ tenant_id: req.tenantId, key: req.key, api_key_id: req.apiKeyId, method: req.method, path: req.path, request_sha256: req.requestSha256, state: 'pending', response_headers: null })
      .onConflict((oc) => oc.columns(['tenant_id', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();
    if (inserted) return { kind: 'claimed' };
    const existing = await tx.selectFrom('idempotency_keys').selectAll().where('key', '=', req.key).executeTakeFirstOrThrow();
    if (existing.method !== req.method || existing.path !== req.path || existing.request_sha256 !== req.requestSha256) return { kind: 'reused' };
    if (existing.state === 'pending') return { kind: 'in-use' };
    return { kind: 'replay', response: { status: existing.response_status ?? 200, headers: existing.response_headers ?? {}, body: existing.response_body ?? '' } };
  });
}

export async function saveIdempotentResponse(db: Db, req: Pick<IdempotentRequest, 'tenantId' | 'key'>, response: SavedResponse): Promise<void> {
  await withTenant(db, req.tenantId, (tx) =>
    tx
      .updateTable('idempotency_keys')
      .set({ state: 'complete', response_status: response.status, response_headers: JSON.stringify(response.headers), response_body: response.body })
      .where('key', '=', req.key)
      .execute(),
  );
}

export async function releaseIdempotencyKey(db: Db, req: Pick<IdempotentRequest, 'tenantId' | 'key'>): Promise<void> {
  await withTenant(db, req.tenantId, (tx) => tx.deleteFrom('idempotency_keys').where('key', '=', req.key).where('state', '=', 'pending').execute());
}
