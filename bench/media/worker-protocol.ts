/** What the benchmark and its worker processes (`worker-process.ts`) say over IPC. */

export const variants = ['ours', 'bare'] as const;
/** `ours`: the media worker as deployed; `bare`: the same AgentSession without our layer. */
export type Variant = (typeof variants)[number];

/**
 * How job processes load: `bundled`, as deployed (deploy/build.ts); `unbundled`, the job
 * entry compiled file by file with the framework's own job main (`media-job-start`'s A/B).
 * Passed to the worker process as KICKCALL_BENCH_JOB_FORM.
 */
export type JobForm = 'bundled' | 'unbundled';

/** Messages from a worker process to the benchmark. */
export type WorkerMessage =
  | { type: 'registered' }
  | { type: 'status'; activeJobs: number }
  | { type: 'stopped' }
  | { type: 'failed'; message: string };

/** Messages from the benchmark to a worker process. */
export type RunnerMessage = { type: 'status' } | { type: 'stop' };

/**
 * Worker options shared by both variants: production mode, as deployed. Each level starts
 * its workers with as many warm job processes as it has calls (`idleProcesses`), as a
 * deployment sized for that concurrency would: LiveKit Agents starts job processes one at
 * a time, so calls beyond the warm pool would measure process start-up, not the pipeline.
 */
export const workerShape = { production: true } as const;
