/**
 * Campaigns and their contacts. Contacts live here, not in workflow history: a campaign
 * of 100k contacts is rows, and the campaign workflow reads them in pages. A number
 * appears once per campaign (duplicates are reported at import). Each import leaves a
 * record of what it took and what it refused, row by row.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('campaigns')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('draft'))
    /** Agent, schedule, pacing, retry policy, budget: validated by the API before it lands here. */
    .addColumn('config', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('campaigns_tenant_idx').on('campaigns').columns(['tenant_id', 'created_at']).execute();

  await db.schema
    .createTable('contacts')
    .addColumn('campaign_id', 'text', (c) => c.notNull().references('campaigns.id').onDelete('cascade'))
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('phone_e164', 'text', (c) => c.notNull().check(sql`phone_e164 ~ '^\\+[1-9][0-9]{6,14}$'`))
    .addColumn('time_zone', 'text', (c) => c.notNull())
    .addColumn('consent', 'boolean', (c) => c.notNull())
    /** The row's other columns, for the agent. */
    .addColumn('fields', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('import_id', 'text', (c) => c.notNull())
    .addColumn('source_row', 'integer', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz')
    .addColumn('last_disposition', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('contacts_pk', ['campaign_id', 'id'])
    .addUniqueConstraint('contacts_phone_unique', ['campaign_id', 'phone_e164'])
    .execute();
  await db.schema.createIndex('contacts_due_idx').on('contacts').columns(['campaign_id', 'state', 'next_attempt_at']).execute();
  await db.schema.createIndex('contacts_phone_idx').on('contacts').columns(['tenant_id', 'phone_e164']).execute();

  await db.schema
    .createTable('contact_imports')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('campaign_id', 'text', (c) => c.notNull().references('campaigns.id').onDelete('cascade'))
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('rows', 'integer', (c) => c.notNull())
    .addColumn('imported', 'integer', (c) => c.notNull())
    .addColumn('duplicates', 'integer', (c) => c.notNull())
    .addColumn('invalid', 'integer', (c) => c.notNull())
    /** Every refused row with its reason (row number and field; never the value). */
    .addColumn('issues', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['contact_imports', 'contacts', 'campaigns']) await db.schema.dropTable(table).ifExists().execute();
}
