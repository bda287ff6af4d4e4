/**
 * The Temporal Schedule that runs retention daily (03:17 UTC, a quiet hour; overlapping
 * runs are skipped). Made by the orchestration worker at start-up when missing, so a
 * fresh deployment has it without a separate step.
 */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';

export const retentionScheduleId = 'retention-daily';

export async function ensureRetentionSchedule(client: Client, taskQueue: string): Promise<'created' | 'exists'> {
  try {
    await client.schedule.create({
      scheduleId: retentionScheduleId,
      spec: { cronExpressions: ['17 3 * * *'] },
      action: { type: 'startWorkflow', workflowType: 'retentionWorkflow', taskQueue, args: [] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
    });
    return 'created';
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return 'exists';
    throw err;
  }
}
