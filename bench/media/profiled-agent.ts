/**
 * A job entry for `npm run bench -- media-profile`: the media agent (ours or the bare
 * session, by KICKCALL_BENCH_PROFILE_VARIANT) with V8's sampling profiler running in the
 * job process from the start of the job to its shutdown. The profile is written to
 * KICKCALL_BENCH_PROFILE_DIR as `<variant>-<job>.cpuprofile` (open it in Chrome DevTools).
 *
 * Inspector, not `--cpu-prof`: NODE_OPTIONS refuses that flag, and a job process started
 * under it loads Silero too slowly to warm within the worker's initialise timeout.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { defineAgent, type JobContext, type JobProcess } from '@livekit/agents';
import bare from '../bare-agent.js';
import ours from '../../media/agent/entry.js';

const variant = process.env.KICKCALL_BENCH_PROFILE_VARIANT === 'bare' ? 'bare' : 'ours';
const inner = variant === 'bare' ? bare : ours;
/** 1 ms: fine enough for 10 ms audio frames, coarse enough not to distort them. */
const samplingIntervalUs = 1000;

export default defineAgent({
  prewarm: (proc: JobProcess) => inner.prewarm?.(proc),
  entry: async (ctx: JobContext) => {
    const dir = process.env.KICKCALL_BENCH_PROFILE_DIR;
    if (!dir) throw new Error('KICKCALL_BENCH_PROFILE_DIR is not set');
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
    await session.post('Profiler.start');
    ctx.addShutdownCallback(async () => {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(join(dir, `${variant}-${ctx.job.id}.cpuprofile`), JSON.stringify(profile));
      session.disconnect();
    });
    await inner.entry(ctx);
  },
});
