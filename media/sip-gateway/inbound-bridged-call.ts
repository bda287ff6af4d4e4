/**
 * An inbound call, answered the way livekit-sip's dispatch rules do it: the routed
 * INVITE is alerted (180), its room created with the rule's metadata and joined by the
 * caller's participant (sip.callStatus=ringing), then answered (200); on the ACK the
 * media is bridged and sip.callStatus becomes active, which is when the agent greets.
 *
 * The room is named `<prefix>_<tenant>_<random>` and the caller is `sip_caller_<random>`:
 * nothing in the room names the caller's number unless the trunk asks for it.
 * A call that never got answered (CANCEL, no ACK, LiveKit down) deletes its room.
 */
import type { RoomServiceClient } from 'livekit-server-sdk';
import { BridgedCall, type BridgedCallDeps } from './bridged-call.js';
import { SipCallError } from './errors.js';
import { InboundCall } from './inbound-call.js';
import { dialledNumber, inboundCallerIdentity, type RouteMatch } from './inbound-routing.js';
import { MediaSession } from './media-session.js';
import { RoomBridge, sipAttributes } from './room-bridge.js';
import { negotiate, parseSdp, type NegotiatedMedia } from './sdp.js';
import { createResponse, parseNameAddr, parseSipUri, type SipRequest } from './sip-message.js';
import type { ServerTransaction } from './transactions.js';
import { randomToken } from './user-agent.js';

export type RoutedCall = Extract<RouteMatch, { ok: true }>;

export interface InboundBridgedCallDeps extends BridgedCallDeps {
  rooms: Pick<RoomServiceClient, 'createRoom' | 'deleteRoom'>;
}

/** The participant's attributes. The numbers only when the trunk says so. */
export function inboundAttributes(route: RoutedCall, call: { sipCallId: string; callIdFull: string; dialled: string; caller: string | undefined }): Record<string, string> {
  return {
    [sipAttributes.callId]: call.sipCallId,
    [sipAttributes.callIdFull]: call.callIdFull,
    [sipAttributes.callStatus]: 'ringing',
    [sipAttributes.trunkId]: route.trunk.trunkId,
    [sipAttributes.ruleId]: route.rule.ruleId,
    [sipAttributes.direction]: 'inbound',
    ...(route.trunk.includeCallerNumber
      ? { [sipAttributes.trunkPhoneNumber]: call.dialled, ...(call.caller ? { [sipAttributes.phoneNumber]: call.caller } : {}) }
      : {}),
  };
}

/** The caller's number from the From header, when it is one. */
function callerNumber(invite: SipRequest): string | undefined {
  try {
    const user = parseSipUri(parseNameAddr(invite.headers.get('From') ?? '').uri).user;
    const number = user === undefined ? undefined : dialledNumber(user);
    return number && /^\+\d+$/.test(number) ? number : undefined;
  } catch {
    return undefined;
  }
}

export class InboundBridgedCall extends BridgedCall {
  readonly direction = 'inbound';
  private roomCreated = false;

  constructor(
    private readonly route: RoutedCall,
    private readonly invite: SipRequest,
    private readonly tx: ServerTransaction,
    /** The dialled number, E.164. */
    private readonly dialled: string,
    private readonly inboundDeps: InboundBridgedCallDeps,
  ) {
    super(route.roomName, inboundCallerIdentity(route.callToken), inboundDeps, 'ringing');
  }

  /** Answers the caller into the room. Never rejects: the outcome is in `answered` and `ended`. */
  async start(): Promise<void> {
    let offer: NegotiatedMedia;
    try {
      offer = negotiate(parseSdp(this.invite.body));
    } catch (err) {
      // No offer (late offer is not supported) or no PCMU in it.
      this.tx.respond(createResponse(this.invite, 488, { toTag: randomToken() }));
      return this.fail(new SipCallError(488, 'Not Acceptable Here', { cause: err }));
    }
    try {
      this.media = await MediaSession.open(this.deps.ports);
    } catch (err) {
      this.tx.respond(createResponse(this.invite, 503, { toTag: randomToken(), headers: [['Retry-After', '5']] }));
      return this.fail(err);
    }
    const sip = new InboundCall({
      ua: this.deps.ua,
      logger: this.log,
      invite: this.invite,
      tx: this.tx,
      offer,
      rtpAddress: this.media.address,
      rtpPort: this.media.port,
    });
    this.sip = sip;
    if (this.hangupRequested) await sip.hangup(this.hangupRequested);
    if (sip.hasEnded) return this.fail(new SipCallError(487, 'Request Terminated'));
    sip.ring();
    try {
      const bridge = await this.joinRoom(sip);
      this.follow(sip, bridge);
      if (sip.hasEnded) throw new SipCallError(487, 'Request Terminated');
      await this.bridgeAudio(sip, await sip.answer());
      this.log.info('inbound call bridged');
    } catch (err) {
      // LiveKit unavailable: 503 lets the carrier try elsewhere (no-op once answered or canceled).
      sip.reject(503, [['Retry-After', '5']]);
      await this.fail(err);
    }
  }

  protected override async afterCleanup(): Promise<void> {
    // The room was made for this call alone; unanswered, nobody else needs it. It may be
    // gone already (deleted by the call workflow); one left behind closes when empty.
    if (this.status === 'failed' && this.roomCreated) {
      await this.inboundDeps.rooms.deleteRoom(this.roomName).catch((err: unknown) => this.log.debug({ err }, 'room not deleted'));
    }
  }

  private async joinRoom(sip: InboundCall): Promise<RoomBridge> {
    const { rule } = this.route;
    await this.inboundDeps.rooms.createRoom({ name: this.roomName, metadata: rule.metadata });
    this.roomCreated = true;
    const bridge = new RoomBridge({
      ...this.deps.livekit,
      roomName: this.roomName,
      identity: this.participantIdentity,
      attributes: inboundAttributes(this.route, {
        sipCallId: this.sipCallId,
        callIdFull: sip.callId,
        dialled: this.dialled,
        caller: this.route.trunk.includeCallerNumber ? callerNumber(this.invite) : undefined,
      }),
      logger: this.log,
    });
    this.bridge = bridge;
    await bridge.connect();
    this.log.info('caller joined the room, answering');
    return bridge;
  }
}
