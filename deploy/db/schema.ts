/**
 * The database as Kysely sees it: one interface per table, matching the migrations, and
 * the one way to open a pool. Activities, the event bridge and the API take a `Db`.
 */
import { Kysely, PostgresDialect, type ColumnType, type Generated } from 'kysely';
import pg from 'pg';

/** timestamptz: read as Date, written as Date or ISO string. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json = ColumnType<unknown, string, string>;

export interface TenantsTable {
  id: string;
  name: string;
  /** Null: kept until erased. */
  retention_days: number | null;
  created_at: Generated<Date>;
}

export interface CallsTable {
  id: string;
  tenant_id: string;
  campaign_id: string | null;
  contact_id: string | null;
  /** The saved agent the call spoke as; null when its agent was given inline. */
  agent_id: string | null;
  attempt: Generated<number>;
  direction: 'outbound' | 'inbound';
  status: string;
  disposition: string | null;
  room_name: string | null;
  callee_e164: string | null;
  sip_status_code: number | null;
  end_reason: string | null;
  agent_count: Generated<number>;
  next_attempt_id: string | null;
  cost_usd: number | null;
  scheduling_lag_ms: number | null;
  /** When retention removed the call's personal data. */
  purged_at: Timestamp | null;
  started_at: Timestamp | null;
  answered_at: Timestamp | null;
  ended_at: Timestamp | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/** A campaign's pauses (migration 0016); `ended_at` is null while it is paused. */
export interface CampaignPausesTable {
  campaign_id: string;
  paused_at: Timestamp;
  ended_at: Timestamp | null;
}

export interface CallTurnsTable {
  call_id: string;
  seq: number;
  role: 'user' | 'agent';
  text: string;
  interrupted: Generated<boolean>;
  occurred_at: Timestamp;
}

export interface CallTurnMetricsTable {
  call_id: string;
  seq: number;
  eou_delay_ms: number;
  stt_ms: number | null;
  llm_ttft_ms: number;
  tts_ttfb_ms: number;
  voice_to_voice_ms: number;
  occurred_at: Timestamp;
}

export interface CallUsageTable {
  call_id: string;
  seq: number;
  stt_audio_s: number;
  tts_characters: number;
  llm_input_tokens: number;
  llm_output_tokens: number;
  llm_model: string;
  occurred_at: Timestamp;
}

export interface CallAnalysesTable {
  call_id: string;
  status: 'ok' | 'failed';
  summary: string | null;
  disposition: string | null;
  sentiment: string | null;
  goal_met: boolean | null;
  fields: Json | null;
  error: string | null;
  model: string;
  attempts: number;
  created_at: Generated<Date>;
}

export interface CallAnswersTable {
  call_id: string;
  field: string;
  value: string;
  seq: number;
}

export interface CallCallbacksTable {
  call_id: string;
  seq: number;
  requested_when: string;
  created_at: Generated<Date>;
}

/** Why the agent transferred or ended the call, in its words (migration 0015). */
export interface CallAgentNotesTable {
  call_id: string;
  seq: number;
  tool: string;
  note: string;
  created_at: Generated<Date>;
}

export interface DoNotCallTable {
  tenant_id: string;
  phone_e164: string;
  source: string;
  created_at: Generated<Date>;
  /** The entry's number, for paging without the phone number (bigint, read as a string). */
  entry: Generated<string>;
}

export interface DomainEventsTable {
  id: string;
  tenant_id: string;
  type: string;
  call_id: string | null;
  campaign_id: string | null;
  payload: Json;
  occurred_at: Timestamp;
  created_at: Generated<Date>;
  /** Set once the webhook relay has started a delivery per subscribed endpoint. */
  dispatched_at: Timestamp | null;
}

export interface CampaignsTable {
  id: string;
  tenant_id: string;
  name: string;
  status: Generated<string>;
  config: ColumnType<unknown, string | undefined, string>;
  stop_reason: string | null;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  /** Spend on priced calls and how many, kept as calls are priced. */
  cost_usd: Generated<number>;
  costed_calls: Generated<number>;
  /** Ended attempts by disposition. */
  attempt_outcomes: ColumnType<Partial<Record<string, number>>, string | undefined, string>;
  /** What wakes the sleeping campaign (migration 0009); null while it is awake. */
  wake_when: 'call_ends' | 'idle_or_due' | null;
  wake_due_before: Timestamp | null;
  /** The number of the last wake a call's end sent (migration 0011). */
  wake_seq: Generated<number>;
}

export interface ContactsTable {
  campaign_id: string;
  id: string;
  tenant_id: string;
  phone_e164: string;
  time_zone: string;
  consent: boolean;
  fields: ColumnType<unknown, string | undefined, string>;
  import_id: string;
  source_row: number;
  state: Generated<string>;
  attempts: Generated<number>;
  next_attempt_at: Timestamp | null;
  last_disposition: string | null;
  claim_id: string | null;
  call_id: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface ContactImportsTable {
  id: string;
  campaign_id: string;
  tenant_id: string;
  rows: number;
  imported: number;
  duplicates: number;
  invalid: number;
  issues: Json;
  created_at: Generated<Date>;
}

export interface OutboundTrunksTable {
  tenant_id: string;
  id: string;
  address: string;
  numbers: ColumnType<string[], string, string>;
  max_calls_per_second: number;
  max_channels: number;
  created_at: Generated<Date>;
}

export interface CapacityLeasesTable {
  pool: string;
  holder: string;
  created_at: Generated<Date>;
  /** When the holder's call dials (planned); a trunk's calls per second counts these. */
  dial_at: Generated<Date>;
  expires_at: Timestamp;
  released_at: Timestamp | null;
}

export interface SimulatedDialsTable {
  room_name: string;
  requests: Generated<number>;
  first_at: Generated<Date>;
}

export type ApiRole = 'admin' | 'operator' | 'viewer';

export interface ApiKeysTable {
  id: string;
  tenant_id: string;
  name: string;
  role: ApiRole;
  prefix: string;
  secret_sha256: string;
  created_by: string | null;
  created_at: Generated<Date>;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface IdempotencyKeysTable {
  tenant_id: string;
  key: string;
  api_key_id: string;
  method: string;
  path: string;
  request_sha256: string;
  state: 'pending' | 'complete';
  response_status: number | null;
  response_headers: ColumnType<Record<string, string> | null, string | null, string | null>;
  response_body: string | null;
  created_at: Generated<Date>;
}

export interface AuditLogTable {
  id: Generated<string>;
  tenant_id: string;
  api_key_id: string | null;
  role: string | null;
  method: string;
  route: string;
  resource_id: string | null;
  status: number;
  ip: string | null;
  request_id: string;
  occurred_at: Generated<Date>;
}

export interface AgentsTable {
  tenant_id: string;
  id: string;
  name: string;
  settings: ColumnType<unknown, string, string>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface WebhookEndpointsTable {
  id: string;
  tenant_id: string;
  url: string;
  description: string | null;
  event_types: ColumnType<string[], string, string>;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Timestamp | null;
  enabled: Generated<boolean>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface WebhookDeliveriesTable {
  id: Generated<string>;
  tenant_id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  attempt: number;
  outcome: 'delivered' | 'failed';
  response_status: number | null;
  error: string | null;
  duration_ms: number;
  attempted_at: Generated<Date>;
}

export interface ErasuresTable {
  id: string;
  tenant_id: string;
  /** HMAC-SHA-256 of `tenant:number` under the erasure key; null on records from before it. */
  phone_hmac: string | null;
  api_key_id: string | null;
  counts: Json;
  created_at: Generated<Date>;
}

export interface Database {
  tenants: TenantsTable;
  calls: CallsTable;
  call_turns: CallTurnsTable;
  call_turn_metrics: CallTurnMetricsTable;
  call_usage: CallUsageTable;
  call_analyses: CallAnalysesTable;
  call_answers: CallAnswersTable;
  call_callbacks: CallCallbacksTable;
  call_agent_notes: CallAgentNotesTable;
  do_not_call: DoNotCallTable;
  domain_events: DomainEventsTable;
  campaigns: CampaignsTable;
  campaign_pauses: CampaignPausesTable;
  contacts: ContactsTable;
  contact_imports: ContactImportsTable;
  outbound_trunks: OutboundTrunksTable;
  capacity_leases: CapacityLeasesTable;
  simulated_dials: SimulatedDialsTable;
  api_keys: ApiKeysTable;
  idempotency_keys: IdempotencyKeysTable;
  audit_log: AuditLogTable;
  agents: AgentsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  erasures: ErasuresTable;
}

export type Db = Kysely<Database>;

/** Opens a pooled connection; close it with `db.destroy()`. */
export function createDb(databaseUrl: string, opts: { maxConnections?: number } = {}): Db {
  return new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl, max: opts.maxConnections ?? 10 }) }),
  });
}
