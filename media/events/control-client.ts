/**
 * The caller's side of a call's control channel (`media/agent/control.ts` serves it):
 * what a failed request says about the agent behind it.
 */
import { RequestError, type NatsConnection } from '@nats-io/transport-node';
import { callControlSubject } from './subjects.js';

/**
 * NATS answers "no responders" at once when nothing subscribes to the subject: the job
 * that served the call's control channel is gone (its connection closed with its process).
 * A timeout says less: the agent may only be slow.
 */
export function isNoResponders(err: unknown): boolean {
  if (err instanceof RequestError && err.isNoResponders()) return true;
  return /no responders/i.test(String((err as Error | undefined)?.message)) || (err as { code?: string } | undefined)?.code === '503';
}

/** Pings the call's agent: `gone` only when no process serves the call's control subject. */
export async function pingAgent(nc: NatsConnection, callId: string, timeoutMs: number): Promise<'alive' | 'gone' | 'no_answer'> {
  try {
    await nc.request(callControlSubject(callId), JSON.stringify({ command: 'ping' }), { timeout: timeoutMs });
    return 'alive';
  } catch (err) {
    return isNoResponders(err) ? 'gone' : 'no_answer';
  }
}
