/**
 * Everything a finished call leaves behind, beyond its turns: the callee's number (in a
 * column only), latency metrics per turn, usage per agent, the post-call analysis, what
 * the agent captured (answers, callback requests), and an outbox of the call's domain
 * events from which webhooks are delivered. Every table is keyed so that writing the same
 * fact twice (a retried activity, a redelivered event) changes nothing.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('calls')
    .addColumn('callee_e164', 'text')
    .addColumn('sip_status_code', 'integer')
    .addColumn('end_reason', 'text')
    /** Number of agents that served the call (more than one after a media worker loss). */
    .addColumn('agent_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_id', 'text')
    .execute();

  await db.schema
    .createTable('call_turn_metrics')
    .addColumn('call_id', 'text', (c) => c.notNull().references('calls.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('eou_delay_ms', 'real', (c) => c.notNull())
    .addColumn('stt_ms', 'real')
    .addColumn('llm_ttft_ms', 'real', (c) => c.notNull())
    .addColumn('tts_ttfb_ms', 'real', (c) => c.notNull())
    .addColumn('voice_to_voice_ms', 'real', (c) => c.notNull())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('call_turn_metrics_pk', ['call_id', 'seq'])
    .execute();

  // One row per `usage` event: an agent reports its own usage when it leaves, so a
  // resumed call has one row per agent; sum them for the call.
  await db.schema
    .createTable('call_usage')
    .addColumn('call_id', 'text', (c) => c.notNull().references('calls.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('stt_audio_s', 'real', (c) => c.notNull())
    .addColumn('tts_characters', 'integer', (c) => c.notNull())
    .addColumn('llm_input_tokens', 'integer', (c) => c.notNull())
    .addColumn('llm_output_tokens', 'integer', (c) => c.notNull())
    .addColumn('llm_model', 'text', (c) => c.notNull())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('call_usage_pk', ['call_id', 'seq'])
    .execute();

  await db.schema
    .createTable('call_analyses')
    .addColumn('call_id', 'text', (c) => c.primaryKey().references('calls.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status IN ('ok', 'failed')`))
    .addColumn('summary', 'text')
    .addColumn('disposition', 'text')
    .addColumn('sentiment', 'text')
    .addColumn('goal_met', 'boolean')
    /** The campaign's own fields, as the model filled them. */
    .addColumn('fields', 'jsonb')
    /** Why the analysis failed, when it did: never silently dropped. */
    .addColumn('error', 'text')
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('call_answers')
    .addColumn('call_id', 'text', (c) => c.notNull().references('calls.id').onDelete('cascade'))
    .addColumn('field', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('call_answers_pk', ['call_id', 'field'])
    .execute();

  await db.schema
    .createTable('call_callbacks')
    .addColumn('call_id', 'text', (c) => c.notNull().references('calls.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    /** As the caller said it, or ISO 8601. */
    .addColumn('requested_when', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('call_callbacks_pk', ['call_id', 'seq'])
    .execute();

  // The outbox the webhook deliverer reads. IDs are deterministic (`<callId>:<type>`), so
  // an activity retried after a crash inserts nothing new and receivers see one event ID.
  await db.schema
    .createTable('domain_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('call_id', 'text')
    .addColumn('campaign_id', 'text')
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('domain_events_tenant_idx').on('domain_events').columns(['tenant_id', 'created_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['domain_events', 'call_callbacks', 'call_answers', 'call_analyses', 'call_usage', 'call_turn_metrics']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
  await db.schema
    .alterTable('calls')
    .dropColumn('callee_e164')
    .dropColumn('sip_status_code')
    .dropColumn('end_reason')
    .dropColumn('agent_count')
    .dropColumn('next_attempt_id')
    .execute();
}
