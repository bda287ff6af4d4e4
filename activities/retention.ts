/**
 * Retention: for each tenant with `retention_days`, the personal data of calls that ended
 * longer ago than that is deleted (turns, analysis and the summary in its event, captured
 * answers, callback requests)
 * and the number cleared; the call row stays, with its disposition, usage and cost, for
 * reporting. Contacts of campaigns that finished that long ago are deleted. Expired
 * idempotency keys go too. Batched, idempotent and heartbeating: a retry resumes.
 */
import { sql, type Kysely } from 'kysely';
import type { Database, Db } from '../deploy/db/schema.js';
import { heartbeating } from './heartbeat.js';

export interface RetentionReport {
  tenants: number;
  callsPurged: number;
  contactsDeleted: number;
  idempotencyKeysDeleted: number;
}

const batchSize = 500;

/**
 * The `call.analyzed` events of these calls lose the summary the LLM wrote about the
 * conversation (it can repeat what the caller said); the event stays, marked erased, so
 * its webhook and any retry of it still go out, without the summary.
 */
export async function scrubAnalysisEvents(tx: Kysely<Database>, callIds: string[]): Promise<void> {
  if (callIds.length === 0) return;
  await tx
    .updateTable('domain_events')
    .set({ payload: sql`(payload - 'summary') || '{"summaryErased": true}'::jsonb` })
    .where('type', '=', 'call.analyzed')
    .where('call_id', 'in', callIds)
    .where(sql<boolean>`payload ? 'summary'`)
    .execute();
}

export function createRetentionActivities(deps: { db: Db }) {
  const { db } = deps;

  async function purgeCalls(tenantId: string, before: Date): Promise<number> {
    let purged = 0;
    for (;;) {
      const n = await db.transaction().execute(async (trx) => {
        const ids = (
          await trx.selectFrom('calls').select('id').where('tenant_id', '=', tenantId).where('purged_at', 'is', null).where('ended_at', '<', before).limit(batchSize).forUpdate().skipLocked().execute()
        ).map((c) => c.id);
        if (ids.length === 0) return 0;
        for (const table of ['call_turns', 'call_analyses', 'call_answers', 'call_callbacks', 'call_agent_notes'] as const) await trx.deleteFrom(table).where('call_id', 'in', ids).execute();
        await scrubAnalysisEvents(trx, ids);
        await trx.updateTable('calls').set({ callee_e164: null, purged_at: sql<Date>`now()` }).where('id', 'in', ids).execute();
        return ids.length;
      });
      purged += n;
      if (n < batchSize) return purged;
    }
  }

  return {
    async purgeExpiredRecords(input: { nowMs: number }): Promise<RetentionReport> {
      return heartbeating(async () => {
        const report: RetentionReport = { tenants: 0, callsPurged: 0, contactsDeleted: 0, idempotencyKeysDeleted: 0 };
        const tenants = await db.selectFrom('tenants').select(['id', 'retention_days']).where('retention_days', 'is not', null).execute();
        for (const t of tenants) {
          const before = new Date(input.nowMs - (t.retention_days ?? 0) * 86_400_000);
          report.tenants++;
          report.callsPurged += await purgeCalls(t.id, before);
          const finished = db.selectFrom('campaigns').select('id').where('tenant_id', '=', t.id).where('finished_at', '<', before);
          const contacts = await db.deleteFrom('contacts').where('tenant_id', '=', t.id).where('campaign_id', 'in', finished).executeTakeFirst();
          report.contactsDeleted += Number(contacts.numDeletedRows);
        }
        const keys = await db.deleteFrom('idempotency_keys').where('created_at', '<', new Date(input.nowMs - 86_400_000)).executeTakeFirst();
        report.idempotencyKeysDeleted = Number(keys.numDeletedRows);
        return report;
      });
    },
  };
}

export type RetentionActivities = ReturnType<typeof createRetentionActivities>;
