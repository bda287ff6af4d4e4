/**
 * API keys: `kk_<12 hex>_<43 base64url>`. The first part is the key's visible prefix and
 * its lookup key; only a SHA-256 of the whole key is stored (the secret part is 256
 * random bits, so a slow password hash would add nothing but latency). A key is shown
 * once, when it is made. Roles are ordered: a role may do what the ones below it may.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { sql } from 'kysely';
import type { ApiRole, Db } from '../deploy/db/schema.js';

export const apiRoles = ['viewer', 'operator', 'admin'] as const satisfies readonly ApiRole[];

/** Whether `role` may do what `needed` may. */
export function roleAllows(role: ApiRole, needed: ApiRole): boolean {
  return apiRoles.indexOf(role) >= apiRoles.indexOf(needed);
}

export interface Principal {
  tenantId: string;
  keyId: string;
  role: ApiRole;
}

export interface IssuedKey {
  id: string;
  prefix: string;
  /** The whole key: shown to its owner once, never stored. */
  key: string;
}

const keyPattern = /^(kk_[0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
/** last_used_at is written at most this often per key, so reads do not turn into writes. */
const lastUsedResolutionMs = 60_000;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Makes a key for a tenant (the tenant row is created when missing). */
export async function issueApiKey(db: Db, opts: { tenantId: string; name: string; role: ApiRole; createdBy?: string }): Promise<IssuedKey> {
  const prefix = `kk_${randomBytes(6).toString('hex')}`;
  const key = `${prefix}_${randomBytes(32).toString('base64url')}`;
  const id = `key_${randomBytes(8).toString('hex')}`;
  await db.insertInto('tenants').values({ id: opts.tenantId, name: opts.tenantId }).onConflict((oc) => oc.column('id').doNothing()).execute();
  await db
    .insertInto('api_keys')
    .values({ id, tenant_id: opts.tenantId, name: opts.name, role: opts.role, prefix, secret_sha256: sha256(key), created_by: opts.createdBy ?? null })
    .execute();
  return { id, prefix, key };
}

export type AuthFailure = 'missing' | 'malformed' | 'unknown' | 'revoked';

/**
 * Who a bearer key belongs to. Looked up by prefix as the application role (the tenant is
 * not known yet), compared in constant time, refused when revoked.
 */
export async function authenticate(db: Db, authorization: string | undefined): Promise<Principal | AuthFailure> {
  if (!authorization) return 'missing';
  const match = /^Bearer (\S+)$/i.exec(authorization.trim());
  const parts = match ? keyPattern.exec(match[1] ?? '') : null;
  if (!match || !parts) return 'malformed';
  const row = await db
    .selectFrom('api_keys')
    .select(['id', 'tenant_id', 'role', 'secret_sha256', 'revoked_at', 'last_used_at'])
    .where('prefix', '=', parts[1] ?? '')
    .executeTakeFirst();
  const presented = Buffer.from(sha256(match[1] ?? ''), 'hex');
  if (!row || !timingSafeEqual(presented, Buffer.from(row.secret_sha256, 'hex'))) return 'unknown';
  if (row.revoked_at) return 'revoked';
  if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > lastUsedResolutionMs) {
    await db.updateTable('api_keys').set({ last_used_at: sql<Date>`now()` }).where('id', '=', row.id).execute();
  }
  return { tenantId: row.tenant_id, keyId: row.id, role: row.role };
}
