/**
 * Heartbeats for long activities (a dial that rings, an LLM analysis): with a heartbeat
 * timeout set, a worker that dies mid-activity is noticed in seconds, not at the end of
 * the start-to-close timeout, and the activity is retried elsewhere.
 */
import { Context } from '@temporalio/activity';

/** Runs `work`, heartbeating every `everyMs` while it runs (no-op outside an activity). */
export async function heartbeating<T>(work: () => Promise<T>, everyMs = 2000): Promise<T> {
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    // Called directly (a test, a tool): nobody to heartbeat to.
  }
  const beat = ctx ? setInterval(() => ctx.heartbeat(), everyMs) : undefined;
  try {
    return await work();
  } finally {
    clearInterval(beat);
  }
}
