/**
 * The core records that outlive workflow retention: tenants, calls, their turns, and
 * each tenant's do-not-call list. Later migrations add campaigns, contacts, analyses,
 * usage and the API's tables. Phone numbers live only in columns, never in keys or IDs.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('tenants')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('calls')
    // The call workflow's ID: names tenant, campaign, contact and attempt, never a number.
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('campaign_id', 'text')
    .addColumn('contact_id', 'text')
    .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('direction', 'text', (c) => c.notNull().check(sql`direction IN ('outbound', 'inbound')`))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('disposition', 'text')
    .addColumn('room_name', 'text')
    .addColumn('started_at', 'timestamptz')
    .addColumn('answered_at', 'timestamptz')
    .addColumn('ended_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('calls_tenant_created_idx').on('calls').columns(['tenant_id', 'created_at']).execute();
  await db.schema.createIndex('calls_campaign_idx').on('calls').columns(['tenant_id', 'campaign_id']).execute();

  await db.schema
    .createTable('call_turns')
    .addColumn('call_id', 'text', (c) => c.notNull().references('calls.id').onDelete('cascade'))
    // The media worker's per-call event sequence number: makes writes idempotent.
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role IN ('user', 'agent')`))
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('interrupted', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('call_turns_pk', ['call_id', 'seq'])
    .execute();

  await db.schema
    .createTable('do_not_call')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('phone_e164', 'text', (c) => c.notNull().check(sql`phone_e164 ~ '^\\+[1-9][0-9]{6,14}$'`))
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('do_not_call_pk', ['tenant_id', 'phone_e164'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['do_not_call', 'call_turns', 'calls', 'tenants']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
