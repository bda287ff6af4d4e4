/**
 * Can a wake signal or a control update split from its workflow task break replay? The SDK race (README,
 * "Known SDK race") hands a task's events to the workflow in two activations: those in
 * history when a query reached another worker, then the rest. This probe makes that
 * happen on purpose, in every pass of `wakeProbe` (workflows.ts), a reduced campaign
 * sleeping on its lines:
 *
 * 1. the pass's claim (an activity this process runs, on its own task queue) SIGKILLs the
 *    worker holding the workflow, then returns;
 * 2. once the claim's completion is in history, the workflow is queried: the other worker
 *    builds it from history and runs the completion in a first activation;
 * 3. a wake is signalled (or, in the `control-*` modes, an update sent) at once; it
 *    reaches the workflow in a second activation of the same task, where replay delivers
 *    it together with the completion.
 *
 * Then the history is replayed. `flag` wakes as campaign runs did before numbered wakes;
 * `numbered` as they do now; the `control-*` modes show why an update cannot be made safe
 * the same way (workflows.ts, and the results' markdown).
 *
 *   npm run stack:up && node --import tsx bench/temporal-clock/wake.ts [passes] [flag|numbered|control-at-once|control-after-sleep]
 *
 * Figures: bench/results/temporal-clock-wake.md (each run writes
 * bench/results/temporal-clock-wake-<date>-<wakes>.json and rewrites that markdown).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../../deploy/config.js';
import { machineInfo } from '../media/report.js';
import { startProcess, type RunningProcess } from '../../test/helpers/processes.js';
import { passesQuery, pauseOnceUpdate, wakeModes, wakeProbe, wokenSignal, type WakeMode } from './workflows.js';

export interface WakeProbeRun {
  wakes: WakeMode;
  passes: number;
  /** Passes whose claim killed the workflow's worker, then saw a query and a wake. */
  splits: number;
  completed: boolean;
  replayError: string | null;
}

/** Runs the probe; the stack (Temporal) must be up. */
export async function runWakeProbe(passes: number, wakes: WakeMode): Promise<WakeProbeRun> {
  const byUpdate = wakes.startsWith('control');
  const config = loadConfig();
  const taskQueue = `wake-${wakes}-${Date.now()}`;
  const activityQueue = `${taskQueue}-claims`;
  const startWorker = (slot: number) =>
    startProcess('bench/temporal-clock/worker.ts', { CLOCK_PROBE_TASK_QUEUE: taskQueue, CLOCK_PROBE_IDENTITY: `wake-probe-${slot}` }, /polling/);
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const workers: RunningProcess[] = [await startWorker(0), await startWorker(1)];
  const handle = client.workflow.getHandle(taskQueue);
  const ownerOf = async (): Promise<number> => {
    const events = (await handle.fetchHistory()).events ?? [];
    const identity = [...events].reverse().find((e) => e.workflowTaskCompletedEventAttributes)?.workflowTaskCompletedEventAttributes?.identity ?? '';
    return identity === 'wake-probe-0' ? 0 : identity === 'wake-probe-1' ? 1 : -1;
  };

  /**
   * Whether the pass's wake reached the workflow split from its task: the claim after it
   * says the workflow went to sleep unwoken and a wake ended the sleep, though the wake
   * was in history before the task that ran the claim's completion started (replay sees
   * it at once, and never sleeps).
   */
  const splitAfter = async (pass: number): Promise<boolean> => {
    let events = (await handle.fetchHistory()).events ?? [];
    // A paused pass (the control modes) waits a moment before its claim is scheduled.
    for (let tries = 0; tries < 30 && !events.filter((e) => e.activityTaskScheduledEventAttributes)[pass + 1]; tries++) {
      if (events.some((e) => e.workflowTaskFailedEventAttributes || e.workflowExecutionCompletedEventAttributes)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
      events = (await handle.fetchHistory()).events ?? [];
    }
    const completion = events.filter((e) => e.activityTaskCompletedEventAttributes)[pass];
    const next = events.filter((e) => e.activityTaskScheduledEventAttributes)[pass + 1];
    if (!completion || !next) return false;
    const after = events.slice(events.indexOf(completion) + 1, events.indexOf(next));
    const input = next.activityTaskScheduledEventAttributes?.input?.payloads?.[1]?.data;
    const wokenAsleep = input ? (JSON.parse(Buffer.from(input).toString()) as boolean) : false;
    if (byUpdate) {
      // An update is accepted by the completion of the task that ran it: the task that ran
      // the claim's completion accepted it too.
      const firstDone = after.findIndex((e) => e.workflowTaskCompletedEventAttributes);
      return firstDone >= 0 && after[firstDone + 1]?.workflowExecutionUpdateAcceptedEventAttributes !== undefined && wokenAsleep;
    }
    const started = after.findLastIndex((e) => e.workflowTaskStartedEventAttributes);
    // One task ran both the completion and the wake: none completed in between.
    const oneTask = !after.slice(0, started).some((e) => e.workflowTaskCompletedEventAttributes);
    const signalledBefore = after.slice(0, started).some((e) => e.workflowExecutionSignaledEventAttributes);
    return oneTask && signalledBefore && wokenAsleep;
  };

  let wakeSeq = 0;
  let splits = 0;
  /** Slots whose worker was killed and has not yet been started again. */
  const down = new Set<number>();
  let ended = false;
  /** Queries sent by claims, each with the pass that sent it and the killed worker's slot. */
  const queries: Promise<{ pass: number; slot: number }>[] = [];
  const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
  const claimWorker = await Worker.create({
    connection: nativeConnection,
    namespace: config.temporal.namespace,
    taskQueue: activityQueue,
    activities: {
      async claim(pass: number, _wokenAsleep: boolean) {
        // Both workers up first: the one not killed must be there to answer.
        while (down.size > 0) await new Promise((resolve) => setTimeout(resolve, 50));
        const slot = await ownerOf();
        if (slot >= 0) {
          down.add(slot);
          await workers[slot]!.kill();
          // Sent before the claim completes: it waits out the dead worker's sticky queue
          // (3 s) and then reaches the other worker, which runs the history it finds,
          // completion included, while the task that completion scheduled still waits.
          const asked = handle.query(passesQuery).catch(() => -1);
          queries.push(asked.then(() => ({ pass, slot })));
          await new Promise((resolve) => setTimeout(resolve, 1500));
        }
        return { wakeSeq, finishedAtMs: Date.now() };
      },
    },
  });
  const claims = claimWorker.run();
  try {
    await client.workflow.start(wakeProbe, { taskQueue, workflowId: taskQueue, args: [passes, wakes, activityQueue] });
    const deadline = Date.now() + passes * 30_000;
    const result = handle.result().then(() => (ended = true));
    result.catch(() => undefined);
    let handled = 0;
    while (!ended && Date.now() < deadline) {
      const asked = queries[handled];
      if (!asked) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      handled++;
      const { pass, slot } = await asked;
      // A query refused at once (before the claim completed) ran nothing: wait for the
      // completion, so the wake never lands before it.
      while (Date.now() < deadline) {
        const events = (await handle.fetchHistory()).events ?? [];
        if (events.filter((e) => e.activityTaskCompletedEventAttributes).length > pass) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // At once after the answer: the wake lands before that task is handed on.
      if (byUpdate) void handle.executeUpdate(pauseOnceUpdate).catch(() => undefined);
      else await handle.signal(wokenSignal, { wakeSeq: ++wakeSeq });
      while (!ended && Date.now() < deadline && (await handle.query(passesQuery).catch(() => pass)) <= pass) {
        // A workflow whose task fails replay makes no progress: stop waiting for it.
        if ((await handle.fetchHistory()).events?.some((e) => e.workflowTaskFailedEventAttributes)) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      if ((await handle.fetchHistory()).events?.some((e) => e.workflowTaskFailedEventAttributes)) {
        if (await splitAfter(pass)) splits++;
        break;
      }
      if (await splitAfter(pass)) splits++;
      workers[slot] = await startWorker(slot);
      down.delete(slot);
    }
    const completed = await Promise.race([result.then(() => true, () => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5_000))]);
    let replayError: string | null = null;
    try {
      await Worker.runReplayHistory({ workflowsPath: fileURLToPath(new URL('./workflows.ts', import.meta.url)) }, await handle.fetchHistory(), taskQueue);
    } catch (err) {
      replayError = `${(err as Error).name}: ${(err as Error).message.match(/Nondeterminism error: [^"\n]+/)?.[0] ?? (err as Error).message.split('\n')[0]}`;
    }
    if (!completed) await handle.terminate('wake probe: bounded time is up').catch(() => undefined);
    return { wakes, passes, splits, completed, replayError };
  } finally {
    claimWorker.shutdown();
    await claims.catch(() => undefined);
    await nativeConnection.close();
    for (const w of workers) await w.kill();
    await connection.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const passes = Number(process.argv[2] ?? 4);
  const wakes = wakeModes.find((m) => m === (process.argv[3] ?? 'numbered'));
  if (!wakes) throw new Error(`the mode must be one of ${wakeModes.join(', ')}`);
  if (!Number.isInteger(passes) || passes < 1 || passes > 50) throw new Error('passes must be a whole number from 1 to 50');
  const run = await runWakeProbe(passes, wakes);
  const summary = `${run.splits} of ${run.passes} passes had their wake split from the claim's completion; with ${wakes} wakes the workflow ${run.completed ? 'completed' : 'did not complete'} and ${run.replayError ? `fails replay (${run.replayError})` : 'replays the same'}`;
  console.log(summary);
  writeResults(run, summary);
}

function writeResults(run: WakeProbeRun, summary: string): void {
  const date = new Date().toISOString().slice(0, 10);
  const results = { benchmark: 'temporal-clock-wake', date, finishedAt: new Date().toISOString(), ...machineInfo(), ...run, summary };
  const file = (name: string) => fileURLToPath(new URL(`../results/${name}`, import.meta.url));
  const nameOf = (wakes: string) => `temporal-clock-wake-${date}-${wakes}.json`;
  writeFileSync(file(nameOf(run.wakes)), `${JSON.stringify(results, null, 2)}\n`);
  const runs = wakeModes.filter((w) => existsSync(file(nameOf(w)))).map((w) => ({ name: nameOf(w), r: JSON.parse(readFileSync(file(nameOf(w)), 'utf8')) as typeof results }));
  writeFileSync(
    file('temporal-clock-wake.md'),
    `# A campaign's wake, split from its workflow task

Can a signal or an update that wakes a sleeping campaign break its replay when the SDK race (README, "Known SDK race") hands it to the workflow in a second activation? \`bench/temporal-clock/wake.ts\` forces that split in every pass of a reduced campaign (\`wakeProbe\`, \`bench/temporal-clock/workflows.ts\`): the pass's claim kills the worker holding the workflow; once the claim's completion is in history, a query makes the other worker run it, and a wake is signalled (or the update sent) at once, so it arrives in a second activation of the same task. Replay delivers both together. At the end the history is replayed.

- \`flag\`: wakes as campaign runs did before numbered wakes: the signal sets a flag each pass clears as it begins, and a pass that finds it set passes again at once.
- \`numbered\`: as the campaign wakes now (\`workflows/campaign/campaign.ts\`, migration 0011): the wake's number counts only in the sleep's predicate, against the number the claim saw.
- \`control-at-once\`: the wake is an update, as an operator's pause is (\`pauseOnce\`: the next pass waits 50 ms before it claims). The handler applies it and raises the wake flag, as the campaign's pause does.
- \`control-after-sleep\`: the same update kept pending: only the sleep's predicate counts it, and it is applied when the sleep ends, so every choice the workflow makes is the same in both orders.

An update, unlike a signal, is answered by commands of its own (accepted, completed) that history records in order with the workflow's. Split from the claim's completion, it is answered in the second activation, after whatever the first chose; replay gives it to the workflow before the completion (the SDK orders updates ahead of activity results in an activation), and its answers move relative to the workflow's commands. With \`control-at-once\` the replayed pass went on from the claim and started its 50 ms timer before the update's completion (history: completion, then timer). With \`control-after-sleep\`, whose choices are the same in both orders, the splits in mid-run replayed, since the sleep's timer started in the first activation was cancelled in the second and never reached history; at the last pass the workflow ended instead, that timer stayed in history ahead of the update's answer, and replay answered the update first. No workflow code can place its commands after an update it has not been given yet, so the update case of the race is the SDK's (README, "Known SDK race").

${results.machine.nproc} × ${results.machine.cpuModel}, Node ${results.machine.node}, commit \`${results.gitCommit.slice(0, 12)}\`${results.gitDirty ? ' (uncommitted changes)' : ''}.

| wakes | passes | wakes split from their task | completed | replay | figures |
|---|---|---|---|---|---|
${runs.map(({ name, r }) => `| ${r.wakes} | ${r.passes} | ${r.splits} | ${r.completed ? 'yes' : 'no'} | ${r.replayError ? `fails: ${r.replayError}` : 'same'} | [\`${name}\`](${name}) |`).join('\n')}

## Rerun

\`\`\`sh
npm run stack:up
node --import tsx bench/temporal-clock/wake.ts 4 flag
node --import tsx bench/temporal-clock/wake.ts 4 numbered
node --import tsx bench/temporal-clock/wake.ts 3 control-at-once
node --import tsx bench/temporal-clock/wake.ts 4 control-after-sleep
\`\`\`
`,
  );
}
