/**
 * The LiveKit side of a call: one rtc-node Room per call, joined as the SIP participant.
 *
 * Like livekit-sip, the participant joins while the phone is still dialing, carries the
 * call's progress in the `sip.callStatus` attribute, and only after answer publishes the
 * callee's audio and subscribes to everyone else's (mixed into the one stream a phone
 * line carries). Audio crosses at 8 kHz mono, G.711's rate; rtc-node resamples to Opus.
 */
import { EventEmitter } from 'node:events';
import {
  AudioFrame,
  AudioSource,
  AudioStream,
  DisconnectReason,
  LocalAudioTrack,
  Room,
  RoomEvent,
  TrackKind,
  TrackPublishOptions,
  TrackSource,
  type RemoteParticipant,
  type RemoteTrack,
  type RemoteTrackPublication,
} from '@livekit/rtc-node';
import { AccessToken } from 'livekit-server-sdk';
import type { Logger } from 'pino';
import { AudioMixer } from './audio-mixer.js';
import { FRAME_MS, SAMPLE_RATE_HZ } from './rtp.js';

/** Values of the `sip.callStatus` attribute, as livekit-sip sets them. */
export type SipCallStatus = 'dialing' | 'ringing' | 'active' | 'hangup';

/**
 * Participant attribute names livekit-sip uses (livekit/protocol attrs.go), and
 * `sip.direction`, which is Kickcall's own.
 */
export const sipAttributes = {
  callId: 'sip.callID',
  callIdFull: 'sip.callIDFull',
  callStatus: 'sip.callStatus',
  trunkPhoneNumber: 'sip.trunkPhoneNumber',
  phoneNumber: 'sip.phoneNumber',
  trunkId: 'sip.trunkID',
  ruleId: 'sip.ruleID',
  direction: 'sip.direction',
} as const;

/**
 * Frames (20 ms each) waiting for the AudioSource before callee audio is dropped (a stalled
 * room). A second: after an event-loop stall RTP arrives in a burst, and dropping part of
 * it would cut words (and the test callers' tone codes) out of what the callee said.
 */
const MAX_PENDING_CAPTURES = 50;

export interface RoomBridgeOptions {
  wsUrl: string;
  apiKey: string;
  apiSecret: string;
  roomName: string;
  identity: string;
  name?: string;
  metadata?: string;
  /** Initial attributes, including the sip.* ones. */
  attributes: Record<string, string>;
  logger: Logger;
  /** Token lifetime; a call longer than this keeps its connection, only rejoin would fail. Default 6 h. */
  tokenTtlS?: number;
}

interface RoomBridgeEvents {
  /** The room connection ended without us leaving: removed, room deleted, server gone. */
  closed: [reason: string];
}

export class RoomBridge extends EventEmitter<RoomBridgeEvents> {
  private readonly room = new Room();
  private readonly mixer = new AudioMixer(SAMPLE_RATE_HZ);
  private source: AudioSource | undefined;
  private mediaStarted = false;
  private leaving = false;
  private pendingCaptures = 0;
  private captureChain: Promise<void> = Promise.resolve();
  private readonly readers = new Set<ReadableStreamDefaultReader<AudioFrame>>();
  private readonly log: Logger;

  constructor(private readonly opts: RoomBridgeOptions) {
    super();
    this.log = opts.logger;
  }

  /** Joins the room as a SIP participant (kind SIP via the token). */
  async connect(): Promise<void> {
    const token = new AccessToken(this.opts.apiKey, this.opts.apiSecret, {
      identity: this.opts.identity,
      ttl: this.opts.tokenTtlS ?? 6 * 3600,
      attributes: this.opts.attributes,
      ...(this.opts.name ? { name: this.opts.name } : {}),
      ...(this.opts.metadata ? { metadata: this.opts.metadata } : {}),
    });
    token.kind = 'sip';
    token.addGrant({
      roomJoin: true,
      room: this.opts.roomName,
      canPublish: true,
      canSubscribe: true,
      canPublishData: true,
      // sip.callStatus is updated by the participant itself.
      canUpdateOwnMetadata: true,
    });
    this.room.on(RoomEvent.Disconnected, (reason) => {
      if (this.leaving) return;
      this.log.info({ reason: DisconnectReason[reason] }, 'removed from room');
      this.emit('closed', DisconnectReason[reason] ?? String(reason));
    });
    this.room.on(RoomEvent.TrackPublished, (publication, participant) => this.maybeSubscribe(publication, participant));
    this.room.on(RoomEvent.TrackSubscribed, (track, publication, participant) => this.onTrackSubscribed(track, publication, participant));
    // Subscriptions start only after answer, as in livekit-sip: nothing to play before.
    await this.room.connect(this.opts.wsUrl, await token.toJwt(), { autoSubscribe: false, dynacast: false });
  }

  get connected(): boolean {
    return this.room.isConnected;
  }

  async setCallStatus(status: SipCallStatus): Promise<void> {
    if (!this.room.isConnected) return;
    await this.room.localParticipant?.setAttributes({ [sipAttributes.callStatus]: status });
  }

  /** After answer: publish the callee's audio and subscribe to every audio track in the room. */
  async startMedia(): Promise<void> {
    if (this.mediaStarted) return;
    this.mediaStarted = true;
    const local = this.room.localParticipant;
    if (!local) throw new Error('room not connected');
    this.source = new AudioSource(SAMPLE_RATE_HZ, 1);
    const track = LocalAudioTrack.createAudioTrack(this.opts.identity, this.source);
    await local.publishTrack(track, new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }));
    for (const participant of this.room.remoteParticipants.values()) {
      for (const publication of participant.trackPublications.values()) {
        this.maybeSubscribe(publication, participant);
      }
    }
  }

  /** Callee audio from RTP, 8 kHz PCM. Dropped when the room falls behind. */
  pushCalleeAudio(samples: Int16Array): void {
    const source = this.source;
    if (!source || this.leaving) return;
    if (this.pendingCaptures >= MAX_PENDING_CAPTURES) return;
    this.pendingCaptures++;
    const frame = new AudioFrame(samples, SAMPLE_RATE_HZ, 1, samples.length);
    // captureFrame must not run concurrently: chain the calls in arrival order.
    this.captureChain = this.captureChain
      .then(() => source.captureFrame(frame))
      .catch((err: unknown) => this.log.debug({ err }, 'audio capture failed'))
      .finally(() => this.pendingCaptures--);
  }

  /** The room's mixed audio for the phone, `samples` at 8 kHz. */
  pullRoomAudio(samples: number): Int16Array {
    return this.mixer.pull(samples);
  }

  /** Leaves the room, first setting `sip.callStatus` when given. Idempotent. */
  async leave(finalStatus?: SipCallStatus): Promise<void> {
    if (this.leaving) return;
    if (finalStatus && this.room.isConnected) {
      await this.setCallStatus(finalStatus).catch((err: unknown) => this.log.debug({ err }, 'status update failed'));
    }
    this.leaving = true;
    for (const reader of this.readers) await reader.cancel().catch(() => undefined);
    this.readers.clear();
    // Leave first, then close the source: closing a source whose track is still
    // published corrupts rtc-node's native heap (see test/integration/livekit.test.ts).
    await this.room.disconnect().catch((err: unknown) => this.log.debug({ err }, 'room disconnect failed'));
    // Captures still queued finish first (bounded: a stalled native side must not stall a hangup).
    await Promise.race([this.captureChain, new Promise((resolve) => setTimeout(resolve, 500).unref())]);
    await this.source?.close().catch(() => undefined);
  }

  private maybeSubscribe(publication: RemoteTrackPublication, participant: RemoteParticipant): void {
    if (!this.mediaStarted || this.leaving) return;
    if (publication.kind !== TrackKind.KIND_AUDIO || publication.subscribed) return;
    this.log.debug({ participant: participant.identity }, 'subscribing to audio');
    publication.setSubscribed(true);
  }

  private onTrackSubscribed(track: RemoteTrack, publication: RemoteTrackPublication, participant: RemoteParticipant): void {
    if (track.kind !== TrackKind.KIND_AUDIO || this.leaving) return;
    const inputId = publication.sid ?? `${participant.identity}/${track.sid ?? ''}`;
    const stream = new AudioStream(track, { sampleRate: SAMPLE_RATE_HZ, numChannels: 1, frameSizeMs: FRAME_MS });
    // A reader (not for-await) so leave() can cancel it while a read is pending.
    const reader = stream.getReader();
    this.readers.add(reader);
    void (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          this.mixer.push(inputId, value.data);
        }
      } catch (err) {
        if (!this.leaving) this.log.debug({ err }, 'room audio stream failed');
      } finally {
        this.mixer.remove(inputId);
        this.readers.delete(reader);
      }
    })();
  }
}
