/**
 * The integrator API's records and tenant isolation in the database itself.
 *
 * - `api_keys`: only a SHA-256 of each key is kept (keys are 256-bit random, so a fast
 *   hash is enough); the visible prefix finds the row.
 * - `idempotency_keys`: the first response to a POST, replayed for the same key.
 * - `audit_log`: append-only; a trigger refuses UPDATE, DELETE and TRUNCATE.
 * - `agents`, `webhook_endpoints`, `webhook_deliveries`, `erasures`.
 *
 * Row-level security: the API runs each request as the role `kickcall_api` (SET LOCAL
 * ROLE) with `app.tenant_id` set for the transaction. Policies on every tenant table let
 * that role see and write its tenant's rows only; an unset tenant is an error, not
 * "everything". The application role owns the tables and is not subject to the policies
 * (workers act for every tenant). The cluster bootstrap creates `kickcall_api`; on a
 * database it does not manage, create it first (see README).
 */
import { sql, type Kysely } from 'kysely';

export const tenantRole = 'kickcall_api';

/** Tables with a tenant_id column, and the API's rights on each. */
const tenantTables: Record<string, string> = {
  /** UPDATE: erasure clears a call's number. */
  calls: 'SELECT, UPDATE',
  do_not_call: 'SELECT, INSERT, DELETE',
  domain_events: 'SELECT',
  campaigns: 'SELECT, INSERT, UPDATE',
  contacts: 'SELECT, INSERT, UPDATE, DELETE',
  contact_imports: 'SELECT, INSERT',
  outbound_trunks: 'SELECT, INSERT, UPDATE, DELETE',
  api_keys: 'SELECT, INSERT, UPDATE',
  idempotency_keys: 'SELECT, INSERT, UPDATE, DELETE',
  audit_log: 'SELECT, INSERT',
  agents: 'SELECT, INSERT, UPDATE, DELETE',
  webhook_endpoints: 'SELECT, INSERT, UPDATE, DELETE',
  webhook_deliveries: 'SELECT',
  erasures: 'SELECT, INSERT',
};

/** Tables keyed by call: a row is visible when its call is (the calls policy applies inside). */
const callTables: Record<string, string> = {
  call_turns: 'SELECT, DELETE',
  call_turn_metrics: 'SELECT',
  call_usage: 'SELECT',
  call_analyses: 'SELECT, DELETE',
  call_answers: 'SELECT, DELETE',
  call_callbacks: 'SELECT, DELETE',
};

export async function up(db: Kysely<unknown>): Promise<void> {
  const role = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_roles WHERE rolname = ${tenantRole}`.execute(db);
  if (role.rows[0]?.n !== 1) {
    throw new Error(`role ${tenantRole} is missing: as a superuser run CREATE ROLE ${tenantRole} NOLOGIN; GRANT ${tenantRole} TO <application role>`);
  }

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role IN ('admin', 'operator', 'viewer')`))
    /** Shown in lists so a key can be recognised: `kk_` and 12 hex digits, also the lookup key. */
    .addColumn('prefix', 'text', (c) => c.notNull().unique())
    .addColumn('secret_sha256', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('api_keys_tenant_idx').on('api_keys').columns(['tenant_id', 'created_at']).execute();

  await db.schema
    .createTable('idempotency_keys')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('api_key_id', 'text', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    /** SHA-256 of the request body: the same key with another body is refused. */
    .addColumn('request_sha256', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state IN ('pending', 'complete')`))
    .addColumn('response_status', 'integer')
    .addColumn('response_headers', 'jsonb')
    .addColumn('response_body', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['tenant_id', 'key'])
    .execute();
  await db.schema.createIndex('idempotency_keys_created_idx').on('idempotency_keys').column('created_at').execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('api_key_id', 'text')
    .addColumn('role', 'text')
    .addColumn('method', 'text', (c) => c.notNull())
    /** The route pattern (`/v1/calls/:callId`), never a query string. */
    .addColumn('route', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text')
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('ip', 'text')
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('audit_log_tenant_idx').on('audit_log').columns(['tenant_id', 'id']).execute();
  await sql`
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
    END $$`.execute(db);
  await sql`CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`.execute(db);
  await sql`CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()`.execute(db);

  await db.schema
    .createTable('agents')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    /** AgentSettings, validated by the API. */
    .addColumn('settings', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('agents_pk', ['tenant_id', 'id'])
    .execute();

  await db.schema
    .createTable('webhook_endpoints')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    /** Event types delivered to this endpoint, e.g. ["call.ended", "campaign.completed"]. */
    .addColumn('event_types', 'jsonb', (c) => c.notNull())
    /** The signing secret (`whsec_...`); the previous one still signs until it expires. */
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('previous_secret', 'text')
    .addColumn('previous_secret_expires_at', 'timestamptz')
    .addColumn('enabled', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('webhook_endpoints_tenant_idx').on('webhook_endpoints').columns(['tenant_id', 'created_at']).execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('endpoint_id', 'text', (c) => c.notNull().references('webhook_endpoints.id').onDelete('cascade'))
    /** The domain event's ID: the same across every attempt. */
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull().check(sql`outcome IN ('delivered', 'failed')`))
    .addColumn('response_status', 'integer')
    .addColumn('error', 'text')
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('attempted_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('webhook_deliveries_attempt_unique', ['endpoint_id', 'event_id', 'attempt'])
    .execute();
  await db.schema.createIndex('webhook_deliveries_endpoint_idx').on('webhook_deliveries').columns(['endpoint_id', 'id']).execute();

  await db.schema.alterTable('domain_events').addColumn('dispatched_at', 'timestamptz').execute();
  await db.schema.createIndex('domain_events_undispatched_idx').on('domain_events').column('created_at').where(sql.ref('dispatched_at'), 'is', null).execute();

  await db.schema
    .createTable('erasures')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    /** SHA-256 of the erased number with the tenant ID: proves what was erased without keeping it. */
    .addColumn('phone_sha256', 'text', (c) => c.notNull())
    .addColumn('api_key_id', 'text')
    .addColumn('counts', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // Tenant isolation for the API's role.
  await sql`GRANT USAGE ON SCHEMA public TO ${sql.id(tenantRole)}`.execute(db);
  await sql`GRANT SELECT ON tenants TO ${sql.id(tenantRole)}`.execute(db);
  await sql`ALTER TABLE tenants ENABLE ROW LEVEL SECURITY`.execute(db);
  await sql`CREATE POLICY tenant_isolation ON tenants TO ${sql.id(tenantRole)} USING (id = current_setting('app.tenant_id'))`.execute(db);
  for (const [table, rights] of Object.entries(tenantTables)) {
    await sql`GRANT ${sql.raw(rights)} ON ${sql.table(table)} TO ${sql.id(tenantRole)}`.execute(db);
    await sql`ALTER TABLE ${sql.table(table)} ENABLE ROW LEVEL SECURITY`.execute(db);
    await sql`CREATE POLICY tenant_isolation ON ${sql.table(table)} TO ${sql.id(tenantRole)}
      USING (tenant_id = current_setting('app.tenant_id')) WITH CHECK (tenant_id = current_setting('app.tenant_id'))`.execute(db);
  }
  for (const [table, rights] of Object.entries(callTables)) {
    await sql`GRANT ${sql.raw(rights)} ON ${sql.table(table)} TO ${sql.id(tenantRole)}`.execute(db);
    await sql`ALTER TABLE ${sql.table(table)} ENABLE ROW LEVEL SECURITY`.execute(db);
    await sql`CREATE POLICY tenant_isolation ON ${sql.table(table)} TO ${sql.id(tenantRole)}
      USING (EXISTS (SELECT 1 FROM calls c WHERE c.id = call_id))`.execute(db);
  }
  await sql`GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${sql.id(tenantRole)}`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [...Object.keys(tenantTables), ...Object.keys(callTables), 'tenants']) {
    await sql`DROP POLICY IF EXISTS tenant_isolation ON ${sql.table(table)}`.execute(db).catch(() => undefined);
    await sql`ALTER TABLE IF EXISTS ${sql.table(table)} DISABLE ROW LEVEL SECURITY`.execute(db);
  }
  await sql`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${sql.id(tenantRole)}`.execute(db);
  await db.schema.alterTable('domain_events').dropColumn('dispatched_at').execute();
  for (const table of ['erasures', 'webhook_deliveries', 'webhook_endpoints', 'agents', 'audit_log', 'idempotency_keys', 'api_keys']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
  await sql`DROP FUNCTION IF EXISTS audit_log_append_only()`.execute(db);
}
