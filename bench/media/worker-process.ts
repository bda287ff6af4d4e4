/**
 * A media worker for the benchmark, in a process of its own so its process tree (this
 * process and the job processes it forks) can be measured apart from the simulated
 * callers. Started by `run.ts` with `fork`; talks to it over the IPC channel.
 *
 * argv: <variant: ours|bare> <agentName> <httpPort> <maxConcurrentCalls> <idleProcesses>
 *
 * Both variants are `createMediaServer` from workers/media.ts, so their options are the
 * same by construction; `bare` only swaps the job entry for `bench/bare-agent.ts`. Runs
 * compiled (deploy/build.ts), as the stack runs its media worker.
 */
import { loadConfig, type Config } from '../../deploy/config.js';
import { forkedJob, sameFormModule } from '../../deploy/module-paths.js';
import { createMediaServer, stopMediaServer } from '../../workers/media.js';
import { variants, workerShape, type RunnerMessage, type Variant, type WorkerMessage } from './worker-protocol.js';

const bareJob = forkedJob(import.meta.url, '../bare-agent');
/**
 * With KICKCALL_BENCH_PROFILE_DIR set, either variant runs under the profiler
 * (`profiled-agent.ts`), unbundled: a profile of the bundle would name chunks, not packages.
 */
const profiledJob = { agentPath: sameFormModule(import.meta.url, './profiled-agent') };
/** The entry compiled file by file with the framework's own job main: KICKCALL_BENCH_JOB_FORM=unbundled. */
const unbundledJob = (variant: Variant) => ({ agentPath: sameFormModule(import.meta.url, variant === 'bare' ? '../bare-agent' : '../../media/agent/entry') });

function send(message: WorkerMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const [variant, agentName, port, maxCalls, idle] = process.argv.slice(2);
  if (!variants.includes(variant as Variant) || !agentName || !port || !maxCalls || !idle) {
    throw new Error('usage: worker-process.ts <ours|bare> <agentName> <httpPort> <maxConcurrentCalls> <idleProcesses>');
  }
  const base = loadConfig();
  const config: Config = { ...base, media: { ...base.media, agentName, maxConcurrentCalls: Number(maxCalls) } };
  const server = createMediaServer(config, {
    port: Number(port),
    ...workerShape,
    idleProcesses: Number(idle),
    ...(process.env.KICKCALL_BENCH_PROFILE_DIR
      ? { job: profiledJob }
      : process.env.KICKCALL_BENCH_JOB_FORM === 'unbundled'
        ? { job: unbundledJob(variant as Variant) }
        : variant === 'bare'
          ? { job: bareJob }
          : {}),
  });
  server.event.once('worker_registered', () => send({ type: 'registered' }));

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await stopMediaServer(server, 10_000);
    send({ type: 'stopped' });
    process.disconnect?.();
  };
  process.on('message', (m: RunnerMessage) => {
    if (m.type === 'status') send({ type: 'status', activeJobs: server.activeJobs.length });
    if (m.type === 'stop') void stop();
  });
  // The benchmark going away must not leave a worker registered.
  process.once('disconnect', () => void stop().finally(() => process.exit(0)));
  await server.run();
}

main().catch((err: unknown) => {
  send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  process.exitCode = 1;
});
