/**
 * One inbound call end to end (UAS): a routed INVITE is answered into a new LiveKit room
 * as a SIP participant, the way livekit-sip's dispatch rules do it.
 *
 * INVITE → 180 → room created (the rule's metadata) and joined (sip.callStatus=ringing)
 * → 200 with our SDP answer (retransmitted until ACK) → ACK → media bridged,
 * sip.callStatus=active. The caller's BYE leaves the room; the room being deleted or the
 * participant removed sends BYE. The caller's number never appears in the room.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { RoomServiceClient } from 'livekit-server-sdk';
import { newSipCallId, type LiveKitSettings } from './bridged-call.js';
import { Dialog } from './dialog.js';
import type { RouteMatch } from './inbound-routing.js';
import { MediaSession } from './media-session.js';
import { RoomBridge, sipAttributes } from './room-bridge.js';
import type { RtpPortPool } from './rtp-ports.js';
import { buildSdp, negotiate, parseSdp, type NegotiatedMedia } from './sdp.js';
import { createResponse, type SipRequest, type SipResponse } from './sip-message.js';
import type { Destination, ServerTransaction } from './transactions.js';
import { randomToken, type DialogHandler, type UserAgent } from './user-agent.js';

export interface InboundCallDeps {
  ua: UserAgent;
  ports: RtpPortPool;
  livekit: LiveKitSettings;
  rooms: Pick<RoomServiceClient, 'createRoom'>;
  logger: Logger;
  /** T1 for 2xx retransmission (RFC 3261 §13.3.1.4). Default 500 ms. */
  t1Ms?: number;
}

type Match = Extract<RouteMatch, { ok: true }>;

export class InboundCall extends EventEmitter<{ ended: [] }> implements DialogHandler {
  readonly sipCallId = newSipCallId();
  readonly roomName: string;
  readonly participantIdentity: string;
  status: 'ringing' | 'active' | 'hangup' | 'failed' = 'ringing';
  readonly ended: Promise<void>;
  private resolveEnded!: () => void;
  private readonly localTag = randomToken();
  private dialog: Dialog | undefined;
  private media: MediaSession | undefined;
  private bridge: RoomBridge | undefined;
  private negotiated: NegotiatedMedia | undefined;
  private okResponse: SipResponse | undefined;
  private okTimer: NodeJS.Timeout | undefined;
  private cleaningUp = false;
  private readonly log: Logger;

  constructor(
    private readonly invite: SipRequest,
    private readonly tx: ServerTransaction,
    private readonly match: Match,
    private readonly deps: InboundCallDeps,
  ) {
    super();
    this.roomName = match.roomName;
    this.participantIdentity = `sip_caller_${match.callToken}`;
    this.log = deps.logger.child({ sipCallId: this.sipCallId, roomName: this.roomName, trunkId: match.trunk.trunkId, ruleId: match.rule.ruleId });
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  /** Answers the call into its room; on any failure the caller gets a final error response. */
  async start(): Promise<void> {
    try {
      this.negotiated = negotiate(parseSdp(this.invite.body));
    } catch {
      this.tx.respond(createResponse(this.invite, 488, { toTag: this.localTag }));
      return this.cleanup('failed');
    }
    this.tx.respond(createResponse(this.invite, 180, { toTag: this.localTag }));
    try {
      this.media = await MediaSession.open(this.deps.ports);
      await this.deps.rooms.createRoom({ name: this.roomName, metadata: this.match.rule.metadata, emptyTimeout: 60 });
      this.bridge = new RoomBridge({
        ...this.deps.livekit,
        roomName: this.roomName,
        identity: this.participantIdentity,
        attributes: {
          [sipAttributes.callId]: this.sipCallId,
          [sipAttributes.callStatus]: 'ringing',
          'sip.trunkId': this.match.trunk.trunkId,
          'sip.ruleId': this.match.rule.ruleId,
          'sip.direction': 'inbound',
        },
        logger: this.log,
      });
      await this.bridge.connect();
    } catch (err) {
      this.log.warn({ err }, 'could not bring the caller into a room');
      this.tx.respond(createResponse(this.invite, 503, { toTag: this.localTag, headers: [['Retry-After', '5']] }));
      return this.cleanup('failed');
    }
    this.bridge.on('closed', (reason) => {
      this.log.info({ reason }, 'participant left the room, hanging up');
      void this.hangup();
    });
    this.answer();
  }

  /** BYE to the caller (when answered), then release everything. */
  async hangup(): Promise<void> {
    const dialog = this.dialog;
    if (dialog && this.status === 'active') {
      this.status = 'hangup';
      this.deps.ua.unregisterDialog(dialog.key);
      const response = await this.deps.ua.request(dialog.createRequest('BYE'), dialog.destination).final;
      this.log.info({ status: response.status }, 'bye answered');
    } else if (!this.tx.isFinal) {
      this.tx.respond(createResponse(this.invite, 480, { toTag: this.localTag }));
    }
    await this.cleanup('hangup');
  }

  // --- DialogHandler: requests from the caller inside the dialog ---

  onRequest(request: SipRequest, tx: ServerTransaction): void {
    if (request.method === 'ACK') {
      void this.onAck();
      return;
    }
    if (!this.dialog?.acceptRemoteSeq(request)) {
      tx.respond(createResponse(request, 500, { reason: 'Out of Order' }));
      return;
    }
    if (request.method === 'BYE') {
      tx.respond(createResponse(request, 200));
      this.log.info('caller hung up');
      if (this.dialog) this.deps.ua.unregisterDialog(this.dialog.key);
      this.status = 'hangup';
      void this.cleanup('hangup');
      return;
    }
    tx.respond(createResponse(request, request.method === 'OPTIONS' ? 200 : 405));
  }

  private answer(): void {
    const media = this.media!;
    const contact = `<${this.deps.ua.contactUri()}>`;
    this.dialog = Dialog.fromUasRequest(this.invite, this.localTag, contact);
    this.deps.ua.registerDialog(this.dialog.key, this);
    const body = buildSdp({
      address: media.address,
      port: media.port,
      sessionId: String(Date.now()),
      sessionVersion: 1,
      ...(this.negotiated?.telephoneEventPayloadType !== undefined ? { telephoneEventPayloadType: this.negotiated.telephoneEventPayloadType } : {}),
    });
    this.okResponse = createResponse(this.invite, 200, {
      toTag: this.localTag,
      headers: [
        ['Contact', contact],
        ['Content-Type', 'application/sdp'],
      ],
      body,
    });
    this.tx.respond(this.okResponse);
    this.retransmitOk(this.deps.t1Ms ?? 500, this.tx.source, 0);
  }

  /** §13.3.1.4: the UAS core retransmits its 2xx until the ACK arrives (up to 64·T1). */
  private retransmitOk(intervalMs: number, to: Destination, elapsedMs: number): void {
    const t1 = this.deps.t1Ms ?? 500;
    if (elapsedMs >= 64 * t1) {
      this.log.warn('no ACK for our 200, hanging up');
      void this.hangup();
      return;
    }
    this.okTimer = setTimeout(() => {
      if (!this.okResponse) return;
      this.deps.ua.sendResponse(this.okResponse, to);
      this.retransmitOk(Math.min(intervalMs * 2, 4000), to, elapsedMs + intervalMs);
    }, intervalMs);
  }

  private async onAck(): Promise<void> {
    if (!this.okResponse) return;
    this.okResponse = undefined;
    clearTimeout(this.okTimer);
    const media = this.media;
    const bridge = this.bridge;
    if (!media || !bridge || !this.negotiated) return;
    media.setRemote(this.negotiated);
    media.onAudio((samples) => bridge.pushCalleeAudio(samples));
    await bridge.startMedia();
    media.startSending((n) => bridge.pullRoomAudio(n));
    this.status = 'active';
    await bridge.setCallStatus('active');
    this.log.info('inbound call answered and bridged');
  }

  private async cleanup(finalStatus: 'hangup' | 'failed'): Promise<void> {
    if (this.cleaningUp) return;
    this.cleaningUp = true;
    clearTimeout(this.okTimer);
    if (finalStatus === 'failed') this.status = 'failed';
    try {
      await this.media?.close();
      await this.bridge?.leave(this.bridge.connected ? 'hangup' : undefined);
    } finally {
      this.log.info({ packetsSent: this.media?.stats.packetsSent, packetsReceived: this.media?.stats.packetsReceived }, 'inbound call released');
      this.resolveEnded();
      this.emit('ended');
    }
  }
}
