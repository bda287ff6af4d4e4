/**
 * Agent activities: dispatching the media agent into a call's room with the call's
 * configuration (or, after a media worker was lost, with the conversation so far), the
 * call's control channel, and a look at who is in the room. Built by a factory over
 * clients made once in the worker.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { ParticipantInfo_Kind } from '@livekit/protocol';
import type { AgentDispatchClient, RoomServiceClient } from 'livekit-server-sdk';
import { callConfigSchema, type CallConfigInput, type Turn } from '../media/agent/call-config.js';
import { readCallEvents } from '../media/events/history.js';
import { controlReplySchema, type ControlCommand } from '../media/events/schema.js';
import { callControlSubject, controlCommandIdHeader } from '../media/events/subjects.js';
import { isNoResponders } from '../media/events/control-client.js';
import { FailureType } from '../workflows/errors.js';
import { currentTraceparent } from '../deploy/telemetry/tracing.js';

export interface AgentDeps {
  dispatch: Pick<AgentDispatchClient, 'createDispatch' | 'listDispatch'>;
  rooms: Pick<RoomServiceClient, 'listParticipants' | 'removeParticipant'>;
  nc: NatsConnection;
  /** The media workers' agent name (explicit dispatch). */
  agentName: string;
  /** How long a control command may take, including a notice being spoken. Default 30 s. */
  controlTimeoutMs?: number;
}

export interface DispatchAgentInput {
  roomName: string;
  /** The call's configuration, without `resume` (the activity adds it for generation > 0). */
  config: Omit<CallConfigInput, 'resume'>;
  /** 0 for the first agent, 1 for its first replacement... Part of the idempotency key. */
  generation: number;
  /** Lowest seq the new agent may use: one past every event the workflow has applied. */
  minNextSeq: number;
  /**
   * Seqs left free between the call's last stored event and the replacement's first, for
   * whatever the superseded agent still publishes: its numbering and the new agent's never
   * meet, so JetStream's dedupe (`Nats-Msg-Id` = callId:seq) cannot drop either's event.
   */
  seqBand?: number;
}

export interface DispatchedAgent {
  dispatchId: string;
  resumedTurns: number;
  /** The replacement's first seq (resumptions only). */
  nextSeq?: number;
}

/** Marks a dispatch as this call's `generation`-th agent, so a retried activity finds it. */
function dispatchKey(callId: string, generation: number): string {
  return `${callId}#${generation}`;
}

/** Names the command after the activity that sends it (stable across that activity's retries). */
function controlHeaders(): MsgHdrs | undefined {
  let id: string;
  try {
    const info = Context.current().info;
    if (!info.workflowExecution) return undefined;
    id = `${info.workflowExecution.runId}:${info.activityId}`;
  } catch {
    return undefined; // Called outside an activity (a script): nothing to dedupe against.
  }
  const h = headers();
  h.set(controlCommandIdHeader, id);
  return h;
}

export function createAgentActivities(deps: AgentDeps) {
  return {
    async dispatchAgent(input: DispatchAgentInput): Promise<DispatchedAgent> {
      const key = dispatchKey(input.config.callId, input.generation);
      const existing = (await deps.dispatch.listDispatch(input.roomName)).find(
        (d) => d.agentName === deps.agentName && d.metadata.includes(`"dispatchKey":"${key}"`),
      );
      if (existing) {
        // A retry after the dispatch was made: the workflow still needs its first seq.
        const nextSeq = callConfigSchema.safeParse(JSON.parse(existing.metadata)).data?.resume?.nextSeq;
        return { dispatchId: existing.id, resumedTurns: 0, ...(nextSeq !== undefined ? { nextSeq } : {}) };
      }

      let resume: { turns: Turn[]; nextSeq: number } | undefined;
      if (input.generation > 0) {
        const events = await readCallEvents(deps.nc, input.config.callId);
        const turns: Turn[] = [];
        for (const e of events) {
          if (e.type === 'user.turn' && e.text.trim()) turns.push({ role: 'user', text: e.text });
          if (e.type === 'agent.turn' && e.text.trim()) turns.push({ role: 'agent', text: e.text });
        }
        const lastSeq = events.reduce((max, e) => Math.max(max, e.seq), 0);
        resume = { turns: turns.slice(-500), nextSeq: Math.max(lastSeq + 1, input.minNextSeq) + (input.seqBand ?? 0) };
      }
      // The job continues this activity's trace (nothing is added when tracing is off).
      const traceparent = currentTraceparent();
      const config = callConfigSchema.parse({ ...input.config, dispatchKey: key, ...(resume ? { resume } : {}), ...(traceparent ? { traceparent } : {}) });
      const dispatch = await deps.dispatch.createDispatch(input.roomName, deps.agentName, { metadata: JSON.stringify(config) });
      return { dispatchId: dispatch.id, resumedTurns: resume?.turns.length ?? 0, ...(resume ? { nextSeq: resume.nextSeq } : {}) };
    },

    /** Sends a command to the call's agent and waits for its acknowledgement. */
    async sendControl(input: { callId: string; command: ControlCommand }): Promise<void> {
      let replyData: unknown;
      try {
        const reply = await deps.nc.request(callControlSubject(input.callId), JSON.stringify(input.command), {
          // One ID for this activity across its retries: a retried `say` is spoken once.
          headers: controlHeaders(),
          // A live agent answers a ping at once.
          timeout: input.command.command === 'ping' ? 5_000 : (deps.controlTimeoutMs ?? 30_000),
        });
        replyData = reply.json();
      } catch (err) {
        // Nobody subscribed (NATS "no responders") means the agent's process is gone:
        // retrying cannot help, the workflow replaces the agent. A timeout may be a slow agent.
        const gone = isNoResponders(err);
        throw ApplicationFailure.create({
          type: FailureType.AgentUnavailable,
          message: gone ? 'the call has no live agent' : 'the call’s agent did not answer in time',
          nonRetryable: gone,
          cause: err as Error,
        });
      }
      const reply = controlReplySchema.parse(replyData);
      if (!reply.ok) {
        throw ApplicationFailure.create({ type: FailureType.InvalidInput, message: `the agent refused the command: ${reply.error}`, nonRetryable: true });
      }
    },

    /**
     * Takes every agent out of the call's room before a replacement is sent: an agent the
     * workflow gave up on (no answer to a ping, its worker unreachable) may be alive behind
     * a partition, and two agents must never speak to one caller. Returns who was removed.
     */
    async retireAgents(input: { roomName: string }): Promise<{ removed: string[] }> {
      const participants = await deps.rooms.listParticipants(input.roomName).catch((err: unknown) => {
        if (isRoomGone(err)) return [];
        throw err;
      });
      const removed: string[] = [];
      for (const agent of participants.filter((p) => p.kind === ParticipantInfo_Kind.AGENT)) {
        await deps.rooms.removeParticipant(input.roomName, agent.identity).catch((err: unknown) => {
          // It left on its own meanwhile: what this activity wanted.
          if (!isRoomGone(err)) throw err;
        });
        removed.push(agent.identity);
      }
      return { removed };
    },

    /** Who is in the call's room: the callee (by identity) and any agent. */
    async inspectRoom(input: { roomName: string; calleeIdentity: string }): Promise<{ calleePresent: boolean; agentPresent: boolean }> {
      const participants = await deps.rooms.listParticipants(input.roomName).catch((err: unknown) => {
        if (isRoomGone(err)) return [];
        throw err;
      });
      return {
        calleePresent: participants.some((p) => p.identity === input.calleeIdentity),
        agentPresent: participants.some((p) => p.kind === ParticipantInfo_Kind.AGENT),
      };
    },
  };
}

/** LiveKit's answer for a room or participant that no longer exists. */
function isRoomGone(err: unknown): boolean {
  return /not.?found|does not exist/i.test(String((err as Error).message));
}

export type AgentActivities = ReturnType<typeof createAgentActivities>;
