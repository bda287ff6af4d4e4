/**
 * One outbound call end to end: the SIP dialog (OutboundCall), its RTP stream
 * (MediaSession) and its LiveKit participant (RoomBridge), kept in step:
 *
 * - join the room (sip.callStatus=dialing) → INVITE → 180/183 (ringing) → 200 (active);
 * - a failed or unanswered call leaves the room, so no participant is left behind;
 * - removed from the room or room deleted → BYE (or CANCEL while ringing);
 * - BYE from the far end → sip.callStatus=hangup, then leave.
 */
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { LiveKitUnavailableError, SipGatewayInternalError, isGatewayError, type SipGatewayError } from './errors.js';
import { MediaSession } from './media-session.js';
import { OutboundCall, type EndReason } from './outbound-call.js';
import { RoomBridge, sipAttributes, type SipCallStatus } from './room-bridge.js';
import type { RtpPortPool } from './rtp-ports.js';
import type { CreateSipParticipantParsed } from './schemas.js';
import type { SipTimers } from './transactions.js';
import type { UserAgent } from './user-agent.js';

export interface LiveKitSettings {
  wsUrl: string;
  apiKey: string;
  apiSecret: string;
}

export interface BridgedCallDeps {
  ua: UserAgent;
  ports: RtpPortPool;
  livekit: LiveKitSettings;
  logger: Logger;
  timers?: SipTimers;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A call ID in livekit-sip's shape (SCL_ + 12 base62 characters): random, no PII. */
export function newSipCallId(): string {
  let id = 'SCL_';
  for (let i = 0; i < 12; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

export type BridgedCallStatus = SipCallStatus | 'failed';

export class BridgedCall {
  readonly sipCallId = newSipCallId();
  status: BridgedCallStatus = 'dialing';
  /** Resolves when answered and bridged; rejects with a SipGatewayError. */
  readonly answered: Promise<void>;
  /** Resolves once the call is over and every resource is released. */
  readonly ended: Promise<void>;
  private resolveAnswered!: () => void;
  private rejectAnswered!: (err: Error) => void;
  private resolveEnded!: () => void;
  private sip: OutboundCall | undefined;
  private media: MediaSession | undefined;
  private bridge: RoomBridge | undefined;
  private cleaningUp = false;
  private readonly log: Logger;

  constructor(
    readonly request: CreateSipParticipantParsed,
    private readonly deps: BridgedCallDeps,
  ) {
    this.log = deps.logger.child({ sipCallId: this.sipCallId, roomName: request.roomName, participantIdentity: request.participantIdentity });
    this.answered = new Promise((resolve, reject) => {
      this.resolveAnswered = resolve;
      this.rejectAnswered = reject;
    });
    // Consumers may not wait for the answer (waitUntilAnswered=false); never unhandled.
    this.answered.catch(() => undefined);
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
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

    sip.on('ringing', () => this.setStatus('ringing'));
    sip.on('mediaChanged', (m) => this.media?.setRemote(m));
    sip.on('ended', (reason) => void this.onSipEnded(reason));
    bridge.on('closed', (reason) => {
      this.log.info({ reason }, 'participant left the room, hanging up');
      void sip.hangup('local-hangup').catch((err: unknown) => this.log.warn({ err }, 'hangup failed'));
    });

    void this.dialAndBridge(sip, bridge);
  }

  /** Hangs up: BYE when answered, CANCEL while ringing. Resolves when the call is over. */
  async hangup(reason: EndReason = 'local-hangup'): Promise<void> {
    await this.sip?.hangup(reason).catch((err: unknown) => this.log.warn({ err }, 'hangup failed'));
    await this.ended;
  }

  /** Cold transfer; resolves once the far end reported success and the call was hung up. */
  async transfer(transferTo: string): Promise<void> {
    if (!this.sip) throw new SipGatewayInternalError('call not started');
    this.log.info({ transferScheme: transferTo.split(':')[0] }, 'transfer requested');
    await this.sip.transfer(transferTo);
    await this.ended;
  }

  private async dialAndBridge(sip: OutboundCall, bridge: RoomBridge): Promise<void> {
    try {
      const negotiated = await sip.dial();
      const media = this.media;
      if (!media) throw new SipGatewayInternalError('media closed');
      media.setRemote(negotiated);
      media.onAudio((samples) => bridge.pushCalleeAudio(samples));
      await bridge.startMedia();
      media.startSending((n) => bridge.pullRoomAudio(n));
      this.setStatus('active');
      this.resolveAnswered();
    } catch (err) {
      const error = isGatewayError(err) ? err : new SipGatewayInternalError('Call setup failed', { cause: err });
      this.log.info({ err: { name: error.name, message: error.message } }, 'call not answered');
      this.status = 'failed';
      this.rejectAnswered(error);
      await this.cleanup(undefined);
    }
  }

  private async onSipEnded(reason: EndReason): Promise<void> {
    if (reason === 'failed') return; // dialAndBridge cleans up and reports the error
    this.log.info({ reason }, 'call ended');
    const wasActive = this.status === 'active';
    if (wasActive) this.status = 'hangup';
    // A transfer or hangup before answer ends `answered` too (dial() rejects on its own).
    await this.cleanup(wasActive ? 'hangup' : undefined);
  }

  private setStatus(status: SipCallStatus): void {
    if (this.status === 'failed' || this.status === 'hangup') return;
    this.status = status;
    this.bridge?.setCallStatus(status).catch((err: unknown) => this.log.debug({ err }, 'status update failed'));
  }

  private async failBeforeDial(error: SipGatewayError): Promise<never> {
    this.status = 'failed';
    this.rejectAnswered(error);
    await this.cleanup(undefined);
    throw error;
  }

  private async cleanup(finalStatus: SipCallStatus | undefined): Promise<void> {
    if (this.cleaningUp) return;
    this.cleaningUp = true;
    try {
      await this.media?.close();
      await this.bridge?.leave(finalStatus);
    } finally {
      this.log.info({ packetsSent: this.media?.stats.packetsSent, packetsReceived: this.media?.stats.packetsReceived }, 'call resources released');
      this.resolveEnded();
    }
  }
}
