/**
 * Turns one level's raw material (call results, turn.metrics events, /proc samples) into
 * the figures the results report. Pure functions: no I/O.
 */
import type { CallResult } from './call.js';
import type { TurnLatency } from '../../media/agent/turn-metrics.js';
import type { TreeSample } from './proc-sampler.js';
import { summarize, type Summary } from './stats.js';

/** The latency the pipeline cannot avoid with these settings (ms), and its parts. */
export interface LatencyFloor {
  endpointingMinDelayMs: number;
  sttFinalizeDelayMs: number;
  llmTtftMs: number;
  ttsFirstByteMs: number;
  totalMs: number;
}

export interface LatencyFigures {
  callsStarted: number;
  callsCompleted: number;
  callsWithErrors: number;
  timeouts: string[];
  errors: string[];
  turnsMeasured: number;
  turnsExcluded: Record<string, number>;
  greetingHeardAfterJoinMs: Summary;
  /** Caller-measured: end of the caller's line → start of the agent's reply. */
  voiceToVoiceMs: Summary;
  /** voiceToVoiceMs − the floor (endpointing min delay + injected STT, LLM, TTS latencies). */
  pipelineOverheadMs: Summary;
}

export function latencyFigures(calls: readonly CallResult[], turns: number, floor: LatencyFloor): LatencyFigures {
  const measured = calls.flatMap((c) => c.turns.filter((t) => t.voiceToVoiceMs !== null).map((t) => t.voiceToVoiceMs!));
  const excluded: Record<string, number> = {};
  for (const t of calls.flatMap((c) => c.turns)) if (t.excluded) excluded[t.excluded] = (excluded[t.excluded] ?? 0) + 1;
  return {
    callsStarted: calls.length,
    callsCompleted: calls.filter((c) => !c.error && c.timeouts.length === 0 && c.turns.length === turns).length,
    callsWithErrors: calls.filter((c) => c.error).length,
    timeouts: calls.flatMap((c) => c.timeouts.map((t) => `${c.callId}:${t}`)),
    errors: calls.flatMap((c) => (c.error ? [`${c.callId}: ${c.error}`] : [])),
    turnsMeasured: measured.length,
    turnsExcluded: excluded,
    greetingHeardAfterJoinMs: summarize(calls.flatMap((c) => (c.greetingHeardAfterJoinMs === null ? [] : [c.greetingHeardAfterJoinMs]))),
    voiceToVoiceMs: summarize(measured),
    pipelineOverheadMs: summarize(measured.map((v) => v - floor.totalMs)),
  };
}

export interface TurnMetricsFigures {
  /** Calls whose turns all came in: ours' events ended with agent.left in time, bare's file was written. */
  callsWithCompleteEvents: number;
  events: number;
  eouDelayMs: Summary;
  sttMs: Summary;
  llmTtftMs: Summary;
  ttsTtfbMs: Summary;
  /** The agent's own figure (LiveKit Agents' `e2eLatency`): the caller's last speech to the reply's first audio frame. */
  voiceToVoiceMs: Summary;
  /**
   * Caller-measured voice-to-voice − the agent's own, per turn (calls where the counts
   * pair up): WebRTC both ways, Opus, jitter buffers, playout, the caller's detectors.
   */
  transportAndPlayoutMs: Summary;
}

/** A call's measured turns, in order, and whether they all came in (the agent had left). */
export interface MeasuredTurns {
  events: TurnLatency[];
  complete: boolean;
}

export function turnMetricsFigures(calls: readonly CallResult[], metricsByCall: ReadonlyMap<string, MeasuredTurns>): TurnMetricsFigures {
  const all = [...metricsByCall.values()].flatMap((m) => m.events);
  const pick = (f: (e: TurnLatency) => number | undefined) => summarize(all.flatMap((e) => (f(e) === undefined ? [] : [f(e)!])));
  const transport: number[] = [];
  for (const call of calls) {
    const events = metricsByCall.get(call.callId)?.events ?? [];
    if (events.length !== call.turns.length) continue;
    call.turns.forEach((t, i) => {
      const e = events[i];
      if (t.voiceToVoiceMs !== null && e) transport.push(t.voiceToVoiceMs - e.voiceToVoiceMs);
    });
  }
  return {
    callsWithCompleteEvents: [...metricsByCall.values()].filter((m) => m.complete).length,
    events: all.length,
    eouDelayMs: pick((e) => e.eouDelayMs),
    sttMs: pick((e) => e.sttMs),
    llmTtftMs: pick((e) => e.llmTtftMs),
    ttsTtfbMs: pick((e) => e.ttsTtfbMs),
    voiceToVoiceMs: pick((e) => e.voiceToVoiceMs),
    transportAndPlayoutMs: summarize(transport),
  };
}

export interface ResourceFigures {
  /** Which span the averages cover: all calls in conversation at once, or (if they never were) the whole level. */
  window: 'all_calls_in_conversation' | 'whole_level';
  windowS: number;
  samples: number;
  idleBaseline: { cores: number | null; rssMiB: number | null; pssMiB: number | null };
  /** Worker process tree: the worker and its job processes. */
  coresMean: number | null;
  coresPeak: number | null;
  rssPeakMiB: number | null;
  pssPeakMiB: number | null;
  /** Totals ÷ concurrent calls. */
  coresPerCall: number | null;
  rssPerCallMiB: number | null;
  pssPerCallMiB: number | null;
  /** (Total − idle baseline) ÷ calls: what one more call costs. */
  marginalCoresPerCall: number | null;
  marginalRssPerCallMiB: number | null;
  /**
   * The part of `coresMean` spent by processes that were already running when the level
   * began (the worker and the warm job processes that took its calls) ÷ calls: a call's
   * own cost. The rest is the worker starting replacement processes to keep its idle pool.
   */
  inCallCoresPerCall: number | null;
  /** Cores spent starting replacement job processes during the window. */
  replacementCoresMean: number | null;
  /** The benchmark process itself (the simulated callers), on the same cores. */
  loadGeneratorCoresMean: number | null;
}

const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;
const r3 = (v: number) => Math.round(v * 1000) / 1000;
const mean = (xs: number[]) => (xs.length ? xs.reduce((s, v) => s + v, 0) / xs.length : null);
const max = (xs: number[]) => (xs.length ? Math.max(...xs) : null);
const cores = (ss: TreeSample[]) => ss.flatMap((s) => (s.cores === null ? [] : [s.cores]));
/** Pss of the samples that read it (`TreeSampler`'s `pssEveryMs`). */
const pss = (ss: TreeSample[]) => ss.flatMap((s) => (s.pssKiB === null ? [] : [s.pssKiB]));

export function resourceFigures(opts: {
  calls: readonly CallResult[];
  worker: (fromMs: number, toMs: number) => TreeSample[];
  loadGenerator: (fromMs: number, toMs: number) => TreeSample[];
  baseline: TreeSample[];
  minWindowMs: number;
  /** The worker tree's processes when the level began. */
  pidsAtStart: ReadonlySet<number>;
}): ResourceFigures {
  const { calls } = opts;
  const levelFrom = Math.min(...calls.map((c) => c.startedAtMs));
  const levelTo = Math.max(...calls.map((c) => c.finishedAtMs));
  const firstLines = calls.map((c) => c.firstLineAtMs).filter((t): t is number => t !== null);
  const steadyFrom = firstLines.length === calls.length ? Math.max(...firstLines) : Infinity;
  const steadyTo = Math.min(...calls.map((c) => c.finishedAtMs));
  const steady = steadyTo - steadyFrom >= opts.minWindowMs;
  const [from, to] = steady ? [steadyFrom, steadyTo] : [levelFrom, levelTo];
  const inWindow = opts.worker(from, to);
  const whole = opts.worker(levelFrom, levelTo);
  const n = calls.length;
  const baseCores = mean(cores(opts.baseline));
  const baseRss = mean(opts.baseline.map((s) => s.rssKiB));
  const baseP = mean(pss(opts.baseline));
  const coresMean = mean(cores(inWindow));
  const rssPeak = max(whole.map((s) => s.rssKiB));
  const pssPeak = max(pss(whole));
  const gen = mean(cores(opts.loadGenerator(from, to)));
  const inCall = mean(
    inWindow.filter((s) => s.cores !== null).map((s) => [...s.coresByPid].reduce((sum, [pid, c]) => sum + (opts.pidsAtStart.has(pid) ? c : 0), 0)),
  );
  return {
    window: steady ? 'all_calls_in_conversation' : 'whole_level',
    windowS: Math.round((to - from) / 100) / 10,
    samples: inWindow.length,
    idleBaseline: {
      cores: baseCores === null ? null : r3(baseCores),
      rssMiB: baseRss === null ? null : mib(baseRss),
      pssMiB: baseP === null ? null : mib(baseP),
    },
    coresMean: coresMean === null ? null : r3(coresMean),
    coresPeak: max(cores(whole)) === null ? null : r3(max(cores(whole))!),
    rssPeakMiB: rssPeak === null ? null : mib(rssPeak),
    pssPeakMiB: pssPeak === null ? null : mib(pssPeak),
    coresPerCall: coresMean === null ? null : r3(coresMean / n),
    rssPerCallMiB: rssPeak === null ? null : mib(rssPeak / n),
    pssPerCallMiB: pssPeak === null ? null : mib(pssPeak / n),
    marginalCoresPerCall: coresMean === null || baseCores === null ? null : r3((coresMean - baseCores) / n),
    marginalRssPerCallMiB: rssPeak === null || baseRss === null ? null : mib((rssPeak - baseRss) / n),
    inCallCoresPerCall: inCall === null ? null : r3(inCall / n),
    replacementCoresMean: inCall === null || coresMean === null ? null : r3(coresMean - inCall),
    loadGeneratorCoresMean: gen === null ? null : r3(gen),
  };
}

export interface Comparison {
  voiceToVoiceP50Ratio: number | null;
  voiceToVoiceP95Ratio: number | null;
  /** Ours − bare, ms: what our layer adds. */
  addedP50Ms: number | null;
  addedP95Ms: number | null;
}

export function compare(ours: Summary, bare: Summary): Comparison {
  const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : Math.round((a / b) * 1000) / 1000);
  const diff = (a: number | null, b: number | null) => (a === null || b === null ? null : Math.round((a - b) * 10) / 10);
  return {
    voiceToVoiceP50Ratio: ratio(ours.p50, bare.p50),
    voiceToVoiceP95Ratio: ratio(ours.p95, bare.p95),
    addedP50Ms: diff(ours.p50, bare.p50),
    addedP95Ms: diff(ours.p95, bare.p95),
  };
}
