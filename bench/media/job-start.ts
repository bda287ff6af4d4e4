/**
 * What starting one job process costs: `npm run bench -- media-job-start [--processes 4] [--rounds 3]`.
 *
 * Every call takes a job process from the media worker's warm pool, and the pool starts a
 * replacement (the agent is dispatched before the dial, so every attempt does): the start
 * is paid at the rate calls start, beside the calls already running. Each round starts the
 * benchmark's worker (`worker-process.ts`, compiled as the stack runs it) once with one warm
 * process and once with 1 + `processes` (LiveKit Agents reads 0 as its default), waits
 * until its pool is warm and its tree quiet, and reads the tree's CPU (utime + stime,
 * exited children included); the difference ÷ `processes` is one process's start: Node, LiveKit Agents, the plugins, our entry, Silero's
 * model. Two forms alternate: the job bundle the worker forks (deploy/build.ts) and the
 * job entry compiled file by file with the framework's own job main.
 *
 * Needs LiveKit (the worker registers); nothing is dispatched.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCpu } from '../campaign/cpu.js';
import { round3 } from '../campaign/helpers.js';
import { TreeSampler } from './proc-sampler.js';
import { machineInfo } from './report.js';
import { sampleIntervalMs, untilWarm } from './run.js';
import { percentile } from './stats.js';
import { startWorker } from './workers.js';
import type { JobForm } from './worker-protocol.js';

export interface JobStartOptions {
  processes: number;
  rounds: number;
}

interface Start {
  form: JobForm;
  round: number;
  processes: number;
  /** Worker tree CPU from its start to its pool warm and quiet. */
  treeCpuS: number;
  /** From the worker's registration to the pool warm and quiet. */
  warmMs: number;
}

const forms: JobForm[] = ['bundled', 'unbundled'];

async function startOnce(form: JobForm, round: number, processes: number, log: (line: string) => void): Promise<Start> {
  const label = `${form}-${processes}`;
  const worker = await startWorker({
    variant: 'ours',
    agentName: `bench-job-start-${process.pid}-${round}-${label}`,
    httpPort: 18_293,
    maxConcurrentCalls: processes,
    idleProcesses: processes,
    logPath: path.join(tmpdir(), `kickcall-bench-job-start-${label}.log`),
    registerTimeoutMs: 60_000,
    jobForm: form,
  });
  const sampler = new TreeSampler({ [label]: { pid: worker.pid, descendants: true } }, sampleIntervalMs);
  sampler.start();
  try {
    const warmMs = await untilWarm(sampler, label, processes, 120_000);
    const treeCpuS = readCpu({ tree: worker.pid }).tree!;
    log(`  ${form}, ${processes} warm processes: tree ${round3(treeCpuS)} CPU-s, warm ${warmMs} ms after registering`);
    return { form, round, processes, treeCpuS: round3(treeCpuS), warmMs };
  } finally {
    sampler.stop();
    await worker.stop(15_000);
  }
}

export async function runJobStartBench(opts: JobStartOptions, log: (line: string) => void) {
  const startedAt = new Date();
  const starts: Start[] = [];
  for (let round = 1; round <= opts.rounds; round++) {
    // Alternated, and reversed every other round, so drift on a shared machine falls on both.
    for (const form of round % 2 === 1 ? forms : [...forms].reverse()) {
      log(`round ${round}: ${form}`);
      starts.push(await startOnce(form, round, 1, log));
      starts.push(await startOnce(form, round, 1 + opts.processes, log));
    }
  }
  const perProcess = (form: JobForm) =>
    Array.from({ length: opts.rounds }, (_, i) => {
      const of = (n: number) => starts.find((s) => s.form === form && s.round === i + 1 && s.processes === n)!;
      return round3((of(1 + opts.processes).treeCpuS - of(1).treeCpuS) / opts.processes);
    });
  const summary = Object.fromEntries(
    forms.map((form) => {
      const values = perProcess(form);
      const sorted = [...values].sort((a, b) => a - b);
      return [form, { perProcessCpuS: values, medianCpuS: round3(percentile(sorted, 50)!), warmMsMedian: percentile(starts.filter((s) => s.form === form && s.processes > 1).map((s) => s.warmMs).sort((a, b) => a - b), 50) }];
    }),
  ) as Record<JobForm, { perProcessCpuS: number[]; medianCpuS: number; warmMsMedian: number | null }>;
  const { gitCommit, gitDirty, machine } = machineInfo();
  return {
    benchmark: 'media-job-start',
    date: startedAt.toISOString().slice(0, 10),
    startedAt: startedAt.toISOString(),
    gitCommit,
    gitDirty,
    machine,
    units: { '*CpuS': 'CPU seconds', '*Ms': 'milliseconds' },
    options: opts,
    starts,
    summary,
    ratioBundledToUnbundled: round3(summary.bundled.medianCpuS / summary.unbundled.medianCpuS),
  };
}

export type JobStartResults = Awaited<ReturnType<typeof runJobStartBench>>;

export function writeJobStartResults(r: JobStartResults, rerun: string): { json: string; markdown: string } {
  const jsonName = `media-job-start-${r.date}.json`;
  const json = fileURLToPath(new URL(`../results/${jsonName}`, import.meta.url));
  const markdown = fileURLToPath(new URL('../results/media-job-start.md', import.meta.url));
  writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  const row = (form: JobForm) => `| ${form} | ${r.summary[form].perProcessCpuS.join(', ')} | **${r.summary[form].medianCpuS}** | ${r.summary[form].warmMsMedian ?? 'n/a'} |`;
  writeFileSync(
    markdown,
    `# Starting a job process

Run ${r.startedAt} at \`${r.gitCommit.slice(0, 12)}\`${r.gitDirty ? ' (uncommitted changes)' : ''} on ${r.machine.nproc} × ${r.machine.cpuModel}, Node ${r.machine.node}. Figures: [\`${jsonName}\`](${jsonName}).

## What is measured

Each round starts the benchmark's media worker (\`bench/media/worker-process.ts\`, compiled as the stack runs it, Kickcall's agent) twice per form: with one warm job process, then with ${1 + r.options.processes} (LiveKit Agents reads 0 as its default); it waits until the pool is warm (every process started and prewarmed, Silero loaded) and the worker's tree has been quiet for 2 s, and reads the tree's CPU (utime + stime from \`/proc\`, exited children included). One process's start = (CPU with ${1 + r.options.processes} − CPU with one) ÷ ${r.options.processes}: Node, LiveKit Agents and the plugins, our job entry, Silero's model, the IPC with the worker. ${r.options.rounds} rounds, the forms alternated.

- **bundled**: what the worker forks (\`deploy/build.ts\` \`bundleJobProcess\`): LiveKit Agents' job main and the job entry in one module graph with shared chunks, native packages (rtc-node, onnxruntime) left in node_modules.
- **unbundled**: the job entry compiled file by file (\`.build/media/agent/entry.js\`) and the framework's own job main, every package loaded from node_modules, as before.

## Results

| form | CPU-s per process start, by round | median | warm after registering, median ms |
|---|---|---|---|
${row('bundled')}
${row('unbundled')}

Bundled ÷ unbundled: **${r.ratioBundledToUnbundled}**.

## Rerun

\`\`\`sh
npm run stack:up
${rerun}
\`\`\`

The machine is shared: compare the two forms within a run.
`,
  );
  return { json, markdown };
}
