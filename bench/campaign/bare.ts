/**
 * The campaign benchmark's bare comparison: a Temporal worker with one workflow
 * (`bareCallWorkflow`, bench/campaign/bare-workflows.ts) and one no-op activity on its own
 * task queue, and a driver that starts those workflows from the bench process at the
 * campaign's pace. Run as a script it is the worker:
 *
 *   BENCH_BARE_TASK_QUEUE=bare-x tsx bench/campaign/bare.ts
 */
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../../deploy/config.js';
import { startProcess, type RunningProcess } from '../../test/helpers/processes.js';
import { bareCallWorkflow, type BareActivities } from './bare-workflows.js';

const readyLine = 'bare worker polling';

/** Starts the bare worker as a child process (its own process tree, for CPU figures). */
export function startBareWorker(taskQueue: string): Promise<RunningProcess> {
  return startProcess('bench/campaign/bare.ts', { BENCH_BARE_TASK_QUEUE: taskQueue }, new RegExp(readyLine), 120_000);
}

export interface BareRun {
  calls: number;
  activitiesTotal: number;
  localActivitiesTotal: number;
  startedAtMs: number;
  finishedAtMs: number;
  /** Workflow start time − planned time, per call (ms). */
  schedulingLagMs: number[];
  /** When each start request was sent (epoch ms). */
  startTimesMs: number[];
  failed: number;
}

/**
 * Starts `calls` bare workflows `1000 / callsPerSecond` ms apart (a fixed schedule, so a
 * slow start does not push the rest back), spreading fractional activity counts so the
 * totals match `activitiesPerCall × calls` and `localActivitiesPerCall × calls`, and
 * waits for all of them.
 */
export async function runBareCalls(
  client: Client,
  opts: { taskQueue: string; idPrefix: string; calls: number; activitiesPerCall: number; localActivitiesPerCall: number; callsPerSecond: number; timeoutMs: number },
): Promise<BareRun> {
  const intervalMs = 1000 / opts.callsPerSecond;
  // Each call gets the whole part, and the fractions' total is spread evenly over the run.
  const spread = (perCall: number) => {
    const whole = Math.floor(perCall);
    const extra = Math.round((perCall - whole) * opts.calls);
    return (i: number) => whole + Math.floor(((i + 1) * extra) / opts.calls) - Math.floor((i * extra) / opts.calls);
  };
  const activitiesOf = spread(opts.activitiesPerCall);
  const localActivitiesOf = spread(opts.localActivitiesPerCall);
  const startedAtMs = Date.now() + 200;
  const deadline = startedAtMs + opts.timeoutMs;
  const lags: number[] = [];
  const startTimesMs: number[] = [];
  const results: Promise<void>[] = [];
  let activitiesTotal = 0;
  let localActivitiesTotal = 0;
  let failed = 0;
  for (let i = 0; i < opts.calls; i++) {
    const plannedAtMs = startedAtMs + i * intervalMs;
    const waitMs = plannedAtMs - Date.now();
    if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
    if (Date.now() > deadline) throw new Error(`bare calls: only ${i} of ${opts.calls} started within ${opts.timeoutMs / 1000} s`);
    const activities = activitiesOf(i);
    const localActivities = localActivitiesOf(i);
    activitiesTotal += activities;
    localActivitiesTotal += localActivities;
    startTimesMs.push(Date.now());
    results.push(
      client.workflow
        .start(bareCallWorkflow, { workflowId: `${opts.idPrefix}-${i}`, taskQueue: opts.taskQueue, args: [{ activities, localActivities, plannedAtMs }] })
        .then((h) => h.result())
        .then((r) => void lags.push(r.schedulingLagMs))
        .catch(() => void failed++),
    );
  }
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), Math.max(1000, deadline - Date.now()))));
  const outcome = await Promise.race([Promise.all(results), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') throw new Error(`bare calls did not finish within ${opts.timeoutMs / 1000} s`);
  return { calls: opts.calls, activitiesTotal, localActivitiesTotal, startedAtMs, finishedAtMs: Date.now(), schedulingLagMs: lags, startTimesMs, failed };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const taskQueue = process.env.BENCH_BARE_TASK_QUEUE;
  if (!taskQueue) throw new Error('BENCH_BARE_TASK_QUEUE is required');
  const config = loadConfig();
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const activities: BareActivities = { noop: () => Promise.resolve() };
  try {
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue,
      workflowsPath: fileURLToPath(new URL('./bare-workflows.ts', import.meta.url)),
      activities,
    });
    console.log(`${readyLine} on ${taskQueue}`);
    await worker.run();
  } finally {
    await connection.close();
  }
}
