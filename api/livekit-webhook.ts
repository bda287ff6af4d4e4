/**
 * LiveKit's webhooks into call workflows. Verified with `WebhookReceiver` on the raw body
 * (the signature covers the exact bytes), then turned into `roomEventSignal` for the
 * call whose room it is (`call_<workflow ID>`). The SIP caller joining an inbound room
 * signal-with-starts the inbound call workflow, so a repeated webhook finds the same run.
 *
 * Status codes are what LiveKit's retries need: 2xx for anything delivered or not ours
 * (no call, call finished, another room), 503 only when Temporal could not be reached.
 */
import { ParticipantInfo_Kind } from '@livekit/protocol';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { FastifyPluginCallback } from 'fastify';
import { WebhookReceiver, type WebhookEvent } from 'livekit-server-sdk';
import type { Logger } from '../deploy/logger.js';
import { inboundCallIdForRoom } from '../workflows/ids.js';
import type { InboundCallStart } from '../workflows/inbound-start.js';
import { roomEventSignal, type ParticipantKind, type RoomEventSignal } from '../workflows/messages.js';
import { problem, sendProblem } from './problem.js';

/** Where LiveKit posts; `config.api.livekitWebhookUrl` names the same path. */
export const liveKitWebhookPath = '/v1/livekit/webhook';

/** The workflow type the receiver starts for inbound calls, by name (the API never loads workflow code). */
export const inboundCallWorkflowType = 'inboundCallWorkflow';

const roomPrefix = 'call_';
const roomEvents = new Set<string>(['participant_joined', 'participant_left', 'room_finished'] satisfies RoomEventSignal['event'][]);

export function participantKind(kind: ParticipantInfo_Kind): ParticipantKind {
  switch (kind) {
    case ParticipantInfo_Kind.SIP:
      return 'sip';
    case ParticipantInfo_Kind.AGENT:
      return 'agent';
    case ParticipantInfo_Kind.STANDARD:
      return 'standard';
    default:
      return 'other';
  }
}

/** What one LiveKit webhook means for Kickcall. */
export interface MappedWebhook {
  /** The call workflow to signal: the room name without `call_`. */
  workflowId: string;
  signal: RoomEventSignal;
  /** Set when this event starts the inbound call workflow if it has not started yet. */
  startInbound?: InboundCallStart;
}

/**
 * Maps a verified webhook to the signal for its call; undefined for events no call cares
 * about (other event types, rooms that are not `call_*`). Pure: `receivedAtMs` stands in
 * for a missing `createdAt`.
 */
export function mapWebhook(event: WebhookEvent, receivedAtMs = 0): MappedWebhook | undefined {
  if (!roomEvents.has(event.event)) return undefined;
  const roomName = event.room?.name ?? '';
  if (!roomName.startsWith(roomPrefix) || roomName.length === roomPrefix.length) return undefined;
  const workflowId = roomName.slice(roomPrefix.length);
  const identity = event.participant?.identity || undefined;
  const kind = event.participant ? participantKind(event.participant.kind) : undefined;
  const createdAtS = Number(event.createdAt);
  const signal: RoomEventSignal = {
    eventId: event.id,
    event: event.event as RoomEventSignal['event'],
    roomName,
    ...(identity ? { participantIdentity: identity } : {}),
    ...(kind ? { participantKind: kind } : {}),
    atMs: createdAtS > 0 ? createdAtS * 1000 : receivedAtMs,
  };
  // Only rooms the SIP gateway names (`call_inbound_<tenant>_<16 hex>`) start a call, and
  // only when the caller joins: an agent or a test participant joining starts nothing.
  const isCaller = kind === 'sip' || identity?.startsWith('sip_') === true;
  const startInbound: InboundCallStart | undefined =
    signal.event === 'participant_joined' && isCaller && identity && inboundCallIdForRoom(roomName) === workflowId
      ? { roomName, callerIdentity: identity, roomMetadata: event.room?.metadata ?? '', ...callerNumberOf(event) }
      : undefined;
  return { workflowId, signal, ...(startInbound ? { startInbound } : {}) };
}

/** The SIP caller's number, when its trunk put it in the room (`sip.phoneNumber`) and it is E.164. */
function callerNumberOf(event: WebhookEvent): { callerNumber?: string } {
  const number = event.participant?.attributes?.['sip.phoneNumber'];
  return number !== undefined && /^\+[1-9][0-9]{6,14}$/.test(number) ? { callerNumber: number } : {};
}

export interface LiveKitWebhookOptions {
  temporal: Client;
  apiKey: string;
  apiSecret: string;
  /** Where inbound call workflows run. */
  taskQueue: string;
  log: Logger;
  /** How long one signal may wait for Temporal before the delivery is answered 503, in ms. Default 5000. */
  temporalTimeoutMs?: number;
}

type Outcome = 'signalled' | 'started-or-signalled' | 'no-such-call' | 'call-already-finished';

/** Delivers the mapped event; Temporal errors other than "no such call" propagate. */
async function deliver(opts: LiveKitWebhookOptions, mapped: MappedWebhook): Promise<Outcome> {
  const deadline = Date.now() + (opts.temporalTimeoutMs ?? 5000);
  try {
    if (mapped.startInbound) {
      await opts.temporal.withDeadline(deadline, () =>
        opts.temporal.workflow.signalWithStart(inboundCallWorkflowType, {
          workflowId: mapped.workflowId,
          taskQueue: opts.taskQueue,
          args: [mapped.startInbound],
          signal: roomEventSignal,
          signalArgs: [mapped.signal],
          // A redelivery while the call runs signals that run; after it has finished,
          // it must not start a second call for the same room.
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          staticSummary: 'Inbound call',
        }),
      );
      return 'started-or-signalled';
    }
    await opts.temporal.withDeadline(deadline, () => opts.temporal.workflow.getHandle(mapped.workflowId).signal(roomEventSignal, mapped.signal));
    return 'signalled';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'no-such-call';
    if (err instanceof WorkflowExecutionAlreadyStartedError) return 'call-already-finished';
    throw err;
  }
}

/**
 * The webhook route as an encapsulated plugin: its raw-body parsers for
 * `application/webhook+json` and `application/json` apply to this route only, so the rest
 * of the API keeps Fastify's JSON parsing.
 */
export const liveKitWebhookRoutes: FastifyPluginCallback<LiveKitWebhookOptions> = (app, opts, done) => {
  const receiver = new WebhookReceiver(opts.apiKey, opts.apiSecret);
  const log = opts.log;
  for (const type of ['application/webhook+json', 'application/json']) {
    app.addContentTypeParser(type, { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_req, body, parsed) => parsed(null, body));
  }

  app.post(liveKitWebhookPath, async (request, reply) => {
    const body = typeof request.body === 'string' ? request.body : '';
    let event: WebhookEvent;
    try {
      event = await receiver.receive(body, request.headers.authorization);
    } catch (err) {
      // `receive` checks the token and the body's hash, then parses. A body that does not
      // parse at all is malformed whoever signed it; one that parses failed the signature.
      const parses = await receiver.receive(body, undefined, true).then(() => true, () => false);
      if (!parses) {
        log.warn({ bytes: body.length }, 'livekit webhook body unparsable');
        return sendProblem(reply, problem('invalid-webhook-body', 400, 'Webhook body invalid', 'The body is not a LiveKit WebhookEvent in JSON.'));
      }
      log.warn({ reason: (err as Error).message }, 'livekit webhook signature rejected');
      return sendProblem(reply, problem('invalid-webhook-signature', 401, 'Webhook signature invalid', 'The Authorization token is missing, invalid or does not sign this body.'));
    }

    const mapped = mapWebhook(event, Date.now());
    if (!mapped) return reply.code(200).send({ ok: true, ignored: true });
    const fields = { workflowId: mapped.workflowId, event: mapped.signal.event, eventId: mapped.signal.eventId };
    let outcome: Outcome;
    try {
      outcome = await deliver(opts, mapped);
    } catch (err) {
      log.error({ err, ...fields }, 'room event not delivered: temporal unavailable');
      return sendProblem(reply, problem('orchestration-unavailable', 503, 'Orchestration unavailable', 'The event was not delivered; LiveKit retries.'));
    }
    // No run to tell (finished, or a room no workflow owns): acknowledged, so LiveKit stops retrying.
    log.debug({ ...fields, outcome }, 'room event handled');
    return reply.code(200).send({ ok: true, ...(outcome === 'no-such-call' || outcome === 'call-already-finished' ? { ignored: true } : {}) });
  });
  done();
};
