/**
 * The bare comparison's workflow (bench/campaign/bare.ts): one "call" that runs a given
 * number of no-op activities one after another and nothing else: no campaign, no
 * signals, no search attributes, no database. What Temporal alone costs for the same
 * number of workflows and activities as the campaign's calls.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';

export interface BareActivities {
  noop(): Promise<void>;
}

const { noop } = proxyActivities<BareActivities>({ startToCloseTimeout: '10 seconds', retry: { maximumAttempts: 3 } });

export interface BareCallInput {
  activities: number;
  /** When the bench meant to start it (epoch ms): the start's lag is reported back. */
  plannedAtMs: number;
}

export async function bareCallWorkflow(input: BareCallInput): Promise<{ schedulingLagMs: number }> {
  const schedulingLagMs = workflowInfo().startTime.getTime() - input.plannedAtMs;
  for (let i = 0; i < input.activities; i++) await noop();
  return { schedulingLagMs };
}
