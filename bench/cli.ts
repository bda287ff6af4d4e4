/**
 * Benchmarks: `npm run bench -- <name> [options]` (package.json: `"bench": "tsx bench/cli.ts"`).
 *
 *   media [--calls 1,10,25] [--turns 3] [--stagger-ms 200] [--label media]
 *         [--stt-finalize-ms 100] [--llm-ttft-ms 300] [--tts-ttfb-ms 150] [--llm-tokens-per-s 60]
 *   media-profile [--turns 6]      where one call's CPU goes, per thread and per JS package
 *   media-job-start [--processes 4] [--rounds 3]   CPU to start one job process, bundled vs not
 *   campaign [--contacts 2000] [--cps 10] [--max-concurrent 100] [--label campaign]
 *            [--hold-contacts 0] [--hold-window-s 60] [--max-run-s 900]
 *   campaign-long <start|continue|status> [--contacts 100000] [--cps 5] [--max-concurrent 100]
 *            [--for-min 60] [--label campaign-100k] [--note text] [--code <git ref>]   a campaign too long for one sitting, in segments
 *   bridge [--calls 200] [--rounds 3] [--concurrency 1,16]   call events per second into workflows
 *
 * Needs the local stack (`npm run stack:up`) with the provider simulators.
 */
import { parseArgs } from 'node:util';
import type { CampaignBenchOptions } from './campaign/types.js';
import type { MediaBenchOptions } from './media/run.js';
import { quietRtcLogs } from './media/workers.js';

// Before rtc-node loads: the simulated callers would flood the console with its debug logs.
quietRtcLogs();
const { defaultMediaBenchOptions, runMediaBench, writeResults } = await import('./media/run.js');
const { defaultCampaignBenchOptions, runCampaignBench } = await import('./campaign/run.js');
const { writeCampaignResults } = await import('./campaign/report.js');

class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly retryable = false;
}

function positiveInt(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${raw}`);
  return n;
}

function parseMediaArgs(args: string[]): MediaBenchOptions {
  const { values } = parseArgs({
    args,
    options: {
      calls: { type: 'string' },
      turns: { type: 'string' },
      'stagger-ms': { type: 'string' },
      label: { type: 'string' },
      'stt-finalize-ms': { type: 'string' },
      'llm-ttft-ms': { type: 'string' },
      'tts-ttfb-ms': { type: 'string' },
      'llm-tokens-per-s': { type: 'string' },
    },
    strict: true,
  });
  const d = defaultMediaBenchOptions;
  const calls = values.calls === undefined ? d.calls : values.calls.split(',').map((c) => positiveInt('calls', c.trim(), 0));
  if (calls.length === 0 || calls.length > 10 || calls.some((c) => c > 200)) throw new UsageError('--calls takes 1 to 10 levels of at most 200 calls');
  const label = values.label ?? d.label;
  if (!/^[a-z0-9-]+$/.test(label)) throw new UsageError('--label is lower-case letters, digits and "-"');
  return {
    calls,
    turns: Math.min(positiveInt('turns', values.turns, d.turns), 50),
    staggerMs: positiveInt('stagger-ms', values['stagger-ms'], d.staggerMs, 0),
    label,
    latencies: {
      deepgram: {
        sttFinalizeDelayMs: positiveInt('stt-finalize-ms', values['stt-finalize-ms'], d.latencies.deepgram.sttFinalizeDelayMs, 0),
        ttsFirstByteMs: positiveInt('tts-ttfb-ms', values['tts-ttfb-ms'], d.latencies.deepgram.ttsFirstByteMs, 0),
      },
      openai: {
        ttftMs: positiveInt('llm-ttft-ms', values['llm-ttft-ms'], d.latencies.openai.ttftMs, 0),
        tokensPerSecond: positiveInt('llm-tokens-per-s', values['llm-tokens-per-s'], d.latencies.openai.tokensPerSecond),
      },
    },
  };
}

async function media(args: string[]): Promise<void> {
  const opts = parseMediaArgs(args);
  const log = (line: string) => console.log(`[bench media] ${line}`);
  const rerun = `npm run bench -- media ${args.join(' ')}`.trim();
  const write = (results: Parameters<typeof writeResults>[0]) => {
    const written = writeResults(results, opts.label, rerun);
    log(`wrote ${written.json} and ${written.markdown} (levels ${results.levels.map((l) => l.calls).join(', ')})`);
  };
  write(await runMediaBench(opts, log, write));
}

function parseCampaignArgs(args: string[]): CampaignBenchOptions {
  const { values } = parseArgs({
    args,
    options: {
      contacts: { type: 'string' },
      cps: { type: 'string' },
      'max-concurrent': { type: 'string' },
      label: { type: 'string' },
      'hold-contacts': { type: 'string' },
      'hold-window-s': { type: 'string' },
      'max-run-s': { type: 'string' },
      'bare-calls': { type: 'string' },
    },
    strict: true,
  });
  const d = defaultCampaignBenchOptions;
  const contacts = positiveInt('contacts', values.contacts, d.contacts);
  if (contacts > 200_000) throw new UsageError('--contacts is at most 200000');
  const callsPerSecond = values.cps === undefined ? d.callsPerSecond : Number(values.cps);
  if (!(callsPerSecond > 0 && callsPerSecond <= 1000)) throw new UsageError(`--cps must be above 0 and at most 1000, got ${values.cps}`);
  const holdContacts = positiveInt('hold-contacts', values['hold-contacts'], d.holdContacts, 0);
  if (holdContacts > 1_000_000) throw new UsageError('--hold-contacts is at most 1000000');
  const label = values.label ?? d.label;
  if (!/^[a-z0-9-]+$/.test(label)) throw new UsageError('--label is lower-case letters, digits and "-"');
  return {
    ...d,
    contacts,
    callsPerSecond,
    maxConcurrentCalls: positiveInt('max-concurrent', values['max-concurrent'], d.maxConcurrentCalls),
    label,
    holdContacts,
    holdWindowS: Math.min(positiveInt('hold-window-s', values['hold-window-s'], d.holdWindowS), 1800),
    maxRunS: Math.min(positiveInt('max-run-s', values['max-run-s'], d.maxRunS, 30), 4 * 3600),
    bareCalls: positiveInt('bare-calls', values['bare-calls'], d.bareCalls, 0),
  };
}

async function campaign(args: string[]): Promise<void> {
  const opts = parseCampaignArgs(args);
  const log = (line: string) => console.log(`[bench campaign] ${line}`);
  const results = await runCampaignBench(opts, log);
  const rerun = `npm run bench -- campaign ${args.join(' ')}`.trim();
  const written = writeCampaignResults(results, opts.label, rerun);
  log(`wrote ${written.json} and ${written.markdown}`);
  for (const t of results.targets) log(`target ${t.name}: ${t.measured} (wanted ${t.target}) → ${t.met === null ? 'not measured' : t.met ? 'met' : 'NOT met'}`);
}

async function campaignLong(args: string[]): Promise<void> {
  const [command, ...rest] = args;
  if (command !== 'start' && command !== 'continue' && command !== 'status') throw new UsageError('campaign-long takes start, continue or status');
  const { values } = parseArgs({
    args: rest,
    options: { contacts: { type: 'string' }, cps: { type: 'string' }, 'max-concurrent': { type: 'string' }, 'for-min': { type: 'string' }, label: { type: 'string' }, note: { type: 'string' }, code: { type: 'string' } },
    strict: true,
  });
  if (values.code !== undefined && command !== 'continue') throw new UsageError('--code goes with continue: it moves a paused run onto newer code');
  const label = values.label ?? 'campaign-100k';
  if (!/^[a-z0-9-]+$/.test(label)) throw new UsageError('--label is lower-case letters, digits and "-"');
  const callsPerSecond = values.cps === undefined ? 5 : Number(values.cps);
  if (!(callsPerSecond > 0 && callsPerSecond <= 1000)) throw new UsageError(`--cps must be above 0 and at most 1000, got ${values.cps}`);
  const contacts = positiveInt('contacts', values.contacts, 100_000);
  if (contacts > 1_000_000) throw new UsageError('--contacts is at most 1000000');
  const { runLongCampaign } = await import('./campaign/long-run.js');
  await runLongCampaign(
    command,
    {
      label,
      contacts,
      callsPerSecond,
      maxConcurrentCalls: positiveInt('max-concurrent', values['max-concurrent'], 100),
      forMin: Math.min(positiveInt('for-min', values['for-min'], 60), 12 * 60),
      ...(values.note !== undefined ? { note: values.note } : {}),
      ...(values.code !== undefined ? { code: values.code } : {}),
    },
    (line) => console.log(`[bench campaign-long] ${line}`),
  );
}

async function mediaProfile(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { turns: { type: 'string' } }, strict: true });
  const turns = Math.min(positiveInt('turns', values.turns, 6), 50);
  const log = (line: string) => console.log(`[bench media-profile] ${line}`);
  const { runMediaProfile, writeProfileResults } = await import('./media/profile.js');
  const results = await runMediaProfile(turns, log);
  const written = writeProfileResults(results, `npm run bench -- media-profile ${args.join(' ')}`.trim());
  log(`wrote ${written.json} and ${written.markdown}`);
}

async function mediaJobStart(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { processes: { type: 'string' }, rounds: { type: 'string' } }, strict: true });
  const opts = { processes: Math.min(positiveInt('processes', values.processes, 4), 16), rounds: Math.min(positiveInt('rounds', values.rounds, 3), 9) };
  const log = (line: string) => console.log(`[bench media-job-start] ${line}`);
  const { runJobStartBench, writeJobStartResults } = await import('./media/job-start.js');
  const results = await runJobStartBench(opts, log);
  const written = writeJobStartResults(results, `npm run bench -- media-job-start ${args.join(' ')}`.trim());
  log(`bundled ${results.summary.bundled.medianCpuS} CPU-s per process start, unbundled ${results.summary.unbundled.medianCpuS} (ratio ${results.ratioBundledToUnbundled}); wrote ${written.json} and ${written.markdown}`);
}

async function bridge(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { calls: { type: 'string' }, rounds: { type: 'string' }, concurrency: { type: 'string' } }, strict: true });
  const { defaultBridgeBenchOptions: d, runBridgeBench, writeBridgeResults } = await import('./bridge/run.js');
  const concurrency = values.concurrency === undefined ? d.concurrency : values.concurrency.split(',').map((c) => positiveInt('concurrency', c.trim(), 1));
  if (concurrency.length > 6 || concurrency.some((c) => c > 64)) throw new UsageError('--concurrency takes up to 6 levels of at most 64');
  const opts = { calls: Math.min(positiveInt('calls', values.calls, d.calls), 2_000), rounds: Math.min(positiveInt('rounds', values.rounds, d.rounds), 9), concurrency };
  const log = (line: string) => console.log(`[bench bridge] ${line}`);
  const results = await runBridgeBench(opts, log);
  const written = writeBridgeResults(results, `npm run bench -- bridge ${args.join(' ')}`.trim());
  log(`wrote ${written.json} and ${written.markdown}`);
}

const benchmarks: Record<string, (args: string[]) => Promise<void>> = { media, 'media-profile': mediaProfile, 'media-job-start': mediaJobStart, campaign, 'campaign-long': campaignLong, bridge };

const [name, ...rest] = process.argv.slice(2);
const run = name === undefined ? undefined : benchmarks[name];
if (!run) {
  console.error(`usage: npm run bench -- <${Object.keys(benchmarks).join('|')}> [options]`);
  process.exitCode = 2;
} else {
  try {
    await run(rest);
  } catch (err) {
    console.error(err instanceof UsageError ? err.message : err);
    process.exitCode = 1;
  }
}
