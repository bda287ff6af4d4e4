/**
 * Calls settle their own outcome with their campaign (the contact's next state, the lines
 * it frees, its price) instead of signalling the campaign workflow once per call. The
 * campaign row keeps the running figures that used to live in the workflow (spend, priced
 * calls, outcomes per attempt), and says what the sleeping campaign is waiting for, so
 * the one call that can wake it does: `wake_when` is 'call_ends' (any call's end) or
 * 'idle_or_due' (the last call in flight ends, or a redial falls due before
 * `wake_due_before`; null there means nothing else is due), and null while it is awake.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('campaigns')
    .addColumn('cost_usd', 'float8', (c) => c.notNull().defaultTo(0))
    .addColumn('costed_calls', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('attempt_outcomes', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('wake_when', 'text')
    .addColumn('wake_due_before', 'timestamptz')
    .execute();
  await sql`alter table campaigns add constraint campaigns_wake_when_check check (wake_when in ('call_ends', 'idle_or_due'))`.execute(db);
  // Figures of campaigns that ran before: their priced calls and ended attempts.
  await sql`
    update campaigns c set
      cost_usd = coalesce((select sum(cost_usd) from calls where campaign_id = c.id), 0),
      costed_calls = (select count(cost_usd)::int from calls where campaign_id = c.id),
      attempt_outcomes = coalesce((select jsonb_object_agg(disposition, n) from (select disposition, count(*)::int as n from calls where campaign_id = c.id and disposition is not null group by disposition) d), '{}'::jsonb)
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('campaigns')
    .dropConstraint('campaigns_wake_when_check')
    .execute();
  for (const column of ['cost_usd', 'costed_calls', 'attempt_outcomes', 'wake_when', 'wake_due_before']) {
    await db.schema.alterTable('campaigns').dropColumn(column).execute();
  }
}
