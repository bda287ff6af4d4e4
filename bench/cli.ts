/**
 * Benchmarks: `npm run bench -- <name> [options]` (package.json: `"bench": "tsx bench/cli.ts"`).
 *
 *   media [--calls 1,10,25] [--turns 3] [--stagger-ms 200] [--label media]
 *         [--stt-finalize-ms 100] [--llm-ttft-ms 300] [--tts-ttfb-ms 150] [--llm-tokens-per-s 60]
 *
 * Needs the local stack (`npm run stack:up`) with the provider simulators.
 */
import { parseArgs } from 'node:util';
import type { MediaBenchOptions } from './media/run.js';
import { quietRtcLogs } from './media/workers.js';

// Before rtc-node loads: the simulated callers would flood the console with its debug logs.
quietRtcLogs();
const { defaultMediaBenchOptions, runMediaBench, writeResults } = await import('./media/run.js');

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
  const results = await runMediaBench(opts, log);
  const rerun = `npm run bench -- media ${args.join(' ')}`.trim();
  const written = writeResults(results, opts.label, rerun);
  log(`wrote ${written.json} and ${written.markdown}`);
}

const benchmarks: Record<string, (args: string[]) => Promise<void>> = { media };

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
