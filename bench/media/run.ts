/**
 * The media benchmark: voice-to-voice latency, pipeline overhead, CPU and memory per
 * concurrent call, for our media worker and for a bare AgentSession, at each level of
 * concurrency, against the local stack with latencies injected into the simulators.
 * See bench/results/media.md for what the figures mean.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { loadConfig, type Config } from '../../deploy/config.js';
import { ensureCallEventsStream } from '../../media/events/publisher.js';
import { turnTiming } from '../../media/agent/session.js';
import type { TurnLatency } from '../../media/agent/turn-metrics.js';
import { compare, latencyFigures, resourceFigures, turnMetricsFigures, type LatencyFloor, type MeasuredTurns } from './analyze.js';
import { createCallClients, lineForTurn, runCall, thinkMs, type CallClients, type CallResult } from './call.js';
import { finalEventsOf, type TurnMetricsEvent } from './events.js';
import { TreeSampler, countJobProcesses } from './proc-sampler.js';
import { machineInfo, writeResults, type LevelResult, type MediaBenchResults, type VariantResult } from './report.js';
import { defaultInjectedLatencies, injectLatencies, resetSimulators, simulatorUrls, type InjectedLatencies } from './sim-admin.js';
import { compileBenchWorkers, startWorker, type BenchWorker } from './workers.js';
import { variants, workerShape, type Variant } from './worker-protocol.js';
import { disposeRtcRuntime } from '../../media/rtc-runtime.js';

export interface MediaBenchOptions {
  /** Concurrency levels, run in order. */
  calls: number[];
  /** Caller lines per call. */
  turns: number;
  /** Delay between call starts within a level (ms). */
  staggerMs: number;
  /** Results file stem under bench/results: `media` → media-<date>.json and media.md. */
  label: string;
  latencies: InjectedLatencies;
}

export const defaultMediaBenchOptions: MediaBenchOptions = {
  calls: [1, 10, 25],
  turns: 3,
  staggerMs: 200,
  label: 'media',
  latencies: defaultInjectedLatencies,
};

export const sampleIntervalMs = 500;
const idleBaselineMs = 2_000;
/** Worker HTTP ports (health); away from the stack's and the tests' (18181). */
const workerPorts: Record<Variant, number> = { ours: 18_291, bare: 18_292 };

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits until the worker has `count` job processes and its tree has been quiet for two
 * seconds: every process started and prewarmed (Silero loaded), none still initialising.
 * Returns how long that took.
 */
export async function untilWarm(sampler: TreeSampler, label: string, count: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  const quietCores = 0.15;
  const quietSamples = Math.ceil(2_000 / sampleIntervalMs);
  while (Date.now() - started < timeoutMs) {
    await sleep(sampleIntervalMs);
    if (countJobProcesses(sampler.pidsNow(label)) < count) continue;
    const recent = (sampler.samples.get(label) ?? []).slice(-quietSamples);
    if (recent.length === quietSamples && recent.every((x) => x.cores !== null && x.cores < quietCores)) return Date.now() - started;
  }
  throw new Error(`${label} worker did not warm ${count} job processes within ${timeoutMs} ms`);
}

/** Ours: every call's turn.metrics from JetStream, once its agent has left. */
async function collectTurnMetrics(nc: NatsConnection, calls: readonly CallResult[]): Promise<Map<string, MeasuredTurns>> {
  const byCall = new Map<string, MeasuredTurns>();
  for (const call of calls) {
    const { events, complete } = await finalEventsOf(nc, call.callId, 15_000);
    byCall.set(call.callId, { events: events.filter((e): e is TurnMetricsEvent => e.type === 'turn.metrics'), complete });
  }
  return byCall;
}

/** Bare: every call's measured turns from the file its job writes as its session closes (`bench/bare-agent.ts`). */
async function collectBareTurns(turnsDir: string, calls: readonly CallResult[]): Promise<Map<string, MeasuredTurns>> {
  const byCall = new Map<string, MeasuredTurns>();
  const deadline = Date.now() + 15_000;
  for (const call of calls) {
    const file = join(turnsDir, `${call.callId}.json`);
    while (!existsSync(file) && Date.now() < deadline) await sleep(250);
    byCall.set(call.callId, existsSync(file) ? { events: JSON.parse(readFileSync(file, 'utf8')) as TurnLatency[], complete: true } : { events: [], complete: false });
    rmSync(file, { force: true });
  }
  return byCall;
}

async function runVariant(ctx: {
  clients: CallClients;
  nc: NatsConnection;
  sampler: TreeSampler;
  worker: BenchWorker;
  calls: number;
  opts: MediaBenchOptions;
  floor: LatencyFloor;
  runId: string;
  turnsDir: string;
}): Promise<VariantResult> {
  const { worker, sampler, opts } = ctx;
  const label = `${worker.variant}`;
  const baselineFrom = Date.now();
  await sleep(idleBaselineMs);
  const baseline = sampler.window(label, baselineFrom, Date.now());
  const pidsAtStart = sampler.pidsNow(label);

  const results = await Promise.all(
    Array.from({ length: ctx.calls }, async (_, i) => {
      await sleep(i * opts.staggerMs);
      const callId = `bench_${ctx.runId}_${worker.variant}_${ctx.calls}_${i}`;
      return runCall(ctx.clients, { agentName: worker.agentName, callId, turns: opts.turns });
    }),
  );
  const metrics = worker.variant === 'ours' ? await collectTurnMetrics(ctx.nc, results) : await collectBareTurns(ctx.turnsDir, results);
  return {
    latency: latencyFigures(results, opts.turns, ctx.floor),
    turnMetrics: turnMetricsFigures(results, metrics),
    resources: resourceFigures({
      calls: results,
      worker: (from, to) => sampler.window(label, from, to),
      loadGenerator: (from, to) => sampler.window('loadGenerator', from, to),
      baseline,
      minWindowMs: 4 * sampleIntervalMs,
      pidsAtStart,
    }),
    calls: results,
  };
}

/**
 * Runs every level; `onLevel` gets the results so far after each one, so a level that
 * brings the load generator down (rtc-node's native side can abort the process) still
 * leaves the levels before it on disk.
 */
export async function runMediaBench(opts: MediaBenchOptions, log: (line: string) => void, onLevel?: (sofar: MediaBenchResults) => void): Promise<MediaBenchResults> {
  const config: Config = loadConfig();
  const sims = simulatorUrls(config);
  const startedAt = new Date();
  // The code every worker of the run loads, compiled once (edits made while it runs are
  // not in it); recorded before the run writes its own results files, which would count
  // as uncommitted changes.
  const codeAndMachine = machineInfo();
  await compileBenchWorkers();
  const runId = randomBytes(3).toString('hex');
  const logDir = mkdtempSync(join(tmpdir(), 'kickcall-bench-'));
  const turnsDir = mkdtempSync(join(tmpdir(), 'kickcall-bench-turns-'));
  const maxConcurrentCalls = Math.max(config.media.maxConcurrentCalls, ...opts.calls);
  const nc = await connect({ servers: config.nats.url, name: `kickcall-bench-${runId}` });
  let running: { worker: BenchWorker; sampler: TreeSampler } | undefined;
  const stopRunning = async () => {
    running?.sampler.stop();
    await running?.worker.stop(75_000);
    running = undefined;
  };
  try {
    await ensureCallEventsStream(nc);
    const simulatorSettings = await injectLatencies(sims, opts.latencies);
    log(`injected latencies ${JSON.stringify(simulatorSettings)}`);
    const floor: LatencyFloor = {
      endpointingMinDelayMs: turnTiming.endpointingMinDelayMs,
      sttFinalizeDelayMs: opts.latencies.deepgram.sttFinalizeDelayMs,
      llmTtftMs: opts.latencies.openai.ttftMs,
      ttsFirstByteMs: opts.latencies.deepgram.ttsFirstByteMs,
      totalMs: turnTiming.endpointingMinDelayMs + opts.latencies.deepgram.sttFinalizeDelayMs + opts.latencies.openai.ttftMs + opts.latencies.deepgram.ttsFirstByteMs,
    };
    const clients = createCallClients(config);
    const levels: LevelResult[] = [];
    const warmUpMs: Record<string, number> = {};
    const snapshot = (): MediaBenchResults => ({
      benchmark: 'media',
      date: startedAt.toISOString().slice(0, 10),
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      ...codeAndMachine,
      injectedLatencies: opts.latencies,
      simulatorSettings,
      latencyFloorMs: floor,
      options: {
        calls: opts.calls,
        turns: opts.turns,
        staggerMs: opts.staggerMs,
        thinkMs,
        lines: Array.from({ length: opts.turns }, (_, i) => lineForTurn(i)),
        sampleIntervalMs,
        worker: { ...workerShape, idleProcesses: 'as many as the level has calls', maxConcurrentCalls },
        warmUpMs,
        workerLogs: logDir,
      },
      levels,
    });
    for (const calls of opts.calls) {
      const byVariant: Partial<Record<Variant, VariantResult>> = {};
      // One variant at a time, each in a fresh worker with a warm pool the size of the
      // level: the other variant's processes neither compete for the cores nor the memory.
      for (const variant of variants) {
        const worker = await startWorker({
          variant,
          agentName: `kickcall-bench-${variant}-${runId}-${calls}`,
          httpPort: workerPorts[variant],
          maxConcurrentCalls,
          idleProcesses: calls,
          logPath: join(logDir, `${variant}-${calls}-worker.log`),
          registerTimeoutMs: 60_000,
          turnsDir,
        });
        const sampler = new TreeSampler(
          { [variant]: { pid: worker.pid, descendants: true }, loadGenerator: { pid: process.pid, descendants: false } },
          sampleIntervalMs,
        );
        running = { worker, sampler };
        sampler.start();
        const warmMs = await untilWarm(sampler, variant, calls, 60_000 + calls * 10_000);
        warmUpMs[`${variant}@${calls}`] = warmMs;
        log(`level ${calls} calls × ${opts.turns} turns: ${variant} (pid ${worker.pid}, ${calls} job processes warm after ${warmMs} ms)`);
        const result = await runVariant({ clients, nc, sampler, worker, calls, opts, floor, runId, turnsDir });
        const v = result.latency.voiceToVoiceMs;
        log(`  voice-to-voice p50 ${v.p50} ms, p95 ${v.p95} ms (${result.latency.turnsMeasured} turns), cores ${result.resources.coresMean}, in-call cores/call ${result.resources.inCallCoresPerCall}`);
        byVariant[variant] = result;
        await stopRunning();
      }
      const ours = byVariant.ours!;
      const bare = byVariant.bare!;
      levels.push({
        calls,
        ours,
        bare,
        comparison: compare(ours.latency.voiceToVoiceMs, bare.latency.voiceToVoiceMs),
        // Only where both agents measured turns: otherwise the target falls back to what the caller heard.
        ...(ours.turnMetrics!.events > 0 && bare.turnMetrics!.events > 0 ? { agentSideComparison: compare(ours.turnMetrics!.voiceToVoiceMs, bare.turnMetrics!.voiceToVoiceMs) } : {}),
      });
      onLevel?.(snapshot());
    }
    return snapshot();
  } finally {
    await stopRunning();
    await resetSimulators(sims).catch((err: unknown) => log(`simulator reset failed: ${String(err)}`));
    await nc.close();
    await disposeRtcRuntime();
    rmSync(turnsDir, { recursive: true, force: true });
  }
}

export { writeResults };
