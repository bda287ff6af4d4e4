import { setTimeout as delay } from 'node:timers/promises';

/**
 * Polls a health check until it passes. Readiness is decided by the server answering,
 * never by a fixed sleep; the interval only paces the polling.
 * @returns nothing; throws with the last failure when `timeoutMs` elapses.
 */
export async function waitUntilHealthy(
  check: () => Promise<void>,
  opts: { timeoutMs: number; intervalMs?: number; isAlive?: () => boolean },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    if (opts.isAlive && !opts.isAlive()) {
      throw new Error('process exited before it became healthy', { cause: lastError });
    }
    try {
      await check();
      return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`not healthy after ${opts.timeoutMs} ms`, { cause: lastError });
    }
    await delay(opts.intervalMs ?? 200);
  }
}
