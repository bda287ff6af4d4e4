/**
 * The API's only way into tenant data: a transaction run as the `kickcall_api` role with
 * `app.tenant_id` set, so PostgreSQL's row-level security (migration 0005) confines every
 * read and write to the caller's tenant, whatever the query says. Another tenant's rows
 * are not there; writing one is refused by the policy's check.
 */
import { sql, type Transaction } from 'kysely';
import type { Database, Db } from '../deploy/db/schema.js';
import { tenantRole } from '../deploy/db/migrations/0005_api.js';

export type TenantTx = Transaction<Database>;

export function withTenant<T>(db: Db, tenantId: string, body: (tx: TenantTx) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (tx) => {
    await sql`SELECT set_config('app.tenant_id', ${tenantId}, true)`.execute(tx);
    await sql`SET LOCAL ROLE ${sql.id(tenantRole)}`.execute(tx);
    return body(tx);
  });
}
