/**
 * An outbound call (CreateSIPParticipant): join the room as the SIP participant
 * (sip.callStatus=dialing), INVITE the callee, ringing on 180/183, bridged on 200. A failed
 * or unanswered call leaves the room, so no participant is left behind.
 */
import { BridgedCall, type BridgedCallDeps } from './bridged-call.js';
import { LiveKitUnavailableError, SipGatewayInternalError } from './errors.js';
import { MediaSession } from './media-session.js';
import { OutboundCall } from './outbound-call.js';
import { RoomBridge, sipAttributes } from './room-bridge.js';
import type { CreateSipParticipantParsed } from './schemas.js';

export class OutboundBridgedCall extends BridgedCall {
  readonly direction = 'outbound';

  constructor(
    readonly request: CreateSipParticipantParsed,
    deps: BridgedCallDeps,
  ) {
    super(request.roomName, request.participantIdentity, deps, 'dialing');
  }

  /**
   * Joins the room and sends the INVITE. Resolves once the INVITE is on its way; the
   * outcome arrives through `answered`. Rejects when nothing could be dialled.
   */
  async start(): Promise<void> {
    const r = this.request;
    try {
      this.media = await MediaSession.open(this.deps.ports);
    } catch (err) {
      return this.failBeforeDial(new SipGatewayInternalError('No RTP port available', { cause: err }));
    }
    const fromNumber = r.trunk.numbers[0] ?? '';
    const sip = new OutboundCall({
      ua: this.deps.ua,
      logger: this.log,
      trunkAddress: r.trunk.address,
      fromNumber,
      toNumber: r.callTo,
      ...(r.trunk.authUsername && r.trunk.authPassword
        ? { credentials: { username: r.trunk.authUsername, password: r.trunk.authPassword } }
        : {}),
      rtpAddress: this.media.address,
      rtpPort: this.media.port,
      ringingTimeoutMs: r.ringingTimeoutMs,
      ...(r.maxCallDurationMs !== undefined ? { maxCallDurationMs: r.maxCallDurationMs } : {}),
      ...(r.headers ? { headers: r.headers } : {}),
    });
    this.sip = sip;

    const attributes: Record<string, string> = {
      ...r.participantAttributes,
      [sipAttributes.callId]: this.sipCallId,
      [sipAttributes.callIdFull]: sip.callId,
      [sipAttributes.callStatus]: 'dialing',
      ...(r.hidePhoneNumber ? {} : { [sipAttributes.trunkPhoneNumber]: fromNumber, [sipAttributes.phoneNumber]: r.callTo }),
    };
    const bridge = new RoomBridge({
      ...this.deps.livekit,
      roomName: r.roomName,
      identity: r.participantIdentity,
      attributes,
      logger: this.log,
      ...(r.participantName ? { name: r.participantName } : {}),
      ...(r.participantMetadata ? { metadata: r.participantMetadata } : {}),
    });
    this.bridge = bridge;
    try {
      await bridge.connect();
    } catch (err) {
      this.log.warn({ err }, 'could not join the room');
      return this.failBeforeDial(new LiveKitUnavailableError({ cause: err }));
    }
    this.log.info('joined room, dialing');
    this.follow(sip, bridge);
    void this.dialAndBridge(sip);
  }

  private async dialAndBridge(sip: OutboundCall): Promise<void> {
    try {
      await this.bridgeAudio(sip, await sip.dial());
    } catch (err) {
      await this.fail(err);
    }
  }

  private async failBeforeDial(error: SipGatewayInternalError | LiveKitUnavailableError): Promise<never> {
    await this.fail(error);
    throw error;
  }
}
