/** The pure part of the LiveKit webhook receiver: which events reach which call, as what. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ParticipantInfo_Kind } from '@livekit/protocol';
import { WebhookEvent, type WebhookEventNames } from 'livekit-server-sdk';
import { mapWebhook, participantKind } from '../../api/livekit-webhook.js';

const inboundRoom = 'call_inbound_acme_0123456789abcdef';

function webhook(event: WebhookEventNames, room: string, participant?: { identity: string; kind: ParticipantInfo_Kind; attributes?: Record<string, string> }, metadata?: string): WebhookEvent {
  const e = new WebhookEvent({
    id: 'EV_abc123',
    createdAt: 1_760_000_000n,
    room: { name: room, ...(metadata === undefined ? {} : { metadata }) },
    ...(participant ? { participant } : {}),
  });
  // The SDK's subclass resets `event` after construction, so it is set afterwards.
  e.event = event;
  return e;
}

test('a participant event on a call room becomes the exact room event signal for its workflow', () => {
  const mapped = mapWebhook(webhook('participant_left', 'call_outbound_acme_direct_c1_1', { identity: 'sip_callee_1_x', kind: ParticipantInfo_Kind.SIP }));
  assert.deepEqual(mapped, {
    workflowId: 'outbound_acme_direct_c1_1',
    signal: {
      eventId: 'EV_abc123',
      event: 'participant_left',
      roomName: 'call_outbound_acme_direct_c1_1',
      participantIdentity: 'sip_callee_1_x',
      participantKind: 'sip',
      atMs: 1_760_000_000_000,
    },
  });
});

test('room_finished carries no participant', () => {
  assert.deepEqual(mapWebhook(webhook('room_finished', 'call_x'))?.signal, {
    eventId: 'EV_abc123',
    event: 'room_finished',
    roomName: 'call_x',
    atMs: 1_760_000_000_000,
  });
});

test('LiveKit participant kinds map to sip, agent, standard, or other', () => {
  assert.equal(participantKind(ParticipantInfo_Kind.SIP), 'sip');
  assert.equal(participantKind(ParticipantInfo_Kind.AGENT), 'agent');
  assert.equal(participantKind(ParticipantInfo_Kind.STANDARD), 'standard');
  assert.equal(participantKind(ParticipantInfo_Kind.INGRESS), 'other');
  assert.equal(participantKind(ParticipantInfo_Kind.EGRESS), 'other');
});

test('other event types and rooms that are not call rooms are ignored', () => {
  const someone = { identity: 'x', kind: ParticipantInfo_Kind.STANDARD };
  assert.equal(mapWebhook(webhook('participant_left', 'lobby', someone)), undefined);
  assert.equal(mapWebhook(webhook('participant_left', 'call_', someone)), undefined);
  assert.equal(mapWebhook(webhook('track_published', 'call_x', someone)), undefined);
  assert.equal(mapWebhook(webhook('room_started', 'call_x')), undefined);
  assert.equal(mapWebhook(webhook('participant_connection_aborted', 'call_x', someone)), undefined);
});

test('a missing createdAt falls back to when the webhook was received', () => {
  const event = webhook('room_finished', 'call_x');
  event.createdAt = 0n;
  assert.equal(mapWebhook(event, 1234)?.signal.atMs, 1234);
});

test('the SIP caller joining an inbound room starts the inbound call with the room metadata', () => {
  const mapped = mapWebhook(webhook('participant_joined', inboundRoom, { identity: 'sip_caller_1', kind: ParticipantInfo_Kind.SIP }, '{"tenantId":"acme"}'));
  assert.equal(mapped?.workflowId, 'inbound_acme_0123456789abcdef');
  assert.deepEqual(mapped?.startInbound, { roomName: inboundRoom, callerIdentity: 'sip_caller_1', roomMetadata: '{"tenantId":"acme"}' });
  // A `sip_` identity counts as the caller whatever kind LiveKit reports; metadata defaults to ''.
  const byIdentity = mapWebhook(webhook('participant_joined', inboundRoom, { identity: 'sip_caller_2', kind: ParticipantInfo_Kind.STANDARD }));
  assert.deepEqual(byIdentity?.startInbound, { roomName: inboundRoom, callerIdentity: 'sip_caller_2', roomMetadata: '' });
});

test('the caller’s number reaches the inbound call when its trunk shares it, and only when it is a number', () => {
  const joined = (attributes: Record<string, string>) => mapWebhook(webhook('participant_joined', inboundRoom, { identity: 'sip_caller_1', kind: ParticipantInfo_Kind.SIP, attributes }, '{}'))?.startInbound;
  assert.equal(joined({ 'sip.phoneNumber': '+14155550123', 'sip.trunkPhoneNumber': '+14155550100' })?.callerNumber, '+14155550123');
  assert.equal(joined({})?.callerNumber, undefined, 'a trunk that does not share it');
  assert.equal(joined({ 'sip.phoneNumber': 'anonymous' })?.callerNumber, undefined);
  assert.equal(joined({ 'sip.phoneNumber': '4155550123' })?.callerNumber, undefined, 'not E.164');
});

test('nothing else starts an inbound call: agents, leaving callers, outbound rooms, rooms the gateway did not name', () => {
  const sip = { identity: 'sip_caller_1', kind: ParticipantInfo_Kind.SIP };
  const starts = (e: WebhookEvent) => mapWebhook(e)?.startInbound;
  assert.equal(starts(webhook('participant_joined', inboundRoom, { identity: 'agent-AJ_1', kind: ParticipantInfo_Kind.AGENT })), undefined);
  assert.equal(starts(webhook('participant_left', inboundRoom, sip)), undefined);
  assert.equal(starts(webhook('participant_joined', 'call_outbound_acme_direct_c1_1', sip)), undefined);
  assert.equal(starts(webhook('participant_joined', 'call_inbound_acme_not-hex', sip)), undefined);
  // Still signalled: the workflow, if any, hears about them.
  assert.equal(mapWebhook(webhook('participant_joined', inboundRoom, { identity: 'agent-AJ_1', kind: ParticipantInfo_Kind.AGENT }))?.workflowId, 'inbound_acme_0123456789abcdef');
});
