/**
 * Ending rtc-node's native runtime in a process that used `@livekit/rtc-node` directly
 * (tests, the demo, the media benchmarks; the agents job processes do the same inside
 * `@livekit/agents`).
 *
 * `dispose()` stops the runtime, which otherwise keeps the event loop alive. After it,
 * the process must not exit the ordinary way: an ordinary exit frees Node's environment,
 * which runs the finalizers of rtc-node's remaining native objects (its event callback
 * first), and those free memory the disposed runtime already released. glibc then aborts
 * with "corrupted double-linked list" (SIGABRT) after every line of output was written —
 * a core dump shows `FreeEnvironment` → `ThreadSafeFunction` close → rtc-node's finalizer
 * → `free`. It happened in a few exits in a hundred on a loaded machine.
 *
 * `process.exit` skips freeing the environment, so once the process is exiting anyway
 * (every test reported, every result written) the 'exit' listener below ends it that way
 * with the same exit code. `@livekit/agents` ends its job processes with `process.exit(0)`
 * straight after `dispose()` for the same reason.
 */
import { dispose } from '@livekit/rtc-node';

let disposed = false;

export async function disposeRtcRuntime(): Promise<void> {
  if (disposed) return;
  disposed = true;
  await dispose();
  // Added last, so every earlier 'exit' listener (test reporters, loggers) has run.
  process.on('exit', (code) => process.exit(code));
}
