/**
 * When each campaign was paused and until when: its achieved pace is dials over the time
 * it was dialling, so a pause over lunch or over a weekend does not read as a slow
 * campaign, nor push its estimated completion out. The campaign's status writes (the
 * `setCampaignStatus` activity) open a row on a pause and close it on the next status.
 */
import { sql, type Kysely } from 'kysely';
import { tenantRole } from './0005_api.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('campaign_pauses')
    .addColumn('campaign_id', 'text', (c) => c.notNull().references('campaigns.id').onDelete('cascade'))
    .addColumn('paused_at', 'timestamptz', (c) => c.notNull())
    /** Null while the campaign is still paused. */
    .addColumn('ended_at', 'timestamptz')
    .addPrimaryKeyConstraint('campaign_pauses_pk', ['campaign_id', 'paused_at'])
    .execute();
  // At most one open pause per campaign, so a retried status write cannot open a second.
  await sql`CREATE UNIQUE INDEX campaign_pauses_one_open ON campaign_pauses (campaign_id) WHERE ended_at IS NULL`.execute(db);
  await sql`GRANT SELECT ON campaign_pauses TO ${sql.id(tenantRole)}`.execute(db);
  await sql`ALTER TABLE campaign_pauses ENABLE ROW LEVEL SECURITY`.execute(db);
  await sql`CREATE POLICY tenant_isolation ON campaign_pauses TO ${sql.id(tenantRole)}
    USING (EXISTS (SELECT 1 FROM campaigns c WHERE c.id = campaign_id))`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('campaign_pauses').ifExists().execute();
}
