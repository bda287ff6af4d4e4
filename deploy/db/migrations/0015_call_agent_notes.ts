/**
 * Why the agent transferred or ended a call, in its own words ("wants to discuss the
 * invoice for the flat on Elm Street"): the event bridge writes it here as the agent
 * reports it, so it stays out of workflow history, which is kept in Temporal and cannot
 * be erased. Tenants see a note when they see its call, like the call's other rows.
 */
import { sql, type Kysely } from 'kysely';
import { tenantRole } from './0005_api.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('call_agent_notes')
    .addColumn('call_id', 'text', (c) => c.notNull().references('calls.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    /** The tool whose argument this was: `transfer_to_human` or `end_call`. */
    .addColumn('tool', 'text', (c) => c.notNull())
    .addColumn('note', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('call_agent_notes_pk', ['call_id', 'seq'])
    .execute();
  await sql`GRANT SELECT, DELETE ON call_agent_notes TO ${sql.id(tenantRole)}`.execute(db);
  await sql`ALTER TABLE call_agent_notes ENABLE ROW LEVEL SECURITY`.execute(db);
  await sql`CREATE POLICY tenant_isolation ON call_agent_notes TO ${sql.id(tenantRole)}
    USING (EXISTS (SELECT 1 FROM calls c WHERE c.id = call_id))`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('call_agent_notes').ifExists().execute();
}
