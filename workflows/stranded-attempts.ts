/**
 * Settles campaign attempts whose call workflow closed without settling (terminated,
 * failed, timed out), so their campaigns can finish; started every 5 minutes by the
 * `stranded-attempts` Temporal Schedule (workers/schedules.ts). The work and its reasons
 * are in activities/stranded-attempts.ts.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { StrandedAttemptActivities, StrandedSweepReport } from '../activities/stranded-attempts.js';

const { settleStrandedAttempts } = proxyActivities<StrandedAttemptActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '10 seconds', maximumInterval: '1 minute', maximumAttempts: 5 },
});

/** Attempts dialling for less than this are not looked at: most are simply in progress. */
export const strandedAfterMs = 5 * 60_000;

export async function strandedAttemptsWorkflow(): Promise<StrandedSweepReport> {
  return settleStrandedAttempts({ olderThanMs: strandedAfterMs, limit: 5_000 });
}
