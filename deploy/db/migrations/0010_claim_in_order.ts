/**
 * The claim takes a campaign's next few due contacts in order. With 100,000 queued it read
 * and sorted every open contact (~97 ms a claim, bench/results/campaign.md), because the
 * planner judged the calling-window test, written inline, to keep only a handful of rows
 * and so preferred sorting to walking an index in claim order. The window test is now one
 * function the planner cannot see into (it assumes a third of the rows pass), and an
 * index in claim order lets it stop after the few it needs.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Whether `at` falls inside the window in the contact's own zone (PostgreSQL's tz
  // database, DST included): on one of `days` (ISO, Monday = 1), from `opens` until `closes`.
  await sql`
    create function kickcall_in_calling_window(at timestamptz, zone text, days int[], opens time, closes time) returns boolean
    language plpgsql stable parallel safe as $$
    declare
      local timestamp := at at time zone zone;
    begin
      return extract(isodow from local)::int = any(days) and local::time >= opens and local::time < closes;
    end
    $$
  `.execute(db);
  await sql`create index contacts_claim_order_idx on contacts (campaign_id, next_attempt_at nulls first, source_row) where state in ('pending', 'retry_wait')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('contacts_claim_order_idx').ifExists().execute();
  await sql`drop function if exists kickcall_in_calling_window(timestamptz, text, int[], time, time)`.execute(db);
}
