/**
 * Which saved agent a call spoke as (null for an agent given inline), so latency and cost
 * analytics can be read per agent as well as per campaign.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('calls').addColumn('agent_id', 'text').execute();
  await db.schema.createIndex('calls_tenant_agent_idx').on('calls').columns(['tenant_id', 'agent_id']).where('agent_id', 'is not', null).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('calls_tenant_agent_idx').ifExists().execute();
  await db.schema.alterTable('calls').dropColumn('agent_id').execute();
}
