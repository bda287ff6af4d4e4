/**
 * When a leased call dials. Campaigns claim contacts a few seconds before their slots, so
 * a trunk's calls per second is counted by planned dial time, not by when a lease was
 * taken. Leases taken before this column dialled when they were taken.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('capacity_leases').addColumn('dial_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`)).execute();
  await sql`update capacity_leases set dial_at = created_at`.execute(db);
  await db.schema.createIndex('capacity_leases_pool_dial_idx').on('capacity_leases').columns(['pool', 'dial_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('capacity_leases_pool_dial_idx').ifExists().execute();
  await db.schema.alterTable('capacity_leases').dropColumn('dial_at').execute();
}
