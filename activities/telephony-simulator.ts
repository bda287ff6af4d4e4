/**
 * TELEPHONY SIMULATOR — load mode only. Stands in for LiveKit rooms, agent dispatch and
 * the SIP leg at the dial activity's boundary, so campaigns can exercise the
 * orchestration layer (Temporal, the event bridge, PostgreSQL) at scale without media.
 * Each call's outcome and length come from a seeded hash of its room name, so a run is
 * reproducible; an answered call plays a short conversation as real call events on NATS
 * JetStream (through the real publisher and bridge) and answers control commands. The
 * real path stays the default: this is used only with KICKCALL_TELEPHONY=simulated.
 */
import { createHash } from 'node:crypto';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { sql } from 'kysely';
import type { Db } from '../deploy/db/schema.js';
import { jetstream } from '@nats-io/jetstream';
import { ParticipantInfo_Kind } from '@livekit/protocol';
import type { AgentDispatchClient, RoomServiceClient } from 'livekit-server-sdk';
import { createCallEventPublisher, ensureCallEventsStream } from '../media/events/publisher.js';
import { callControlSubject } from '../media/events/subjects.js';
import { SipCallError, SipNoAnswerError } from '../workflows/errors.js';
import type { DialRequest, DialResult, SipDialer } from './telephony.js';

export type SimulatedOutcome = 'answered' | 'voicemail' | 'busy' | 'no_answer' | 'rejected' | 'failed' | 'opted_out';

/** Relative weights of each outcome. */
export type OutcomeDistribution = Record<SimulatedOutcome, number>;

export const defaultDistribution: OutcomeDistribution = { answered: 55, voicemail: 10, busy: 10, no_answer: 15, rejected: 5, failed: 5, opted_out: 0 };

export interface TelephonySimulatorOptions {
  nc: NatsConnection;
  /**
   * The simulated carrier's ledger of dials, kept outside the worker like a real carrier's:
   * a dial retried after a worker crash re-attaches to the call already placed instead of
   * placing another (as the SIP gateway does by room and identity).
   */
  db: Db;
  /** Same seed, same outcomes. */
  seed: string;
  distribution?: OutcomeDistribution;
  /** Multiplies every simulated duration (ringing, turns): 0.01 runs 100× faster. Default 1. */
  timeScale?: number;
}

export interface SimulatedCallPlan {
  outcome: SimulatedOutcome;
  /** Ringing before the outcome. */
  ringMs: number;
  /** Caller and agent turns, for answered calls. */
  turns: number;
  /** Time between turns. */
  turnGapMs: number;
}

/** The plan for a call, from the seed and the room name alone. */
export function planCall(seed: string, roomName: string, distribution: OutcomeDistribution = defaultDistribution): SimulatedCallPlan {
  const h = createHash('sha256').update(`${seed}\n${roomName}`).digest();
  const u = (i: number) => h.readUInt32BE(i * 4) / 2 ** 32;
  const total = Object.values(distribution).reduce((a, b) => a + b, 0);
  let pick = u(0) * total;
  let outcome: SimulatedOutcome = 'answered';
  for (const [name, weight] of Object.entries(distribution) as [SimulatedOutcome, number][]) {
    if (pick < weight) {
      outcome = name;
      break;
    }
    pick -= weight;
  }
  return { outcome, ringMs: 2_000 + Math.floor(u(1) * 18_000), turns: 2 + Math.floor(u(2) * 6), turnGapMs: 2_000 + Math.floor(u(3) * 4_000) };
}

interface LiveCall {
  callId: string;
  calleeIdentity: string;
  ended: boolean;
  control?: Subscription;
}

export function createTelephonySimulator(opts: TelephonySimulatorOptions) {
  const scale = opts.timeScale ?? 1;
  const live = new Map<string, LiveCall>();
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms * scale)));
  const stats = { dials: 0, reattached: 0, answered: 0, conversations: 0 };

  /** An answered call: the agent greets, caller and agent take turns, the agent ends it. */
  async function converse(roomName: string, call: LiveCall, plan: SimulatedCallPlan): Promise<void> {
    await ensureCallEventsStream(opts.nc);
    const events = createCallEventPublisher(jetstream(opts.nc), call.callId);
    call.control = opts.nc.subscribe(callControlSubject(call.callId), {
      callback: (_err, msg) => {
        const command = (msg.json<{ command?: string }>()).command;
        if (command === 'hangup') call.ended = true;
        msg.respond(JSON.stringify({ ok: true }));
      },
    });
    try {
      await events.publish({ type: 'agent.joined', workerId: 'telephony-simulator', resumed: false, participantIdentity: 'agent-simulated' });
      if (plan.outcome === 'opted_out') {
        await events.publish({ type: 'user.turn', text: 'Please take me off your list.' });
        await events.publish({ type: 'tool.requested', toolCallId: 'sim-dnc', name: 'do_not_call', args: {} });
        await sleep(plan.turnGapMs);
        await events.publish({ type: 'agent.turn', text: 'Understood, we will not call again. Goodbye.', interrupted: false });
        await events.publish({ type: 'call.ended', reason: 'do_not_call' });
      } else if (plan.outcome === 'voicemail') {
        await events.publish({ type: 'user.turn', text: 'Simulated voicemail greeting.' });
        await events.publish({ type: 'tool.requested', toolCallId: 'sim-vm', name: 'voicemail_detected', args: {} });
        await sleep(plan.turnGapMs);
        await events.publish({ type: 'agent.turn', text: 'Simulated voicemail message.', interrupted: false });
        await events.publish({ type: 'call.ended', reason: 'voicemail' });
      } else {
        for (let i = 0; i < plan.turns && !call.ended; i++) {
          const text = `Simulated line ${i + 1}.`;
          await (i % 2 === 0 ? events.publish({ type: 'agent.turn', text, interrupted: false }) : events.publish({ type: 'user.turn', text }));
          await sleep(plan.turnGapMs);
        }
        if (!call.ended) await events.publish({ type: 'call.ended', reason: 'end_call' });
      }
      await events.publish({ type: 'usage', sttAudioS: plan.turns * 2, ttsCharacters: plan.turns * 40, llmInputTokens: plan.turns * 200, llmOutputTokens: plan.turns * 20, llmModel: 'simulated' });
      await events.publish({ type: 'agent.left', reason: 'call_ended' });
    } finally {
      call.control.unsubscribe();
      stats.conversations++;
    }
  }

  const answeredResult = (request: DialRequest): DialResult => ({
    participantIdentity: request.participantIdentity,
    sipCallId: `SCL_sim${createHash('sha1').update(request.roomName).digest('hex').slice(0, 8)}`,
  });

  const dialer: SipDialer = {
    async dial(request: DialRequest): Promise<DialResult> {
      const ledger = await opts.db
        .insertInto('simulated_dials')
        .values({ room_name: request.roomName })
        .onConflict((oc) => oc.column('room_name').doUpdateSet({ requests: sql`simulated_dials.requests + 1` }))
        .returning('requests')
        .executeTakeFirstOrThrow();
      if (ledger.requests > 1) stats.reattached++;
      else stats.dials++;
      const existing = live.get(request.roomName);
      if (existing && !existing.ended) return answeredResult(request);
      // The plan is a function of the room: a re-attached call ends the way it was going to.
      const plan = planCall(opts.seed, request.roomName, opts.distribution);
      await sleep(Math.min(plan.ringMs, plan.outcome === 'no_answer' ? request.ringingTimeoutMs : plan.ringMs));
      switch (plan.outcome) {
        case 'busy':
          throw new SipCallError(486, 'Busy Here');
        case 'rejected':
          throw new SipCallError(603, 'Decline');
        case 'failed':
          throw new SipCallError(503, 'Service Unavailable');
        case 'no_answer':
          throw new SipNoAnswerError(request.ringingTimeoutMs);
        default: {
          stats.answered++;
          const call: LiveCall = { callId: request.roomName.replace(/^call_/, ''), calleeIdentity: request.participantIdentity, ended: false };
          live.set(request.roomName, call);
          // Replayed after a re-attach, its events carry the same IDs and JetStream drops the repeats.
          void converse(request.roomName, call, plan).catch(() => undefined);
          return answeredResult(request);
        }
      }
    },
    async transfer(): Promise<void> {
      await sleep(500);
    },
  };

  const rooms: Pick<RoomServiceClient, 'createRoom' | 'deleteRoom' | 'listParticipants' | 'removeParticipant'> = {
    createRoom: () => Promise.resolve({} as never),
    deleteRoom: (roomName: string) => {
      const call = live.get(roomName);
      if (call) call.ended = true;
      live.delete(roomName);
      return Promise.resolve();
    },
    listParticipants: (roomName: string) => {
      const call = live.get(roomName);
      if (!call || call.ended) return Promise.resolve([]);
      return Promise.resolve([{ identity: call.calleeIdentity, kind: ParticipantInfo_Kind.SIP }, { identity: 'agent-simulated', kind: ParticipantInfo_Kind.AGENT }] as never);
    },
    // The simulated conversation plays on to its scripted end; its agent has no session to stop.
    removeParticipant: () => Promise.resolve(),
  };

  const dispatch: Pick<AgentDispatchClient, 'createDispatch' | 'listDispatch'> = {
    // The simulated conversation starts when the call is answered; nothing to dispatch.
    createDispatch: (roomName: string) => Promise.resolve({ id: `AD_sim_${roomName.slice(-12)}` } as never),
    listDispatch: () => Promise.resolve([]),
  };

  return { dialer, rooms, dispatch, stats };
}
