/**
 * Does a workflow task see the right clock after its worker dies and a query is answered
 * elsewhere? Two worker processes run a workflow that records `Date.now()` every 1.5 s;
 * each round SIGKILLs the worker holding it and (unless `noquery`) queries the workflow at
 * once, which makes the other worker replay it. The report counts the workflow tasks whose
 * clock is not their task's start time — what replay gives them.
 *
 *   npm run stack:up && node --import tsx bench/temporal-clock/run.ts [rounds] [noquery]
 *
 * On @temporalio/worker 1.24.0 (2026-11-28): with the query, every round's first task on
 * the other worker ran with the previous task's time, about 4.5 s stale (4 of 4 rounds);
 * without it, none (0 of 28 tasks). A campaign choosing its commands by that clock then
 * fails replay with a nondeterminism error.
 */
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../../deploy/config.js';
import { startProcess } from '../../test/helpers/processes.js';
import { clockProbe, seqQuery } from './workflows.js';

const config = loadConfig();
const taskQueue = `clock-${Date.now()}`;
const rounds = Number(process.argv[2] ?? 4);
const query = process.argv[3] !== 'noquery';

/** Worker `slot` (0 or 1); its Temporal identity names the slot, so the probe can tell who holds the workflow. */
const startWorker = (slot: number) =>
  startProcess('bench/temporal-clock/worker.ts', { CLOCK_PROBE_TASK_QUEUE: taskQueue, CLOCK_PROBE_IDENTITY: `clock-probe-${slot}` }, /polling/);

const toMs = (t: { seconds?: { toString(): string } | null; nanos?: number | null } | null | undefined) => Number(t?.seconds?.toString() ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);

const connection = await Connection.connect({ address: config.temporal.address });
const client = new Client({ connection, namespace: config.temporal.namespace });
const workers = [await startWorker(0), await startWorker(1)];
const handle = await client.workflow.start(clockProbe, { taskQueue, workflowId: taskQueue, args: [rounds * 6 + 4] });
for (let r = 0; r < rounds; r++) {
  await new Promise((resolve) => setTimeout(resolve, 4000 + Math.random() * 1500));
  // The worker that completed the last task holds the workflow in its cache.
  const events = (await handle.fetchHistory()).events ?? [];
  const owner = [...events].reverse().find((e) => e.workflowTaskCompletedEventAttributes)?.workflowTaskCompletedEventAttributes?.identity ?? '';
  const victim = owner === 'clock-probe-0' ? 0 : owner === 'clock-probe-1' ? 1 : -1;
  if (victim < 0) continue;
  await workers[victim]!.kill();
  if (query) console.log(`round ${r + 1}: killed the workflow's worker, queried at once (seq ${await handle.query(seqQuery)})`);
  workers[victim] = await startWorker(victim);
}
await handle.result();

let taskStartedMs = 0;
let stale = 0;
let tasks = 0;
for (const e of (await handle.fetchHistory()).events ?? []) {
  if (e.workflowTaskStartedEventAttributes) taskStartedMs = toMs(e.eventTime);
  const payload = e.activityTaskScheduledEventAttributes?.input?.payloads?.[0]?.data;
  if (!payload) continue;
  tasks++;
  const { nowMs } = JSON.parse(Buffer.from(payload).toString()) as { nowMs: number };
  if (Math.abs(nowMs - taskStartedMs) > 2) {
    stale++;
    console.log(`event ${String(e.eventId)}: the workflow's clock was ${nowMs - taskStartedMs} ms off its task's start`);
  }
}
console.log(`${stale} of ${tasks} workflow tasks ran with a clock other than their start time (${query ? 'with' : 'without'} queries)`);
for (const w of workers) await w.kill();
process.exit(0);
