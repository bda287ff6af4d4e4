/**
 * Starts and stops the benchmark's worker processes (`worker-process.ts`), one per
 * variant, each registered with LiveKit under its own agent name.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { openSync } from 'node:fs';
import { compileForNode, mediaWorkerEntries } from '../../deploy/build.js';
import type { JobForm, RunnerMessage, Variant, WorkerMessage } from './worker-protocol.js';

/**
 * The worker and every job entry it can fork, compiled as the stack runs its media worker
 * (deploy/build.ts): job processes start on plain Node, without the TypeScript loader.
 */
const workerSources = ['bench/media/worker-process.ts', ...mediaWorkerEntries, 'bench/bare-agent.ts', 'bench/media/profiled-agent.ts'];

let compiled: Promise<string> | undefined;
/**
 * Compiles the workers once per benchmark process: every worker of a run, both variants
 * at every level, runs the code as it was when the run began, whatever is edited while
 * it goes on. Returns the worker's compiled path.
 */
export function compileBenchWorkers(): Promise<string> {
  compiled ??= compileForNode(workerSources).then(([workerPath]) => workerPath!);
  return compiled;
}

/** NODE_ENV as the benchmark found it, for the workers: they must run as they would unbenchmarked. */
let originalNodeEnv: string | undefined = process.env.NODE_ENV;

/**
 * rtc-node logs at debug level unless NODE_ENV is `production` (every data stream the
 * caller ignores is a line); the benchmark process sets it for itself only.
 */
export function quietRtcLogs(): void {
  originalNodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV ??= 'production';
}

function workerEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (originalNodeEnv === undefined) delete env.NODE_ENV;
  else env.NODE_ENV = originalNodeEnv;
  return env;
}

export interface BenchWorker {
  variant: Variant;
  agentName: string;
  pid: number;
  logPath: string;
  /** Active jobs as the worker counts them. */
  activeJobs(): Promise<number>;
  /** Drains and closes; kills the process if it has not exited within `timeoutMs`. */
  stop(timeoutMs: number): Promise<void>;
}

function waitForMessage<T extends WorkerMessage['type']>(child: ChildProcess, type: T, timeoutMs: number): Promise<Extract<WorkerMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`worker sent no ${type} within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (m: WorkerMessage) => {
      if (m.type === type) finish(undefined, m as Extract<WorkerMessage, { type: T }>);
      else if (m.type === 'failed') finish(new Error(`worker failed: ${m.message}`));
    };
    const onExit = (code: number | null) => finish(new Error(`worker exited (code ${code}) before ${type}`));
    function finish(err: Error | undefined, m?: Extract<WorkerMessage, { type: T }>) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(m!);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

export async function startWorker(opts: {
  variant: Variant;
  agentName: string;
  httpPort: number;
  maxConcurrentCalls: number;
  /** Job processes the worker keeps started and warm. */
  idleProcesses: number;
  logPath: string;
  registerTimeoutMs: number;
  /** Profile each job's JavaScript into this folder (`profiled-agent.ts`). */
  profileDir?: string;
  /** How job processes load (default: bundled, as deployed). */
  jobForm?: JobForm;
  /** Where the bare session writes each call's measured turns (`bench/bare-agent.ts`). */
  turnsDir?: string;
}): Promise<BenchWorker> {
  const log = openSync(opts.logPath, 'a');
  const workerPath = await compileBenchWorkers();
  // Not the parent's execArgv: it carries tsx's loader, which the job forks would inherit.
  const child = fork(workerPath, [opts.variant, opts.agentName, String(opts.httpPort), String(opts.maxConcurrentCalls), String(opts.idleProcesses)], {
    execArgv: ['--enable-source-maps'],
    env: {
      ...workerEnv(),
      ...(opts.profileDir ? { KICKCALL_BENCH_PROFILE_DIR: opts.profileDir, KICKCALL_BENCH_PROFILE_VARIANT: opts.variant } : {}),
      ...(opts.jobForm ? { KICKCALL_BENCH_JOB_FORM: opts.jobForm } : {}),
      ...(opts.turnsDir ? { KICKCALL_BENCH_TURNS_DIR: opts.turnsDir } : {}),
    },
    stdio: ['ignore', log, log, 'ipc'],
  });
  const request = (m: RunnerMessage) => child.send(m);
  try {
    await waitForMessage(child, 'registered', opts.registerTimeoutMs);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    variant: opts.variant,
    agentName: opts.agentName,
    pid: child.pid!,
    logPath: opts.logPath,
    async activeJobs() {
      const reply = waitForMessage(child, 'status', 5_000);
      request({ type: 'status' });
      return (await reply).activeJobs;
    },
    async stop(timeoutMs) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      if (child.connected) request({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
