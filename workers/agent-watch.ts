/**
 * Finds a call's media job gone within seconds rather than the ~20 s LiveKit takes to drop
 * a participant whose machine died (ICE disconnected 10 s, failed 5 s, cleanup 5 s in
 * livekit-server 1.13). The event bridge watches each call whose `agent.joined` it
 * delivered and pings the call's control subject every `probeEveryMs`; NATS answers "no
 * responders" at once when no process serves it. After `missesToLose` such answers in a
 * row it reports the agent unreachable (once) and stops watching. A slow or timed-out
 * ping counts for nothing, and so do answers just after this process reconnected to NATS:
 * the job may not have re-subscribed yet.
 */
import type { NatsConnection, QueuedIterator, Status } from '@nats-io/transport-node';
import type { Logger } from '../deploy/logger.js';
import { pingAgent } from '../media/events/control-client.js';

export interface AgentWatchOptions {
  nc: NatsConnection;
  log: Logger;
  /** Told once per lost agent: the bridge signals the call's workflow. */
  onUnreachable(callId: string, participantIdentity: string): Promise<void>;
  probeEveryMs?: number;
  missesToLose?: number;
  /** After this process reconnects to NATS, pings wait this long. */
  reconnectGraceMs?: number;
}

export interface AgentWatch {
  /** Watches the agent that joined at event `seq` of the call. */
  watch(callId: string, participantIdentity: string, seq: number): void;
  /** Stops watching on the call's `agent.left` or `call.ended` at `seq` (a redelivered older one changes nothing). */
  forget(callId: string, seq: number): void;
  /** Calls being watched. */
  readonly size: number;
  stop(): void;
}

export function startAgentWatch(opts: AgentWatchOptions): AgentWatch {
  const probeEveryMs = opts.probeEveryMs ?? 2_000;
  const missesToLose = opts.missesToLose ?? 2;
  const reconnectGraceMs = opts.reconnectGraceMs ?? 5_000;
  const watched = new Map<string, { participantIdentity: string; seq: number; misses: number }>();
  let quietUntilMs = 0;
  let stopped = false;

  // Typed as an AsyncIterable, a QueuedIterator at run time: `stop()` ends this loop and
  // drops the listener, so a watch stopped on a connection that lives on leaves nothing.
  const statuses = opts.nc.status() as AsyncIterable<Status> & Partial<Pick<QueuedIterator<Status>, 'stop'>>;
  void (async () => {
    for await (const s of statuses) {
      if (s.type === 'reconnect' || s.type === 'disconnect') {
        quietUntilMs = Date.now() + reconnectGraceMs;
        for (const w of watched.values()) w.misses = 0;
      }
    }
  })();

  const probe = async (callId: string): Promise<void> => {
    const w = watched.get(callId);
    if (!w) return;
    const answer = await pingAgent(opts.nc, callId, Math.min(1_000, probeEveryMs));
    if (watched.get(callId) !== w) return;
    if (answer !== 'gone' || Date.now() < quietUntilMs) {
      if (answer === 'alive') w.misses = 0;
      return;
    }
    if (++w.misses < missesToLose) return;
    watched.delete(callId);
    opts.log.warn({ callId }, 'media agent unreachable: its control subject has no responders');
    await opts.onUnreachable(callId, w.participantIdentity).catch((err: unknown) => opts.log.warn({ err, callId }, 'agent loss not reported'));
  };

  let running = false;
  const timer = setInterval(() => {
    // One round at a time: a round slower than the interval skips the next.
    if (running || stopped || watched.size === 0) return;
    running = true;
    void Promise.all([...watched.keys()].map(probe)).finally(() => (running = false));
  }, probeEveryMs);
  timer.unref();

  return {
    watch(callId, participantIdentity, seq) {
      const w = watched.get(callId);
      if (!w || w.seq < seq) watched.set(callId, { participantIdentity, seq, misses: 0 });
    },
    forget(callId, seq) {
      const w = watched.get(callId);
      if (w && w.seq < seq) watched.delete(callId);
    },
    get size() {
      return watched.size;
    },
    stop() {
      stopped = true;
      clearInterval(timer);
      statuses.stop?.();
      watched.clear();
    },
  };
}
