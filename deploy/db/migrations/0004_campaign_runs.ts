/**
 * What a running campaign needs beyond its contacts: which claim took a contact and which
 * call attempt it is in (so a retried claim returns the same contacts instead of taking
 * new ones), outbound trunks with their carrier limits, capacity leases shared by every
 * campaign (trunk channels and calls per second, provider streams), and the per-call
 * figures campaigns report (cost, scheduling lag). Load mode's telephony simulator keeps
 * its dial ledger here too, so a dial retried after a worker crash is seen as a retry.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('contacts')
    /** The claim that moved the contact to `dialling`: a retried claim finds its own rows. */
    .addColumn('claim_id', 'text')
    /** The call workflow of the contact's current or last attempt. */
    .addColumn('call_id', 'text')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('contacts_claim_idx').on('contacts').columns(['campaign_id', 'claim_id']).execute();

  await db.schema
    .alterTable('campaigns')
    .addColumn('stop_reason', 'text')
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('outbound_trunks')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('id', 'text', (c) => c.notNull())
    /** Carrier's SIP address, `host:port`. */
    .addColumn('address', 'text', (c) => c.notNull())
    /** Caller IDs the trunk may present, E.164. */
    .addColumn('numbers', 'jsonb', (c) => c.notNull())
    /** The carrier's limits, shared by every campaign of the tenant on this trunk. */
    .addColumn('max_calls_per_second', 'real', (c) => c.notNull().check(sql`max_calls_per_second > 0`))
    .addColumn('max_channels', 'integer', (c) => c.notNull().check(sql`max_channels > 0`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('outbound_trunks_pk', ['tenant_id', 'id'])
    .execute();

  await db.schema
    .createTable('capacity_leases')
    /** `trunk:<tenant>:<trunk>` or `provider:<name>`: what the lease holds a unit of. */
    .addColumn('pool', 'text', (c) => c.notNull())
    /** The call workflow ID holding it. */
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
    /** A holder that vanished (a terminated campaign) frees its unit at this time. */
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    /** Released units stop counting against the pool's size but still count against its rate for a second. */
    .addColumn('released_at', 'timestamptz')
    .addPrimaryKeyConstraint('capacity_leases_pk', ['pool', 'holder'])
    .execute();
  await db.schema.createIndex('capacity_leases_pool_created_idx').on('capacity_leases').columns(['pool', 'created_at']).execute();

  await db.schema
    .alterTable('calls')
    .addColumn('cost_usd', 'double precision')
    /** Call workflow start minus the time the campaign's pacer planned it for. */
    .addColumn('scheduling_lag_ms', 'real')
    .execute();

  await db.schema
    .createTable('simulated_dials')
    .addColumn('room_name', 'text', (c) => c.primaryKey())
    /** Dial requests for the room; more than one means the dial activity was retried. */
    .addColumn('requests', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('first_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['simulated_dials', 'capacity_leases', 'outbound_trunks']) await db.schema.dropTable(table).ifExists().execute();
  await db.schema.alterTable('calls').dropColumn('cost_usd').dropColumn('scheduling_lag_ms').execute();
  await db.schema.alterTable('campaigns').dropColumn('stop_reason').dropColumn('started_at').dropColumn('finished_at').execute();
  await db.schema.dropIndex('contacts_claim_idx').ifExists().execute();
  await db.schema.alterTable('contacts').dropColumn('claim_id').dropColumn('call_id').dropColumn('updated_at').execute();
}
