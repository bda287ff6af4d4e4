/**
 * Kickcall processes run as real child processes, so a test can kill one the way a
 * machine dies (SIGKILL to its whole process group, forked job processes included).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { nodeCommand } from '../../deploy/build.js';
import { repoRoot } from '../../deploy/config.js';
import { withTimeout } from './async.js';

export interface RunningProcess {
  child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  /** SIGKILL to the process group: no drain, no goodbye. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Extra processes next to the stack's own serve no metrics unless `env` gives them a port:
 * the stack's processes hold the default ones.
 */
const noMetricsServers = Object.fromEntries(
  ['API_METRICS_PORT', 'ORCHESTRATION_METRICS_PORT', 'EVENT_BRIDGE_METRICS_PORT', 'MEDIA_WORKER_METRICS_PORT', 'SIP_GATEWAY_METRICS_PORT', 'PROVIDER_SIM_METRICS_PORT'].map((k) => [k, '0']),
);

/**
 * Starts `script` and resolves once its output matches `ready`: with tsx, or, given
 * `compiled` (the modules to compile, as the stack's component lists them), compiled to
 * JavaScript and on plain Node, as the stack runs it.
 */
export async function startProcess(
  script: string,
  env: Record<string, string>,
  ready: RegExp,
  timeoutMs = 60_000,
  compiled?: readonly string[],
): Promise<RunningProcess> {
  const { command, args } = await nodeCommand(script, compiled);
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: { ...process.env, ...noMetricsServers, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const seen = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-50_000);
      if (ready.test(output)) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) before it was ready:\n${output.slice(-2000)}`)));
  });
  seen.catch(() => undefined);
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const running: RunningProcess = {
    child,
    output: () => output,
    async kill() {
      signalGroup('SIGKILL');
      await exited;
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  try {
    await withTimeout(seen, timeoutMs, `${script} not ready within ${timeoutMs} ms:\n${output.slice(-2000)}`);
  } catch (err) {
    await running.kill();
    throw err;
  }
  return running;
}
