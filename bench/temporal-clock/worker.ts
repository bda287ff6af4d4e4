/** One worker process for run.ts, on the task queue it is given; run.ts SIGKILLs it. */
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../../deploy/config.js';

const finished = (): Promise<{ finishedAtMs: number }> => Promise.resolve({ finishedAtMs: Date.now() });

const config = loadConfig();
const connection = await NativeConnection.connect({ address: config.temporal.address });
const worker = await Worker.create({
  connection,
  namespace: config.temporal.namespace,
  taskQueue: process.env.CLOCK_PROBE_TASK_QUEUE!,
  identity: process.env.CLOCK_PROBE_IDENTITY!,
  // As the orchestration worker: a dead worker's tasks move on after 3 s.
  stickyQueueScheduleToStartTimeout: '3 seconds',
  workflowsPath: fileURLToPath(new URL('./workflows.ts', import.meta.url)),
  // Each returns its clock as it finished, which the history clock moves to.
  activities: { noteClock: finished, noteLateClock: finished },
});
console.log('polling');
await worker.run();
