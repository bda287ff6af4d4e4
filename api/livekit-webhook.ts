/**
 * LiveKit's webhooks into call workflows. Verified with `WebhookReceiver` on the raw body
 * (the signature covers the exact bytes), then turned into `roomEventSignal` for the
 * call whose room it is (`call_<workflow ID>`). The SIP caller joining an inbound room
 * signal-with-starts the inbound call workflow, so a repeated webhook finds the same run.
 */
import { ParticipantInfo_Kind } from '@livekit/protocol';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { WebhookReceiver, type WebhookEvent } from 'livekit-server-sdk';
import type { Logger } from '../deploy/logger.js';
import { inboundCallIdForRoom } from '../workflows/ids.js';
import type { InboundCallStart } from '../workflows/inbound-start.js';
import { roomEventSignal, type ParticipantKind, type RoomEventSignal } from '../workflows/messages.js';
import { problem, sendProblem } from './problem.js';

const roomPrefix = 'call_';

function participantKind(kind: ParticipantInfo_Kind | undefined): ParticipantKind {
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

export interface MappedWebhook {
  workflowId: string;
  signal: RoomEventSignal;
  /** Set when this event should start the inbound call workflow if it is not running. */
  startInbound?: InboundCallStart;
}

/** What a LiveKit webhook means for Kickcall; undefined for events no call cares about. */
export function mapWebhook(event: WebhookEvent): MappedWebhook | undefined {
  if (event.event !== 'participant_joined' && event.event !== 'participant_left' && event.event !== 'room_finished') return undefined;
  const roomName = event.room?.name ?? '';
  if (!roomName.startsWith(roomPrefix) || roomName.length === roomPrefix.length) return undefined;
  const workflowId = roomName.slice(roomPrefix.length);
  const identity = event.participant?.identity;
  const kind = event.participant ? participantKind(event.participant.kind) : undefined;
  const signal: RoomEventSignal = {
    eventId: event.id,
    event: event.event,
    roomName,
    ...(identity ? { participantIdentity: identity } : {}),
    ...(kind ? { participantKind: kind } : {}),
    atMs: Number(event.createdAt) * 1000,
  };
  const isCaller = kind === 'sip' || identity?.startsWith('sip_') === true;
  const startInbound =
    event.event === 'participant_joined' && isCaller && identity && inboundCallIdForRoom(roomName) === workflowId
      ? { roomName, callerIdentity: identity, roomMetadata: event.room?.metadata ?? '' }
      : undefined;
  return { workflowId, signal, ...(startInbound ? { startInbound } : {}) };
}

export interface LiveKitWebhookOptions {
  temporal: Client;
  apiKey: string;
  apiSecret: string;
  /** Where inbound call workflows run. */
  taskQueue: string;
  log: Logger;
}

export function registerLiveKitWebhook(app: FastifyInstance, opts: LiveKitWebhookOptions): void {
  const receiver = new WebhookReceiver(opts.apiKey, opts.apiSecret);
  // The signature is over the exact body: keep it as a string.
  for (const type of ['application/webhook+json', 'application/json']) {
    app.addContentTypeParser(type, { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_req, body, done) => done(null, body));
  }

  app.post('/v1/livekit/webhook', async (request, reply) => {
    let event: WebhookEvent;
    try {
      event = await receiver.receive(typeof request.body === 'string' ? request.body : '', request.headers.authorization);
    } catch (err) {
      opts.log.warn({ reason: (err as Error).message }, 'livekit webhook rejected');
      return sendProblem(reply, problem('invalid-webhook-signature', 401, 'Webhook signature invalid', 'The Authorization token does not sign this body.'));
    }
    const mapped = mapWebhook(event);
    if (!mapped) return reply.code(200).send({ ok: true, ignored: true });
    try {
      if (mapped.startInbound) {
        await opts.temporal.workflow.signalWithStart('inboundCallWorkflow', {
          workflowId: mapped.workflowId,
          taskQueue: opts.taskQueue,
          args: [mapped.startInbound],
          signal: roomEventSignal,
          signalArgs: [mapped.signal],
          staticSummary: 'Inbound call',
        });
      } else {
        await opts.temporal.workflow.getHandle(mapped.workflowId).signal(roomEventSignal, mapped.signal);
      }
      opts.log.debug({ workflowId: mapped.workflowId, event: mapped.signal.event }, 'room event signalled');
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        // No such call running (finished, or a room we do not own): nothing to tell.
        return reply.code(200).send({ ok: true, ignored: true });
      }
      opts.log.error({ err, workflowId: mapped.workflowId }, 'could not signal the call workflow');
      // LiveKit retries deliveries that fail.
      return sendProblem(reply, problem('orchestration-unavailable', 503, 'Orchestration unavailable', 'Try again shortly.'));
    }
    return reply.code(200).send({ ok: true });
  });
}
