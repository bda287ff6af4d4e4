/**
 * Numbers do-not-call entries so the list can be paged by entry number, newest first,
 * instead of by the phone number, which a cursor would otherwise carry into URLs and the
 * logs of every proxy on the way.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE do_not_call ADD COLUMN entry bigint GENERATED ALWAYS AS IDENTITY`.execute(db);
  await db.schema.createIndex('do_not_call_page_idx').on('do_not_call').columns(['tenant_id', 'entry']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('do_not_call_page_idx').execute();
  await db.schema.alterTable('do_not_call').dropColumn('entry').execute();
}
