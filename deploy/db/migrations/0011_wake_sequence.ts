/**
 * Numbers the wakes of a sleeping campaign. The call whose end wakes it takes the next
 * number and sends it with its signal; each claim (or drain, or read of a paused
 * campaign's figures) returns the number it saw. The campaign passes again only for a
 * wake numbered after its last read, which it can judge the same way however a workflow
 * task's events reach it (README, "Known SDK race").
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('campaigns')
    .addColumn('wake_seq', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('campaigns').dropColumn('wake_seq').execute();
}
