/**
 * Does a workflow task see the right clock after its worker dies and a query is answered
 * elsewhere? Two worker processes run a workflow that reads its clock every 1.5 s and
 * chooses its next activity by it; each round SIGKILLs the worker holding it and (unless
 * `noquery`) queries the workflow at once. The report counts the workflow tasks whose
 * `Date.now()` was not their task's start time, and replays the history. With `history`
 * the workflow chooses by the campaign's history clock (workflows/campaign/clock.ts)
 * instead: the stale tasks still happen, and the history must still replay.
 *
 *   npm run stack:up && node --import tsx bench/temporal-clock/run.ts [rounds] [query|noquery] [task|history]
 *
 * Why (sdk-core as vendored in @temporalio/core-bridge 1.24.0): the query reaches the other
 * worker while the dead worker's sticky queue still holds the next task; that worker builds
 * the workflow from the full history, which already ends in the new event (the timer that
 * fired), runs the workflow code on it before answering, with the last task's start time
 * as its clock, and later sends the commands chosen then as the new task's.
 *
 * Figures: bench/results/temporal-clock.md. Each run writes
 * bench/results/temporal-clock-<date>-<mode>[-history].json and rewrites that markdown
 * from the date's runs.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { loadConfig } from '../../deploy/config.js';
import { machineInfo } from '../media/report.js';
import { startProcess } from '../../test/helpers/processes.js';
import { clockProbe, seqQuery } from './workflows.js';

const config = loadConfig();
const taskQueue = `clock-${Date.now()}`;
const rounds = Number(process.argv[2] ?? 4);
const query = (process.argv[3] ?? 'query') === 'query';
const clockKind = process.argv[4] === 'history' ? 'history' : 'task';

/** Worker `slot` (0 or 1); its Temporal identity names the slot, so the probe can tell who holds the workflow. */
const startWorker = (slot: number) =>
  startProcess('bench/temporal-clock/worker.ts', { CLOCK_PROBE_TASK_QUEUE: taskQueue, CLOCK_PROBE_IDENTITY: `clock-probe-${slot}` }, /polling/);

const toMs = (t: { seconds?: { toString(): string } | null; nanos?: number | null } | null | undefined) => Number(t?.seconds?.toString() ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);

const connection = await Connection.connect({ address: config.temporal.address });
const client = new Client({ connection, namespace: config.temporal.namespace });
const workers = [await startWorker(0), await startWorker(1)];
const handle = await client.workflow.start(clockProbe, { taskQueue, workflowId: taskQueue, args: [rounds * 6 + 4, clockKind] });
let kills = 0;
let refusedQueries = 0;
for (let r = 0; r < rounds; r++) {
  await new Promise((resolve) => setTimeout(resolve, 4000 + Math.random() * 1500));
  // The worker that completed the last task holds the workflow in its cache.
  const events = (await handle.fetchHistory()).events ?? [];
  const owner = [...events].reverse().find((e) => e.workflowTaskCompletedEventAttributes)?.workflowTaskCompletedEventAttributes?.identity ?? '';
  const victim = owner === 'clock-probe-0' ? 0 : owner === 'clock-probe-1' ? 1 : -1;
  if (victim < 0) continue;
  await workers[victim]!.kill();
  kills++;
  if (query) {
    // A worker that has hit the nondeterminism answers the query with it.
    const answer = await handle.query(seqQuery).then(
      (seq) => `seq ${seq}`,
      (err: Error) => {
        refusedQueries++;
        return `refused: ${err.message}`;
      },
    );
    console.log(`round ${r + 1}: killed the workflow's worker, queried at once (${answer})`);
  }
  workers[victim] = await startWorker(victim);
}
// A workflow stuck on a nondeterminism error never ends: give it a bounded time.
const ended = await Promise.race([handle.result().then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 60_000))]);

let taskStartedMs = 0;
let stale = 0;
let tasks = 0;
const history = await handle.fetchHistory();
for (const e of history.events ?? []) {
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
let replayError: string | undefined;
try {
  await Worker.runReplayHistory({ workflowsPath: fileURLToPath(new URL('./workflows.ts', import.meta.url)) }, history, taskQueue);
} catch (err) {
  replayError = `${(err as Error).name}: ${(err as Error).message.match(/Nondeterminism error: [^"]+/)?.[0] ?? (err as Error).message.split('\n')[0]}`;
}
const summary =
  `${kills} kills ${query ? 'each followed by a query' : 'without queries'}, choosing by the ${clockKind} clock: ` +
  `${stale} of ${tasks} workflow tasks ran with a Date.now() other than their start time; the workflow ${ended ? 'completed' : 'did not complete'} and ${replayError ? `fails replay (${replayError})` : 'replays the same'}`;
console.log(summary);
writeResults({ mode: query ? 'query' : 'noquery', clock: clockKind, rounds, kills, refusedQueries, staleTasks: stale, tasks, completed: ended, replayError: replayError ?? null, summary });
for (const w of workers) await w.kill();
process.exit(0);

interface ProbeRun {
  mode: 'query' | 'noquery';
  /** What the workflow chose by: `Date.now()` or the history clock. Absent in runs before it: task. */
  clock: 'task' | 'history';
  rounds: number;
  kills: number;
  refusedQueries: number;
  staleTasks: number;
  tasks: number;
  completed: boolean;
  replayError: string | null;
  summary: string;
}

/** One JSON per mode, clock and date; the markdown lists that date's runs. */
function writeResults(run: ProbeRun): void {
  const date = new Date().toISOString().slice(0, 10);
  const results = { benchmark: 'temporal-clock', date, finishedAt: new Date().toISOString(), ...machineInfo(), temporalWorker: workerVersion(), ...run };
  const file = (name: string) => fileURLToPath(new URL(`../results/${name}`, import.meta.url));
  const nameOf = (mode: string, clock: string) => `temporal-clock-${date}-${mode}${clock === 'history' ? '-history' : ''}.json`;
  writeFileSync(file(nameOf(run.mode, run.clock)), `${JSON.stringify(results, null, 2)}\n`);
  const runs = ['task', 'history']
    .flatMap((clock) => ['query', 'noquery'].map((mode) => nameOf(mode, clock)))
    .filter((name) => existsSync(file(name)))
    .map((name) => ({ name, r: JSON.parse(readFileSync(file(name), 'utf8')) as typeof results }));
  const m = results.machine;
  writeFileSync(
    file('temporal-clock.md'),
    `# Workflow clock after a worker's death and a query

Does a workflow task see its own start time as \`Date.now()\` when the worker that held the workflow was SIGKILLed and a query reached another worker at once? Two worker processes run a workflow that reads its clock every 1.5 s and picks its next activity by it (\`bench/temporal-clock/workflows.ts\`); each round kills the worker holding it, and in \`query\` mode queries the workflow right after. At the end the history is replayed. The workflow picks by \`Date.now()\` (clock \`task\`) or by the history clock the campaign uses (clock \`history\`, \`workflows/campaign/clock.ts\`: moved only by timers' deadlines and activities' results).

@temporalio/worker ${results.temporalWorker}, ${m.nproc} × ${m.cpuModel}, Node ${m.node}, commit \`${results.gitCommit.slice(0, 12)}\`${results.gitDirty ? ' (uncommitted changes)' : ''}.

| clock | mode | kills | queries refused | tasks with a stale \`Date.now()\` | completed | replay | figures |
|---|---|---|---|---|---|---|---|
${runs.map(({ name, r }) => `| ${String(r.clock ?? 'task')} | ${String(r.mode)} | ${String(r.kills)} | ${String(r.refusedQueries)} | ${String(r.staleTasks)} of ${String(r.tasks)} | ${r.completed ? 'yes' : 'no'} | ${r.replayError ? `fails: ${String(r.replayError)}` : 'same'} | [\`${name}\`](${name}) |`).join('\n')}

Why: the query reaches the other worker while the dead worker's sticky queue still holds the next task; that worker builds the workflow from the full history, which already ends in the new event (the timer that fired), runs the workflow code on it before answering, with the last task's start time as its clock, and later sends the commands chosen then as the new task's. Replay gives the same code the new task's time. Kickcall's consequences and what it does about them: README, "Known SDK race".

## Rerun

\`\`\`sh
npm run stack:up
node --import tsx bench/temporal-clock/run.ts 4 query
node --import tsx bench/temporal-clock/run.ts 4 noquery
node --import tsx bench/temporal-clock/run.ts 8 query history
\`\`\`
`,
  );
}

function workerVersion(): string {
  const pkg = fileURLToPath(new URL('../../node_modules/@temporalio/worker/package.json', import.meta.url));
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}
