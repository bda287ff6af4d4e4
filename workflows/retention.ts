/**
 * The daily retention run, started by the `retention-daily` Temporal Schedule (see
 * workers/schedules.ts). One activity does the work in batches; the workflow
 * gives it the run's time so a retry purges exactly what the first attempt would have.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { RetentionActivities, RetentionReport } from '../activities/retention.js';

const { purgeExpiredRecords } = proxyActivities<RetentionActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '10 seconds', maximumInterval: '5 minutes', maximumAttempts: 10 },
});

export async function retentionWorkflow(): Promise<RetentionReport> {
  return purgeExpiredRecords({ nowMs: Date.now() });
}
