/**
 * Campaign attempts whose call workflow closed without settling: terminated by an operator,
 * failed, timed out or cancelled. A call settles its own attempt with the campaign as it
 * ends (`settleCampaignAttempt`); one that never ran to its end leaves its contact
 * `dialling` for good, and the campaign, counting that line busy and that contact open,
 * never finishes. This sweep (run by the `stranded-attempts` schedule) settles each such
 * attempt as `failed`, without a redial: the callee may have been dialled and spoken to,
 * so calling again is not the safe guess. A call that is still running (waiting for its
 * calling window, ringing, talking) is left alone, however long it has been dialling.
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { sql } from 'kysely';
import type { Db } from '../deploy/db/schema.js';
import type { Logger } from '../deploy/logger.js';
import { callEndedSignal } from '../workflows/campaign/messages.js';
import { campaignWorkflowId } from '../workflows/ids.js';
import type { CampaignActivities } from './campaign.js';

/** How a call workflow can close without having settled its attempt. */
const abnormalCloses = new Set(['TERMINATED', 'FAILED', 'TIMED_OUT', 'CANCELLED']);

export interface StrandedSweepReport {
  /** Attempts dialling for longer than the threshold, looked at. */
  checked: number;
  /** Settled as failed: their call workflow had closed without settling. */
  settled: number;
  /** Their call workflow is still running: left alone. */
  running: number;
  /**
   * No call workflow by that ID: left as they are, and logged. Its start may still be
   * retried (a campaign retries a failed start for as long as it takes), and a settled
   * attempt whose call then started would dial outside the campaign's lines.
   */
  missing: number;
}

export interface StrandedAttemptDeps {
  db: Db;
  temporal: Client;
  /** Settles an attempt with its campaign, as a call does at its end. */
  campaigns: Pick<CampaignActivities, 'settleCampaignAttempt'>;
  log: Logger;
}

type StaleAttempt = { contactId: string; campaignId: string; callId: string | null; attempt: number; tenantId: string };

export function createStrandedAttemptActivities(deps: StrandedAttemptDeps) {
  /**
   * Dialling contacts not touched for `olderThanMs`, by campaign and contact, after `after`.
   * Paged by key alone: a claim gives its contacts one timestamp, so a cursor on it would
   * return the same page again.
   */
  const page = (olderThanMs: number, after: StaleAttempt | undefined, size: number): Promise<StaleAttempt[]> => {
    let q = deps.db
      .selectFrom('contacts')
      .innerJoin('campaigns', 'campaigns.id', 'contacts.campaign_id')
      .select(['contacts.id as contactId', 'contacts.campaign_id as campaignId', 'contacts.call_id as callId', 'contacts.attempts as attempt', 'campaigns.tenant_id as tenantId'])
      .where('contacts.state', '=', 'dialling')
      .where('contacts.call_id', 'is not', null)
      .where('contacts.updated_at', '<', sql<Date>`now() - ${`${olderThanMs} milliseconds`}::interval`);
    if (after) q = q.where(sql<boolean>`(contacts.campaign_id, contacts.id) > (${after.campaignId}, ${after.contactId})`);
    return q.orderBy('contacts.campaign_id').orderBy('contacts.id').limit(size).execute();
  };

  /** How the attempt's call workflow closed, `running`, or `missing`. */
  const callState = async (callId: string): Promise<{ status: string; closedAt?: Date }> => {
    try {
      const described = await deps.temporal.workflow.getHandle(callId).describe();
      return { status: described.status.name, ...(described.closeTime ? { closedAt: described.closeTime } : {}) };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { status: 'MISSING' };
      throw err;
    }
  };

  return {
    /** Looks at up to `limit` attempts dialling for longer than `olderThanMs`. */
    async settleStrandedAttempts(input: { olderThanMs: number; limit: number }): Promise<StrandedSweepReport> {
      const report: StrandedSweepReport = { checked: 0, settled: 0, running: 0, missing: 0 };
      let after: StaleAttempt | undefined;
      while (report.checked < input.limit) {
        const batch = await page(input.olderThanMs, after, Math.min(200, input.limit - report.checked));
        if (batch.length === 0) break;
        after = batch.at(-1);
        for (const attempt of batch) {
          heartbeat(report);
          report.checked++;
          const callId = attempt.callId!;
          const call = await callState(callId);
          if (call.status === 'RUNNING') {
            report.running++;
            continue;
          }
          if (call.status === 'MISSING') {
            report.missing++;
            deps.log.warn({ campaignId: attempt.campaignId, callId }, 'a dialling contact has no call workflow; left as it is');
            continue;
          }
          if (!abnormalCloses.has(call.status)) continue;
          await settle(attempt, callId, call.status, call.closedAt ?? new Date());
          report.settled++;
        }
      }
      return report;
    },
  };

  async function settle(attempt: StaleAttempt, callId: string, closedAs: string, endedAt: Date): Promise<void> {
    await closeCallRecord(deps.db, callId, closedAs, endedAt);
    const settled = await deps.campaigns.settleCampaignAttempt({
      campaignId: attempt.campaignId,
      outcome: { callId, contactId: attempt.contactId, attempt: attempt.attempt, disposition: 'failed' },
      endedAtMs: endedAt.getTime(),
    });
    deps.log.warn({ campaignId: attempt.campaignId, callId, closedAs }, 'settled an attempt whose call workflow ended without settling');
    if (settled.wakeCampaign) {
      // The call would have sent this; the campaign's own timer wakes it if it is lost.
      await deps.temporal.workflow
        .getHandle(campaignWorkflowId(attempt.tenantId, attempt.campaignId))
        .signal(callEndedSignal, ...(settled.wakeSeq !== undefined ? [{ wakeSeq: settled.wakeSeq }] : []))
        .catch((err: unknown) => deps.log.info({ err, campaignId: attempt.campaignId }, 'campaign not woken (not running)'));
    }
  }
}

/** The call's record says how it really ended, unless it already says it ended. */
async function closeCallRecord(db: Db, callId: string, closedAs: string, endedAt: Date): Promise<void> {
  await db
    .updateTable('calls')
    .set({ status: 'ended', disposition: 'failed', end_reason: `workflow_${closedAs.toLowerCase()}`, ended_at: sql<Date>`coalesce(ended_at, ${endedAt})`, updated_at: sql<Date>`now()` })
    .where('id', '=', callId)
    .where('disposition', 'is', null)
    .execute();
}

function heartbeat(progress: StrandedSweepReport): void {
  try {
    Context.current().heartbeat(progress);
  } catch {
    // Called outside an activity (a test or a script): nothing to report to.
  }
}

export type StrandedAttemptActivities = ReturnType<typeof createStrandedAttemptActivities>;
