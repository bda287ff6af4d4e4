/**
 * The deployment's Temporal Schedules, made by the orchestration worker at start-up when
 * missing, so a fresh deployment has them without a separate step. Overlapping runs are
 * skipped: a slow run is never joined by a second one doing the same work.
 */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleSpec } from '@temporalio/client';

/** Retention, daily at 03:17 UTC (a quiet hour). */
export const retentionScheduleId = 'retention-daily';
/** Campaign attempts whose call workflow closed without settling, every 5 minutes. */
export const strandedAttemptsScheduleId = 'stranded-attempts';

export function ensureRetentionSchedule(client: Client, taskQueue: string): Promise<'created' | 'exists'> {
  return ensureSchedule(client, retentionScheduleId, { cronExpressions: ['17 3 * * *'] }, 'retentionWorkflow', taskQueue, '1 day');
}

export function ensureStrandedAttemptsSchedule(client: Client, taskQueue: string): Promise<'created' | 'exists'> {
  return ensureSchedule(client, strandedAttemptsScheduleId, { intervals: [{ every: '5 minutes' }] }, 'strandedAttemptsWorkflow', taskQueue, '10 minutes');
}

async function ensureSchedule(client: Client, scheduleId: string, spec: ScheduleSpec, workflowType: string, taskQueue: string, catchupWindow: string): Promise<'created' | 'exists'> {
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action: { type: 'startWorkflow', workflowType, taskQueue, args: [] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow },
    });
    return 'created';
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return 'exists';
    throw err;
  }
}
