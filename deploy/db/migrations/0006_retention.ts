/**
 * Retention per tenant: after `retention_days`, a call's transcript, analysis, captured
 * answers and callback requests are deleted and its number is cleared, and the contacts
 * of campaigns finished that long ago go (the daily retention workflow does it). Null
 * keeps records until erased. The API's role may change this one column of its tenant.
 */
import { sql, type Kysely } from 'kysely';
import { tenantRole } from './0005_api.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('tenants')
    .addColumn('retention_days', 'integer', (c) => c.check(sql`retention_days BETWEEN 1 AND 3650`))
    .execute();
  await db.schema.alterTable('calls').addColumn('purged_at', 'timestamptz').execute();
  await db.schema.createIndex('calls_ended_unpurged_idx').on('calls').columns(['tenant_id', 'ended_at']).where(sql.ref('purged_at'), 'is', null).execute();
  await sql`GRANT UPDATE (retention_days) ON tenants TO ${sql.id(tenantRole)}`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`REVOKE UPDATE (retention_days) ON tenants FROM ${sql.id(tenantRole)}`.execute(db);
  await db.schema.dropIndex('calls_ended_unpurged_idx').ifExists().execute();
  await db.schema.alterTable('calls').dropColumn('purged_at').execute();
  await db.schema.alterTable('tenants').dropColumn('retention_days').execute();
}
