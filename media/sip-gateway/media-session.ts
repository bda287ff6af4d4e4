/**
 * One call's RTP stream: a UDP socket from the port pool, PCMU in both directions.
 * Received packets are decoded and handed on as 8 kHz PCM; outgoing audio is pulled
 * from a source every 20 ms by a clock that sends silence when there is nothing to say,
 * as carriers drop calls whose media stops.
 */
import type dgram from 'node:dgram';
import { decodeMuLaw, encodeMuLaw } from './g711.js';
import { FRAME_MS, RtpPacketizer, SAMPLES_PER_FRAME, isNewerSequence, parseRtp } from './rtp.js';
import type { RtpPortPool } from './rtp-ports.js';
import type { NegotiatedMedia } from './sdp.js';

/** After a stall (event loop blocked), send at most this many frames to catch up. */
const MAX_CATCH_UP_FRAMES = 5;

export interface MediaStats {
  packetsReceived: number;
  packetsSent: number;
  packetsDropped: number;
}

export class MediaSession {
  readonly stats: MediaStats = { packetsReceived: 0, packetsSent: 0, packetsDropped: 0 };
  private remote: NegotiatedMedia | undefined;
  private packetizer: RtpPacketizer | undefined;
  private clock: NodeJS.Timeout | undefined;
  private lastSequence: number | undefined;
  private remoteSsrc: number | undefined;
  private audioHandler: ((samples: Int16Array) => void) | undefined;
  private closed = false;

  private constructor(
    private readonly socket: dgram.Socket,
    readonly address: string,
    readonly port: number,
  ) {
    socket.on('message', (data, rinfo) => this.onPacket(data, rinfo));
    socket.on('error', () => undefined);
  }

  static async open(pool: RtpPortPool): Promise<MediaSession> {
    const socket = await pool.bind();
    return new MediaSession(socket, pool.host, socket.address().port);
  }

  /** Where to send RTP, from the negotiated SDP. */
  setRemote(remote: NegotiatedMedia): void {
    this.remote = remote;
    if (!this.packetizer || this.packetizer.payloadType !== remote.audioPayloadType) {
      this.packetizer = new RtpPacketizer(remote.audioPayloadType);
    }
  }

  /** Receives decoded 8 kHz PCM, one packet's worth at a time. */
  onAudio(handler: (samples: Int16Array) => void): void {
    this.audioHandler = handler;
  }

  /** Starts the 20 ms send clock, pulling 160 samples of PCM per frame from `source`. */
  startSending(source: (samples: number) => Int16Array): void {
    if (this.clock || this.closed) return;
    const startedAt = performance.now();
    let framesSent = 0;
    this.clock = setInterval(() => {
      const due = Math.floor((performance.now() - startedAt) / FRAME_MS) + 1;
      if (due - framesSent > MAX_CATCH_UP_FRAMES) framesSent = due - MAX_CATCH_UP_FRAMES;
      while (framesSent < due) {
        this.sendFrame(source(SAMPLES_PER_FRAME));
        framesSent++;
      }
    }, FRAME_MS);
  }

  sendFrame(samples: Int16Array): void {
    if (this.closed || !this.remote || !this.packetizer) return;
    if (this.remote.direction === 'sendonly' || this.remote.direction === 'inactive') return;
    const packet = this.packetizer.packetize(encodeMuLaw(samples), samples.length);
    this.socket.send(packet, this.remote.remotePort, this.remote.remoteAddress);
    this.stats.packetsSent++;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.clock) clearInterval(this.clock);
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private onPacket(data: Buffer, _rinfo: dgram.RemoteInfo): void {
    if (!this.remote) return;
    let packet;
    try {
      packet = parseRtp(data);
    } catch {
      this.stats.packetsDropped++;
      return;
    }
    // Only the negotiated audio format is decoded; telephone-event is not forwarded yet.
    if (packet.header.payloadType !== this.remote.audioPayloadType) return;
    // A new SSRC is a new stream (re-INVITE, transfer): restart sequence tracking.
    if (packet.header.ssrc !== this.remoteSsrc) {
      this.remoteSsrc = packet.header.ssrc;
      this.lastSequence = undefined;
    }
    if (this.lastSequence !== undefined && !isNewerSequence(packet.header.sequenceNumber, this.lastSequence)) {
      this.stats.packetsDropped++;
      return;
    }
    this.lastSequence = packet.header.sequenceNumber;
    this.stats.packetsReceived++;
    this.audioHandler?.(decodeMuLaw(packet.payload));
  }
}
