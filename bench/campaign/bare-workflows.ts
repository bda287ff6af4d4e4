/**
 * The bare comparison's workflow (bench/campaign/bare.ts): one "call" that runs a given
 * number of no-op activities and local activities one after another, the local ones
 * spread evenly between the others, and nothing else: no campaign, no signals, no search
 * attributes, no database. What Temporal alone costs for the same number of workflows
 * and activities, of the same kinds, as the campaign's calls.
 */
import { proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';

export interface BareActivities {
  noop(): Promise<void>;
}

const { noop } = proxyActivities<BareActivities>({ startToCloseTimeout: '10 seconds', retry: { maximumAttempts: 3 } });
const local = proxyLocalActivities<BareActivities>({ startToCloseTimeout: '10 seconds', retry: { maximumAttempts: 3 } });

export interface BareCallInput {
  activities: number;
  localActivities: number;
  /** When the bench meant to start it (epoch ms): the start's lag is reported back. */
  plannedAtMs: number;
}

export async function bareCallWorkflow(input: BareCallInput): Promise<{ schedulingLagMs: number }> {
  const schedulingLagMs = workflowInfo().startTime.getTime() - input.plannedAtMs;
  const total = input.activities + input.localActivities;
  for (let i = 0; i < total; i++) {
    const isLocal = Math.floor(((i + 1) * input.localActivities) / total) > Math.floor((i * input.localActivities) / total);
    await (isLocal ? local.noop() : noop());
  }
  return { schedulingLagMs };
}
