/**
 * Erasure reaches the events too: the API's tenant role may rewrite a domain event's
 * payload (an erased call's `call.analyzed` loses its summary), and nothing else of it.
 * Row-level security already confines it to the caller's tenant.
 */
import { sql, type Kysely } from 'kysely';
import { tenantRole } from './0005_api.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`GRANT UPDATE (payload) ON domain_events TO ${sql.id(tenantRole)}`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`REVOKE UPDATE (payload) ON domain_events FROM ${sql.id(tenantRole)}`.execute(db);
}
