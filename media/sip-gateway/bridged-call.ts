/**
 * One call end to end: the SIP dialog (a SipCall), its RTP stream (MediaSession) and its
 * LiveKit participant (RoomBridge), kept in step. What both directions share lives here;
 * how the call comes to be is the subclass's: OutboundBridgedCall dials,
 * InboundBridgedCall answers.
 *
 * - the call's progress is the participant's `sip.callStatus` attribute;
 * - once answered, RTP flows both ways through the room (sip.callStatus=active);
 * - removed from the room or room deleted → the SIP side hangs up (BYE, CANCEL, 480);
 * - the far end hangs up → sip.callStatus=hangup, then the participant leaves;
 * - a call that never got going leaves no participant behind.
 */
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { SipGatewayInternalError, isGatewayError, type GatewayError } from './errors.js';
import type { MediaSession } from './media-session.js';
import type { RoomBridge, SipCallStatus } from './room-bridge.js';
import type { RtpPortPool } from './rtp-ports.js';
import type { NegotiatedMedia } from './sdp.js';
import type { EndReason, SipCall } from './sip-call.js';
import type { UserAgent } from './user-agent.js';

export interface LiveKitSettings {
  /** WebSocket URL the gateway joins rooms with. */
  wsUrl: string;
  /** HTTP URL of the server API (inbound calls create their rooms there). */
  httpUrl: string;
  apiKey: string;
  apiSecret: string;
}

export interface BridgedCallDeps {
  ua: UserAgent;
  ports: RtpPortPool;
  livekit: LiveKitSettings;
  logger: Logger;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A call ID in livekit-sip's shape (SCL_ + 12 base62 characters): random, no PII. */
export function newSipCallId(): string {
  let id = 'SCL_';
  for (let i = 0; i < 12; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

export type BridgedCallStatus = SipCallStatus | 'failed';

export abstract class BridgedCall {
  readonly sipCallId = newSipCallId();
  abstract readonly direction: 'inbound' | 'outbound';
  status: BridgedCallStatus;
  /** Resolves when answered and bridged; rejects with the reason it never was. */
  readonly answered: Promise<void>;
  /** Resolves once the call is over and every resource is released. */
  readonly ended: Promise<void>;
  protected sip: SipCall | undefined;
  protected media: MediaSession | undefined;
  protected bridge: RoomBridge | undefined;
  protected readonly log: Logger;
  /** Why the call was asked to end, if it was. */
  protected hangupRequested: EndReason | undefined;
  private resolveAnswered!: () => void;
  private rejectAnswered!: (err: Error) => void;
  private resolveEnded!: () => void;
  /** Answered and bridged: from now on the SIP side ending ends the call. */
  private live = false;
  private cleaningUp = false;

  constructor(
    readonly roomName: string,
    readonly participantIdentity: string,
    protected readonly deps: BridgedCallDeps,
    initialStatus: SipCallStatus,
  ) {
    this.status = initialStatus;
    this.log = deps.logger.child({ sipCallId: this.sipCallId, roomName, participantIdentity });
    this.answered = new Promise((resolve, reject) => {
      this.resolveAnswered = resolve;
      this.rejectAnswered = reject;
    });
    // Consumers may not wait for the answer (waitUntilAnswered=false, inbound); never unhandled.
    this.answered.catch(() => undefined);
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  /**
   * Hangs up by whatever the state allows. Resolves when the call is over. Before the SIP
   * call exists, the setup sees `hangupRequested` and ends it as soon as it does.
   */
  async hangup(reason: EndReason = 'local-hangup'): Promise<void> {
    this.hangupRequested ??= reason;
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

  /**
   * Keeps the SIP call and the room in step: ringing and media changes pass to the bridge,
   * either side ending ends the other.
   */
  protected follow(sip: SipCall, bridge: RoomBridge): void {
    sip.on('ringing', () => this.setStatus('ringing'));
    sip.on('mediaChanged', (m) => this.media?.setRemote(m));
    sip.on('ended', (reason) => void this.onSipEnded(reason));
    bridge.on('closed', (reason) => {
      this.log.info({ reason }, 'participant left the room, hanging up');
      void sip.hangup('local-hangup').catch((err: unknown) => this.log.warn({ err }, 'hangup failed'));
    });
  }

  /** After the answer: RTP both ways through the room, then sip.callStatus=active. */
  protected async bridgeAudio(sip: SipCall, negotiated: NegotiatedMedia): Promise<void> {
    const media = this.media;
    const bridge = this.bridge;
    if (!media || !bridge) throw new SipGatewayInternalError('media closed');
    media.setRemote(negotiated);
    media.onAudio((samples) => bridge.pushCalleeAudio(samples));
    await bridge.startMedia();
    media.startSending((n) => bridge.pullRoomAudio(n));
    this.setStatus('active');
    this.live = true;
    this.resolveAnswered();
    // A BYE while the media was starting went unheeded above: act on it now.
    if (sip.hasEnded) {
      this.status = 'hangup';
      await this.cleanup('hangup');
    }
  }

  /** The call never got going: report why and release whatever was taken. */
  protected async fail(err: unknown): Promise<void> {
    const error: GatewayError = isGatewayError(err) ? err : new SipGatewayInternalError('Call setup failed', { cause: err });
    const cause = error.cause instanceof Error ? { name: error.cause.name, message: error.cause.message } : undefined;
    this.log.info({ err: { name: error.name, message: error.message, ...(cause ? { cause } : {}) } }, 'call not answered');
    this.status = 'failed';
    this.rejectAnswered(error);
    // Answered but not bridged (the room failed us): the far end must not be left talking.
    if (this.sip?.state === 'active') await this.sip.hangup('failed').catch((e: unknown) => this.log.warn({ err: e }, 'hangup failed'));
    await this.cleanup(undefined);
  }

  /** Runs after the participant left; the inbound call deletes the room it made for nothing. */
  protected async afterCleanup(): Promise<void> {}

  private async onSipEnded(reason: EndReason): Promise<void> {
    // Before the answer, the setup (dial or answer) sees the end and fails the call.
    if (!this.live) return;
    this.log.info({ reason }, 'call ended');
    this.status = 'hangup';
    await this.cleanup('hangup');
  }

  protected setStatus(status: SipCallStatus): void {
    if (this.status === 'failed' || this.status === 'hangup') return;
    this.status = status;
    this.bridge?.setCallStatus(status).catch((err: unknown) => this.log.debug({ err }, 'status update failed'));
  }

  private async cleanup(finalStatus: SipCallStatus | undefined): Promise<void> {
    if (this.cleaningUp) return;
    this.cleaningUp = true;
    try {
      await this.media?.close();
      await this.bridge?.leave(finalStatus);
      await this.afterCleanup().catch((err: unknown) => this.log.warn({ err }, 'cleanup failed'));
    } finally {
      this.log.info({ packetsSent: this.media?.stats.packetsSent, packetsReceived: this.media?.stats.packetsReceived }, 'call resources released');
      this.resolveEnded();
    }
  }
}
