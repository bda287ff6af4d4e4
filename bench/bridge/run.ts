/**
 * How many call events per second the event bridge carries from JetStream into call
 * workflows, by how many it handles at once (`concurrency`; 1 is how it ran before).
 *
 *   npm run stack:up && npm run bench -- bridge [--calls 200] [--rounds 3] [--concurrency 1,16]
 *
 * Each round and level: `calls` stand-in call workflows (bench/bridge/workflows.ts, on a
 * worker in its own process) and their rows in PostgreSQL; 14 events per call (a
 * conversation's: joined, three turns each way with their metrics, an answer, usage, the
 * end, the leave) published to JetStream with the media worker's publisher; then a bridge
 * (`startEventBridge`, as deployed but in this process) is started on that backlog and
 * timed until it has handled every event. Afterwards each workflow says which seqs reached
 * it, in what order. The stack's own bridge is stopped for the run (it would take the same
 * events) and started again at the end.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream } from '@nats-io/jetstream';
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { connectNats } from '../../deploy/nats.js';
import { loadConfig } from '../../deploy/config.js';
import { createDb, type Db } from '../../deploy/db/schema.js';
import { stackDown, stackUp } from '../../deploy/stack/stack.js';
import { createCallEventPublisher, ensureCallEventsStream } from '../../media/events/publisher.js';
import { callEventsStream } from '../../media/events/subjects.js';
import { startProcess } from '../../test/helpers/processes.js';
import { startEventBridge } from '../../workers/event-bridge.js';
import { machineInfo } from '../media/report.js';
import { arrivedQuery, bridgeSinkWorkflow } from './workflows.js';

export interface BridgeBenchOptions {
  calls: number;
  rounds: number;
  concurrency: number[];
}

export const defaultBridgeBenchOptions: BridgeBenchOptions = { calls: 200, rounds: 3, concurrency: [1, 16] };

export interface BridgeRun {
  round: number;
  concurrency: number;
  events: number;
  drainMs: number;
  eventsPerS: number;
  /** CPU of this process (the bridge, and nothing else while it drains) per 1,000 events. */
  bridgeCpuMsPerKEvents: number;
  /** Every core of the machine busy on average while it drained (Temporal, PostgreSQL, NATS, the sink worker, the bridge). */
  machineBusyCores: number;
  /** Calls whose workflow got every event once, in seq order. */
  callsInOrder: number;
}

export interface BridgeBenchResults {
  startedAt: string;
  finishedAt: string;
  options: BridgeBenchOptions;
  eventsPerCall: number;
  gitCommit: string;
  gitDirty: boolean;
  machine: ReturnType<typeof machineInfo>['machine'];
  runs: BridgeRun[];
  /** Per concurrency: medians over the rounds, and the ratio of events per second to concurrency 1's. */
  summary: { concurrency: number; eventsPerSMedian: number; drainMsMedian: number; bridgeCpuMsPerKEventsMedian: number; machineBusyCoresMedian: number; speedupVsOne: number | null; callsInOrder: string }[];
}

type Log = (line: string) => void;

const tenantId = 'bench-bridge';

/** A conversation's events, as the media worker publishes them. */
async function publishConversation(publisher: ReturnType<typeof createCallEventPublisher>): Promise<void> {
  await publisher.publish({ type: 'agent.joined', workerId: 'bench', resumed: false, participantIdentity: 'agent-bench' });
  for (let turn = 0; turn < 3; turn++) {
    await publisher.publish({ type: 'user.turn', text: 'Yes, tell me more about the check-up.' });
    await publisher.publish({ type: 'agent.turn', text: 'It is free and takes about thirty minutes. Would next Tuesday suit you?', interrupted: false });
    await publisher.publish({ type: 'turn.metrics', eouDelayMs: 350, llmTtftMs: 320, ttsTtfbMs: 180, voiceToVoiceMs: 1_050 });
  }
  await publisher.publish({ type: 'tool.requested', toolCallId: 'bench-answer', name: 'record_answer', args: { field: 'interest', value: 'high' } });
  await publisher.publish({ type: 'usage', sttAudioS: 30, ttsCharacters: 400, llmInputTokens: 1_800, llmOutputTokens: 120, llmModel: 'gpt-4.1' });
  await publisher.publish({ type: 'call.ended', reason: 'end_call' });
  await publisher.publish({ type: 'agent.left', reason: 'call_ended' });
}
const eventsPerCall = 14;

function busyJiffies(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  const total = cpu.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const round1 = (n: number) => Math.round(n * 10) / 10;

async function oneRun(
  deps: { client: Client; db: Db; nc: Awaited<ReturnType<typeof connectNats>>; taskQueue: string },
  round: number,
  concurrency: number,
  opts: BridgeBenchOptions,
  tag: string,
): Promise<BridgeRun> {
  const ids = Array.from({ length: opts.calls }, (_, i) => `bench_bridge_${tag}_${round}_${concurrency}_${i}`);
  await deps.db
    .insertInto('calls')
    .values(ids.map((id) => ({ id, tenant_id: tenantId, attempt: 1, direction: 'outbound' as const, status: 'in_progress' })))
    .execute();
  for (let i = 0; i < ids.length; i += 50) {
    await Promise.all(ids.slice(i, i + 50).map((id) => deps.client.workflow.start(bridgeSinkWorkflow, { workflowId: id, taskQueue: deps.taskQueue })));
  }
  const jsm = await ensureCallEventsStream(deps.nc);
  const firstSeq = (await jsm.streams.info(callEventsStream)).state.last_seq + 1;
  const js = jetstream(deps.nc);
  for (let i = 0; i < ids.length; i += 50) await Promise.all(ids.slice(i, i + 50).map((id) => publishConversation(createCallEventPublisher(js, id))));
  const events = ids.length * eventsPerCall;

  const durableName = `bench-bridge-${tag}-${round}-${concurrency}`;
  const cpu0 = process.cpuUsage();
  const jiffies0 = busyJiffies();
  const t0 = performance.now();
  const bridge = await startEventBridge({ nc: deps.nc, temporal: deps.client, db: deps.db, log: pino({ level: 'silent' }), durableName, startSequence: firstSeq, concurrency, agentWatch: false, removeWhenIdleMs: 5 * 60_000 });
  const deadline = Date.now() + 600_000;
  while (bridge.handled < events) {
    if (Date.now() > deadline) throw new Error(`the bridge handled ${bridge.handled} of ${events} events in 10 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const drainMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const jiffies1 = busyJiffies();
  await bridge.stop();
  await jsm.consumers.delete(callEventsStream, durableName);

  let callsInOrder = 0;
  for (const id of ids) {
    const arrived = await deps.client.workflow.getHandle(id).query(arrivedQuery);
    if (arrived.length === eventsPerCall && arrived.every((seq, i) => seq === i + 1)) callsInOrder++;
  }
  for (let i = 0; i < ids.length; i += 50) await Promise.all(ids.slice(i, i + 50).map((id) => deps.client.workflow.getHandle(id).terminate('bridge benchmark done')));
  await deps.db.deleteFrom('calls').where('id', 'in', ids).execute();
  return {
    round,
    concurrency,
    events,
    drainMs: Math.round(drainMs),
    eventsPerS: round1(events / (drainMs / 1000)),
    bridgeCpuMsPerKEvents: round1(((cpu.user + cpu.system) / 1000 / events) * 1000),
    machineBusyCores: Math.round(((jiffies1.busy - jiffies0.busy) / Math.max(1, jiffies1.total - jiffies0.total)) * machineInfo().machine.nproc * 100) / 100,
    callsInOrder,
  };
}

export async function runBridgeBench(opts: BridgeBenchOptions, log: Log): Promise<BridgeBenchResults> {
  const startedAt = new Date().toISOString();
  const config = loadConfig();
  const nc = await connectNats(config.nats.url, 'kickcall-bench-bridge');
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const db = createDb(config.postgres.url, { maxConnections: Math.max(...opts.concurrency, 4) });
  const taskQueue = `bench-bridge-${Date.now()}`;
  const worker = await startProcess('bench/bridge/worker.ts', { BRIDGE_BENCH_TASK_QUEUE: taskQueue }, /polling/);
  await db.insertInto('tenants').values({ id: tenantId, name: tenantId }).onConflict((oc) => oc.column('id').doNothing()).execute();
  log('stopping the stack’s event bridge for the run');
  await stackDown(() => undefined, config, ['event-bridge']);
  const runs: BridgeRun[] = [];
  const tag = Date.now().toString(36);
  try {
    for (let round = 1; round <= opts.rounds; round++) {
      // Alternate the order each round, so drift in the machine does not favour one level.
      const order = round % 2 === 1 ? opts.concurrency : [...opts.concurrency].reverse();
      for (const concurrency of order) {
        const run = await oneRun({ client, db, nc, taskQueue }, round, concurrency, opts, tag);
        runs.push(run);
        log(`round ${round}, concurrency ${concurrency}: ${run.events} events in ${run.drainMs} ms (${run.eventsPerS}/s), ${run.callsInOrder}/${opts.calls} calls in order`);
      }
    }
  } finally {
    log('starting the stack’s event bridge again');
    await stackUp(() => undefined, ['event-bridge']);
    await worker.stop();
    await db.destroy();
    await nc.drain();
    await connection.close();
  }
  const one = median(runs.filter((r) => r.concurrency === 1).map((r) => r.eventsPerS));
  const summary = opts.concurrency.map((concurrency) => {
    const of = runs.filter((r) => r.concurrency === concurrency);
    const eventsPerSMedian = round1(median(of.map((r) => r.eventsPerS)));
    return {
      concurrency,
      eventsPerSMedian,
      drainMsMedian: Math.round(median(of.map((r) => r.drainMs))),
      bridgeCpuMsPerKEventsMedian: round1(median(of.map((r) => r.bridgeCpuMsPerKEvents))),
      machineBusyCoresMedian: Math.round(median(of.map((r) => r.machineBusyCores)) * 100) / 100,
      speedupVsOne: opts.concurrency.includes(1) && one > 0 ? Math.round((eventsPerSMedian / one) * 100) / 100 : null,
      callsInOrder: `${of.reduce((n, r) => n + r.callsInOrder, 0)}/${of.length * opts.calls}`,
    };
  });
  const { gitCommit, gitDirty, machine } = machineInfo();
  return { startedAt, finishedAt: new Date().toISOString(), options: opts, eventsPerCall, gitCommit, gitDirty, machine, runs, summary };
}

const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'results');

export function writeBridgeResults(r: BridgeBenchResults, rerun: string): { json: string; markdown: string } {
  const jsonName = `bridge-${r.startedAt.slice(0, 10)}.json`;
  const json = path.join(resultsDir, jsonName);
  writeFileSync(json, `${JSON.stringify({ units: { drainMs: 'ms', eventsPerS: 'events/s', bridgeCpuMsPerKEvents: 'CPU ms per 1,000 events', machineBusyCores: 'cores' }, ...r }, null, 2)}\n`);
  const m = r.machine;
  const rows = r.summary.map((s) => `| ${s.concurrency} | ${s.eventsPerSMedian} | ${s.speedupVsOne ?? '–'} | ${s.drainMsMedian} | ${s.bridgeCpuMsPerKEventsMedian} | ${s.machineBusyCoresMedian} | ${s.callsInOrder} |`);
  const runRows = r.runs.map((x) => `| ${x.round} | ${x.concurrency} | ${x.events} | ${x.drainMs} | ${x.eventsPerS} | ${x.bridgeCpuMsPerKEvents} | ${x.machineBusyCores} | ${x.callsInOrder} |`);
  const markdown = path.join(resultsDir, 'bridge.md');
  writeFileSync(
    markdown,
    `# Event bridge throughput

Run ${r.startedAt} at \`${r.gitCommit.slice(0, 12)}\`${r.gitDirty ? ' (uncommitted changes)' : ''} on ${m.nproc} × ${m.cpuModel}, ${m.memTotalMiB} MiB, Node ${m.node}. Figures: [\`${jsonName}\`](${jsonName}).

## What is measured

A backlog of ${r.options.calls} calls × ${r.eventsPerCall} events (a conversation's: joined, three turns each way with their metrics, an answer, usage, the end, the leave) in JetStream, published by the media worker's publisher, drained by one event bridge (\`workers/event-bridge.ts\`, in the benchmark's process): each event written to PostgreSQL and signalled to its call's workflow (a stand-in that records what arrives, on a worker in its own process). **concurrency** is how many events the bridge has in hand at once, across calls (one call's events stay one after another); 1 is how the bridge ran before. Each level ran ${r.options.rounds} times, alternating the order; medians of those runs. **bridge CPU** is this process's CPU per 1,000 events; **machine busy** every core of the machine while it drained (Temporal, PostgreSQL, NATS, the sink worker and the bridge). **calls in order**: calls whose workflow got all ${r.eventsPerCall} events once, in seq order. The stack's own bridge was stopped for the run.

## Results

| concurrency | events/s (median) | ÷ concurrency 1 | drain ms | bridge CPU ms / 1k events | machine busy, cores | calls in order |
|---|---|---|---|---|---|---|
${rows.join('\n')}

Every run:

| round | concurrency | events | drain ms | events/s | bridge CPU ms / 1k events | machine busy, cores | calls in order |
|---|---|---|---|---|---|---|---|
${runRows.join('\n')}

## Rerun

\`\`\`sh
npm run stack:up
${rerun}
\`\`\`

## Caveats

- One machine of ${m.nproc} cores runs Temporal's dev server, PostgreSQL, NATS, the sink worker and the bridge: one at a time, the bridge waits on two round trips per event (the database write, the signal); at once, the servers' cores become the limit. A deployment's servers on their own machines would raise both figures.
- A backlog drained as fast as possible is the bridge's capacity, not its latency at a campaign's steady pace; at a pace under its capacity each event waits only for its own two round trips.
`,
  );
  return { json, markdown };
}
