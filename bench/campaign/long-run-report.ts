/**
 * The segmented campaign run's results files (bench/campaign/long-run.ts): the figures
 * over every segment so far, bench/results/<label>-<first day>.json and <label>.md,
 * rewritten after each segment and final once the campaign completes and is audited.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { machineInfo } from '../media/report.js';
import { round3, type LagSummary } from './helpers.js';
import { sumActions, type ActionCounts } from './history.js';
import { callSamplePerSegment, type LongRunState, type Segment } from './long-run.js';

export interface LongRunOverall {
  /** Every call record of the campaign, from PostgreSQL. */
  dials: number;
  schedulingLagMs: LagSummary;
  /** By ten minutes of the calls' creation (UTC): when the lag's tail happened. */
  lagByWindow: { from: string; lag: LagSummary }[];
}

interface Target {
  name: string;
  target: string;
  measured: string;
  met: boolean | null;
}

const keys = (a: ActionCounts) => Object.keys(a) as (keyof ActionCounts)[];

/** The figures the segments add up to: pace over their measured spans, CPU and history per call. */
export function longRunFigures(state: LongRunState, overall: LongRunOverall) {
  const closed = state.segments.filter((s): s is Segment & Required<Pick<Segment, 'pace' | 'dials' | 'endedAt'>> => s.pace !== undefined && s.dials !== undefined && s.endedAt !== undefined);
  const measuredIntervals = closed.reduce((n, s) => n + Math.max(0, s.pace.dialsMeasured - 1), 0);
  const measuredS = closed.reduce((n, s) => n + s.pace.spanS, 0);
  const achievedCps = measuredS > 0 ? round3(measuredIntervals / measuredS) : null;
  const cps = state.campaignConfig.callsPerSecond;
  const cpuS = { worker: 0, temporal: 0, postgres: 0 };
  for (const s of closed) for (const k of Object.keys(cpuS) as (keyof typeof cpuS)[]) cpuS[k] += s.cpuS[k] ?? 0;
  const activeS = closed.reduce((n, s) => n + (Date.parse(s.endedAt) - Date.parse(s.startedAt)) / 1000, 0);
  const dials = Math.max(1, overall.dials);
  // CPU was read over the closed segments, so it is divided by their dials (calls made after an interrupted segment's last heartbeat are in neither).
  const segmentDials = Math.max(1, closed.reduce((n, s) => n + s.dials, 0));
  const per1000 = (v: number) => round3((v * 1000) / segmentDials);
  // Call workflows: each segment's sample mean stands for that segment's dials.
  const sampled = closed.filter((s) => s.callSample);
  const sampledDials = sampled.reduce((n, s) => n + s.dials, 0);
  const weighted = (f: (s: Segment) => number) => (sampledDials > 0 ? sampled.reduce((n, s) => n + f(s) * s.dials, 0) / sampledDials : 0);
  const callEventsMean = weighted((s) => s.callSample!.eventsMean);
  const actionsPerCallByKind = { ...state.campaignRuns.actions };
  for (const k of keys(actionsPerCallByKind)) actionsPerCallByKind[k] = round3(weighted((s) => s.callSample!.actionsMean[k]) + state.campaignRuns.actions[k] / dials);
  return {
    segments: state.segments.length,
    activeS: round3(activeS),
    pace: { configuredCps: cps, achievedCps, measuredIntervals, measuredS: round3(measuredS), relativeErrorPct: achievedCps === null ? null : round3(((achievedCps - cps) / cps) * 100) },
    cpu: { cpuS: { worker: round3(cpuS.worker), temporal: round3(cpuS.temporal), postgres: round3(cpuS.postgres) }, per1000Calls: { worker: per1000(cpuS.worker), temporal: per1000(cpuS.temporal), postgres: per1000(cpuS.postgres), total: per1000(cpuS.worker + cpuS.temporal + cpuS.postgres) } },
    history: {
      campaignRuns: state.campaignRuns.runIds.length,
      campaignEvents: state.campaignRuns.events,
      callEventsMean: round3(callEventsMean),
      eventsPerCall: round3(callEventsMean + state.campaignRuns.events / dials),
      sampledCalls: sampled.reduce((n, s) => n + s.callSample!.n, 0),
      actionsPerCallByKind,
      actionsPerCall: round3(sumActions(actionsPerCallByKind)),
    },
  };
}

function judge(state: LongRunState, overall: LongRunOverall, f: ReturnType<typeof longRunFigures>): Target[] {
  const err = f.pace.relativeErrorPct;
  const p99 = overall.schedulingLagMs.p99;
  return [
    { name: 'achieved vs configured pace', target: 'within 2 %', measured: err === null ? 'n/a' : `${err} % (${f.pace.achievedCps} of ${f.pace.configuredCps} calls/s)`, met: err === null ? null : Math.abs(err) <= 2 },
    { name: 'scheduling lag p99', target: '< 250 ms', measured: p99 === null ? 'n/a' : `${p99} ms`, met: p99 === null ? null : p99 < 250 },
    {
      name: 'audit problems (every contact once, attempts as the policy says, no attempt dialled twice)',
      target: '0',
      measured: state.audit ? String(state.audit.problems) : 'not yet (the campaign is still running)',
      met: state.audit ? state.audit.problems === 0 : null,
    },
  ];
}

const fmt = (v: number | null | undefined, unit = '') => (v === null || v === undefined ? 'n/a' : `${v}${unit}`);
const minutes = (s: Segment) => (s.endedAt ? round3((Date.parse(s.endedAt) - Date.parse(s.startedAt)) / 60_000) : null);

export function renderLongRunMarkdown(state: LongRunState, overall: LongRunOverall, jsonName: string, rerun: string, machine: ReturnType<typeof machineInfo>['machine']): string {
  const f = longRunFigures(state, overall);
  const targets = judge(state, overall, f);
  const done = state.segments.at(-1)?.contactsDoneAtEnd ?? 0;
  const a = f.history.actionsPerCallByKind;
  const status = state.status === 'completed' ? `**completed** and audited` : `**in progress**: ${done.toLocaleString('en')} of ${state.contacts.toLocaleString('en')} contacts done after ${state.segments.length} segment(s); the figures cover the segments so far`;
  const segmentRows = state.segments.map(
    (s) =>
      `| ${s.index} | \`${s.commit.slice(0, 7)}\` | ${s.startedAt.replace('T', ' ').slice(0, 19)} | ${fmt(minutes(s))} | ${s.endedBy ?? 'running'} | ${fmt(s.dials)} | ${fmt(s.pace?.callsPerSecond)} | ${fmt(s.schedulingLagMs?.p50, ' ms')} | ${fmt(s.schedulingLagMs?.p99, ' ms')} | ${fmt(s.schedulingLagMs?.max, ' ms')} | ${fmt(s.cpuS.worker)} | ${fmt(s.cpuS.temporal)} | ${fmt(s.cpuS.postgres)} | ${fmt(s.contactsDoneAtEnd)} |`,
  );
  // `state.commit` is the code the next segment runs; a run moved with `--code` started on its first segment's.
  const startCommit = state.segments[0]?.commit ?? state.commit;
  const moves = state.segments.flatMap((s, i) => (i > 0 && s.commit !== state.segments[i - 1]!.commit ? [`from segment ${s.index} on \`${s.commit.slice(0, 12)}\``] : []));
  return `# A campaign of ${state.contacts.toLocaleString('en')} contacts, run in segments (load mode)

Campaign \`${state.campaignId}\` started ${state.startedAt} at \`${startCommit.slice(0, 12)}\`${moves.length > 0 ? ` (${moves.join(', ')})` : ''}; ${status}. Machine: ${machine.nproc} × ${machine.cpuModel}, ${machine.memTotalMiB} MiB, Node ${machine.node}. Figures: [\`${jsonName}\`](${jsonName}).

## What is measured

- **The campaign** is the \`campaign\` benchmark's (\`campaign.md\`): \`workers/orchestration.ts\` in load mode (telephony simulator, ringing and talk × ${state.timeScale}), \`loadCampaignConfig\` at ${state.campaignConfig.callsPerSecond} calls/s and at most ${state.campaignConfig.maxConcurrentCalls} at once, redials per outcome (busy ≤ 3 attempts, the others ≤ 2), the trunk well above the pace.
- **In segments**: ${state.contacts.toLocaleString('en')} contacts are about ${Math.round((state.contacts * 1.44) / 1000)}k dials, ${fmt(round3((state.contacts * 1.44) / state.campaignConfig.callsPerSecond / 3600))} h at this pace, longer than one sitting on this machine. Each segment runs the worker, then pauses the campaign (\`pause\` update; calls in flight finish) and stops it; the next resumes it, often after the whole stack has been stopped and started again. The worker runs the commit the campaign started on (a git worktree of it), so a resumed campaign replays its history on the code that wrote it; a paused campaign moves to a later commit (\`continue --code\`, for a fix behind \`patched()\`) only once its open history has replayed on it. The code column says which commit each segment ran.
- **Pace**: per segment, dials (\`calls.created_at\`) per second leaving out 2 % at each end (the ramp after a resume, the drain before a pause); overall, the segments' measured intervals ÷ their spans.
- **Scheduling lag**: \`calls.scheduling_lag_ms\` over every call of the campaign.
- **CPU**: utime + stime of the worker's tree, the Temporal dev server and PostgreSQL over each segment, from \`/proc\` (the background of the rest of the stack included; no idle baseline is taken out). Per 1,000 calls: the segments' sum × 1,000 ÷ the segments' dials.
- **History events and actions per call**: every run of the campaign workflow (continue-as-new) fetched as it closes, plus ${callSamplePerSegment} call workflow histories sampled from each segment, weighted by the segment's dials (the dev server keeps closed histories 24 h, so they are counted as the run goes). Actions as \`campaign.md\` defines them.

## Segments

| # | code | started (UTC) | minutes | ended by | dials | cps (trimmed) | lag p50 | lag p99 | lag max | worker CPU s | temporal CPU s | postgres CPU s | contacts done |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
${segmentRows.join('\n')}
${state.segments.filter((s) => s.note).map((s) => `\nSegment ${s.index}: ${s.note}`).join('\n')}

## Over the segments

| dials | active time | achieved cps | error | lag p50 | lag p95 | lag p99 | lag max | CPU /1k calls: worker | temporal | postgres | total |
|---|---|---|---|---|---|---|---|---|---|---|---|
| ${overall.dials} | ${fmt(round3(f.activeS / 3600))} h | ${fmt(f.pace.achievedCps)} | ${fmt(f.pace.relativeErrorPct, ' %')} | ${fmt(overall.schedulingLagMs.p50, ' ms')} | ${fmt(overall.schedulingLagMs.p95, ' ms')} | ${fmt(overall.schedulingLagMs.p99, ' ms')} | ${fmt(overall.schedulingLagMs.max, ' ms')} | ${f.cpu.per1000Calls.worker} s | ${f.cpu.per1000Calls.temporal} s | ${f.cpu.per1000Calls.postgres} s | **${f.cpu.per1000Calls.total} s** |

Scheduling lag by ten minutes (the calls created in each; the machine runs other work beside the campaign between and during segments, which shows here):

| from (UTC) | calls | lag p50 | lag p99 | lag max |
|---|---|---|---|---|
${overall.lagByWindow.map((w) => `| ${w.from.replace('T', ' ').slice(0, 16)} | ${w.lag.n} | ${fmt(w.lag.p50, ' ms')} | ${fmt(w.lag.p99, ' ms')} | ${fmt(w.lag.max, ' ms')} |`).join('\n')}

History: ${f.history.campaignRuns} closed campaign runs (${f.history.campaignEvents} events), ${f.history.sampledCalls} call histories sampled; **${f.history.eventsPerCall} history events per call** (${f.history.callEventsMean} in the call workflow).

| actions per call | workflow started | activity scheduled | activity retries | local activity | timer started | signal sent | signal received | upsert search attributes | other marker | update | total |
|---|---|---|---|---|---|---|---|---|---|---|---|
| ours | ${a.workflowStarted} | ${a.activityScheduled} | ${a.activityRetries} | ${a.localActivity} | ${a.timerStarted} | ${a.signalSent} | ${a.signalReceived} | ${a.upsertSearchAttributes} | ${a.markerRecorded} | ${a.updateAccepted} | **${f.history.actionsPerCall}** |

${state.audit ? `Audit: ${state.audit.contacts} contacts, ${state.audit.calls} calls, ${state.audit.reattachedDials} dials re-attached, ${state.audit.problems} problems${state.audit.firstProblems.length ? `:\n\n${state.audit.firstProblems.map((p) => `- ${p}`).join('\n')}` : '.'}` : 'Audit: runs when the campaign completes.'}

## Targets (compared, not asserted)

| target | wanted | measured | |
|---|---|---|---|
${targets.map((t) => `| ${t.name} | ${t.target} | ${t.measured} | ${t.met === null ? 'not yet' : t.met ? 'met' : 'not met'} |`).join('\n')}

## Rerun

\`\`\`sh
npm run stack:up
npm run bench -- campaign-long start --contacts ${state.contacts} --cps ${state.campaignConfig.callsPerSecond} --for-min 60 --label ${state.label}
${rerun} --for-min 60   # as often as it takes; Ctrl-C pauses cleanly
npm run bench -- campaign-long status --label ${state.label}   # rewrites this file from the state
\`\`\`

The run's state is \`.stack/bench/${state.label}.json\` on the machine that ran it. The bare-workflow comparison is the \`campaign\` benchmark's (\`campaign.md\`); it does not depend on the campaign's size.
`;
}

/** Writes bench/results/<label>-<day the campaign started>.json and <label>.md. */
export function writeLongRunResults(state: LongRunState, overall: LongRunOverall, rerun: string): { json: string; markdown: string } {
  const info = machineInfo();
  const jsonName = `${state.label}-${state.startedAt.slice(0, 10)}.json`;
  const json = fileURLToPath(new URL(`../results/${jsonName}`, import.meta.url));
  const markdown = fileURLToPath(new URL(`../results/${state.label}.md`, import.meta.url));
  const figures = longRunFigures(state, overall);
  const results = {
    benchmark: 'campaign-long',
    writtenAt: new Date().toISOString(),
    ...info,
    units: { '*Ms': 'milliseconds', '*S / cpuS': 'seconds (CPU seconds under cpuS)', '*Cps': 'calls started per second', per1000Calls: 'CPU seconds per 1,000 calls (dials)', relativeErrorPct: 'percent' },
    state,
    overall,
    figures,
    targets: judge(state, overall, figures),
  };
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(markdown, renderLongRunMarkdown(state, overall, jsonName, rerun, info.machine));
  return { json, markdown };
}
