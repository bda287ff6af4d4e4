/**
 * Starts a campaign's call workflows with Temporal's start delay: the server holds each
 * call's first workflow task until its slot, so nothing on a worker sits between the slot
 * and the call beginning. (Started as children, each call's own timer was reckoned when
 * its first task began but counted from when that task completed, which on a busy worker
 * put the task's processing time, ~150 ms, into every slot's lag.)
 *
 * Idempotent like a child start: a call's ID names its attempt and a second start of the
 * same ID is refused, so a retried batch starts only the calls it had not started.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { OutboundCallInput } from '../workflows/call/types.js';
import { outboundCallSearchAttributes } from '../workflows/search-attributes.js';
import type { Clocked } from './campaign.js';

export interface CallStart {
  workflowId: string;
  input: OutboundCallInput & { plannedAtMs: number };
  /** Shown in the Temporal UI beside the call. */
  summary: string;
}

/**
 * Shorter delays are not given to the server: on the local dev server a start delay under
 * about a second dispatched the first task about a second after the start, whatever the
 * delay (bench/results/campaign-paced.md). Such a call starts at once and waits out the
 * rest on its own timer (`waitForSlot` in workflows/call/outbound.ts).
 */
const minStartDelayMs = 1000;

export function createCallStartActivities(deps: { client: Client }) {
  return {
    /** Starts each call to begin at its planned time (at once if that has passed). */
    async startCalls(req: { taskQueue: string; calls: CallStart[] }): Promise<{ started: number; alreadyStarted: number } & Clocked> {
      const fresh = await Promise.all(
        req.calls.map(async (call) => {
          const delayMs = call.input.plannedAtMs - Date.now();
          try {
            await deps.client.workflow.start('outboundCallWorkflow', {
              taskQueue: req.taskQueue,
              workflowId: call.workflowId,
              args: [call.input],
              workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
              staticSummary: call.summary,
              typedSearchAttributes: outboundCallSearchAttributes(call.input),
              ...(delayMs >= minStartDelayMs ? { startDelay: delayMs } : {}),
            });
            return true;
          } catch (err) {
            // This attempt was started before (a retried batch): it runs once and reports.
            if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
            throw err;
          }
        }),
      );
      const started = fresh.filter(Boolean).length;
      return { started, alreadyStarted: fresh.length - started, finishedAtMs: Date.now() };
    },
  };
}

export type CallStartActivities = ReturnType<typeof createCallStartActivities>;
