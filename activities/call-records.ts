/**
 * The call's records in PostgreSQL: its row, what the agent captured (answers, callback
 * requests) and the domain events webhooks are delivered from. Every write is keyed so a
 * retried activity changes nothing: rows by call ID (and seq or field), events by a
 * deterministic ID.
 */
import { sql } from 'kysely';
import type { Db } from '../deploy/db/schema.js';
import { metrics } from '../deploy/telemetry/metrics.js';

export interface CallRow {
  callId: string;
  tenantId: string;
  campaignId?: string;
  contactId?: string;
  /** The saved agent the call speaks as. */
  agentId?: string;
  attempt: number;
  direction: 'outbound' | 'inbound';
  roomName: string;
  /** E.164, for outbound calls; kept in its column only. */
  calleeE164?: string;
  /** For a campaign's call: its start minus when the campaign's pacer planned it. */
  schedulingLagMs?: number;
}

export interface CallUpdate {
  callId: string;
  status?: string;
  disposition?: string;
  endReason?: string;
  sipStatusCode?: number;
  agentCount?: number;
  nextAttemptId?: string;
  /** ISO timestamps, from workflow time. */
  startedAt?: string;
  answeredAt?: string;
  endedAt?: string;
}

export type DomainEventType = 'call.started' | 'call.answered' | 'call.ended' | 'call.analyzed';

export interface DomainEventInput {
  tenantId: string;
  callId: string;
  campaignId?: string;
  type: DomainEventType;
  payload: Record<string, unknown>;
  /** ISO, from workflow time. */
  occurredAt: string;
}

/** One event of each type per call: its ID is stable across retries and redeliveries. */
export function domainEventId(callId: string, type: DomainEventType): string {
  return `${callId}:${type}`;
}

export interface CallAnswer {
  callId: string;
  seq: number;
  field: string;
  value: string;
}

/**
 * What the agent captured for the campaign; the latest answer to a field wins. The event
 * bridge writes it as the agent reports it (the value stays out of workflow history);
 * the `recordAnswer` activity does for events signalled before that.
 */
export async function writeAnswer(db: Db, input: CallAnswer): Promise<void> {
  await db
    .insertInto('call_answers')
    .values({ call_id: input.callId, field: input.field, value: input.value, seq: input.seq })
    .onConflict((oc) => oc.columns(['call_id', 'field']).doUpdateSet({ value: input.value, seq: input.seq }).where('call_answers.seq', '<', input.seq))
    .execute();
}

export interface CallbackRequest {
  callId: string;
  seq: number;
  /** As the caller put it ("tomorrow after five"). */
  when: string;
}

/** A callback the caller asked for, once per event; written by the event bridge, like answers. */
export async function writeCallback(db: Db, input: CallbackRequest): Promise<void> {
  await db
    .insertInto('call_callbacks')
    .values({ call_id: input.callId, seq: input.seq, requested_when: input.when })
    .onConflict((oc) => oc.columns(['call_id', 'seq']).doNothing())
    .execute();
}

export interface AgentNote {
  callId: string;
  seq: number;
  tool: 'transfer_to_human' | 'end_call';
  /** The agent's reason, in its words. */
  note: string;
}

/** The reason the agent gave for a transfer or an end of call, once per event; written by the event bridge. */
export async function writeAgentNote(db: Db, input: AgentNote): Promise<void> {
  await db
    .insertInto('call_agent_notes')
    .values({ call_id: input.callId, seq: input.seq, tool: input.tool, note: input.note })
    .onConflict((oc) => oc.columns(['call_id', 'seq']).doNothing())
    .execute();
}

export function createCallRecordActivities(deps: { db: Db }) {
  const { db } = deps;
  return {
    /** Creates the call's row; a second time (retry, replay) leaves it as it is. */
    async recordCall(row: CallRow): Promise<void> {
      await db
        .insertInto('tenants')
        .values({ id: row.tenantId, name: row.tenantId })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
      await db
        .insertInto('calls')
        .values({
          id: row.callId,
          tenant_id: row.tenantId,
          campaign_id: row.campaignId ?? null,
          contact_id: row.contactId ?? null,
          agent_id: row.agentId ?? null,
          attempt: row.attempt,
          direction: row.direction,
          status: 'scheduled',
          room_name: row.roomName,
          callee_e164: row.calleeE164 ?? null,
          scheduling_lag_ms: row.schedulingLagMs ?? null,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    },

    /**
     * Updates the call's row and writes the domain events the change announces, in one
     * transaction: an event is never announced for a change that was not written, nor
     * lost for one that was. (Calls from before `records-as-local-activities` pass no
     * events and emit them one by one with `emitDomainEvent`.)
     */
    async updateCall(update: CallUpdate, events: DomainEventInput[] = []): Promise<void> {
      const set = {
        ...(update.status !== undefined && { status: update.status }),
        ...(update.disposition !== undefined && { disposition: update.disposition }),
        ...(update.endReason !== undefined && { end_reason: update.endReason }),
        ...(update.sipStatusCode !== undefined && { sip_status_code: update.sipStatusCode }),
        ...(update.agentCount !== undefined && { agent_count: update.agentCount }),
        ...(update.nextAttemptId !== undefined && { next_attempt_id: update.nextAttemptId }),
        ...(update.startedAt !== undefined && { started_at: update.startedAt }),
        ...(update.answeredAt !== undefined && { answered_at: update.answeredAt }),
        ...(update.endedAt !== undefined && { ended_at: update.endedAt }),
      };
      const write = async (q: Db) => {
        await q
          .updateTable('calls')
          .set({ ...set, updated_at: sql<Date>`now()` })
          .where('id', '=', update.callId)
          .execute();
        for (const event of events) await insertDomainEvent(q, event);
      };
      await (events.length === 0 ? write(db) : db.transaction().execute(write));
      if (update.disposition !== undefined) metrics.callsEnded.inc({ disposition: update.disposition });
    },

    /** An answer signalled with its value (events from before the bridge wrote them). */
    async recordAnswer(input: CallAnswer): Promise<void> {
      await writeAnswer(db, input);
    },

    /** A callback request signalled with its time (events from before the bridge wrote them). */
    async recordCallback(input: CallbackRequest): Promise<void> {
      await writeCallback(db, input);
    },

    async emitDomainEvent(event: DomainEventInput): Promise<{ id: string }> {
      return { id: await insertDomainEvent(db, event) };
    },
  };
}

/** Writes one domain event; a second time (retry, replay) leaves the first as it is. */
async function insertDomainEvent(q: Db, event: DomainEventInput): Promise<string> {
  const id = domainEventId(event.callId, event.type);
  await q
    .insertInto('domain_events')
    .values({
      id,
      tenant_id: event.tenantId,
      type: event.type,
      call_id: event.callId,
      campaign_id: event.campaignId ?? null,
      payload: JSON.stringify(event.payload),
      occurred_at: event.occurredAt,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  return id;
}

export type CallRecordActivities = ReturnType<typeof createCallRecordActivities>;
