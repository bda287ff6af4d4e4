/**
 * RTP (RFC 3550) packets for one audio stream: fixed 12-byte header out, any valid header
 * in (CSRCs, extension and padding are skipped). Audio is 20 ms frames at 8 kHz.
 */
import { randomInt } from 'node:crypto';

export const RTP_VERSION = 2;
/** Samples per 20 ms frame at 8 kHz: also the timestamp step between frames. */
export const SAMPLES_PER_FRAME = 160;
export const FRAME_MS = 20;
export const SAMPLE_RATE_HZ = 8000;

export interface RtpHeader {
  version: number;
  padding: boolean;
  extension: boolean;
  csrcCount: number;
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
}

export interface RtpPacket {
  header: RtpHeader;
  payload: Uint8Array;
}

export class RtpParseError extends Error {
  override readonly name = 'RtpParseError';
  readonly retryable = false;
}

/** Serialises a packet with a 12-byte header (no CSRCs, no extension, no padding). */
export function serializeRtp(p: { marker?: boolean; payloadType: number; sequenceNumber: number; timestamp: number; ssrc: number; payload: Uint8Array }): Buffer {
  const buf = Buffer.allocUnsafe(12 + p.payload.length);
  buf[0] = RTP_VERSION << 6;
  buf[1] = ((p.marker ? 1 : 0) << 7) | (p.payloadType & 0x7f);
  buf.writeUInt16BE(p.sequenceNumber & 0xffff, 2);
  buf.writeUInt32BE(p.timestamp >>> 0, 4);
  buf.writeUInt32BE(p.ssrc >>> 0, 8);
  buf.set(p.payload, 12);
  return buf;
}

export function parseRtp(data: Buffer): RtpPacket {
  if (data.length < 12) throw new RtpParseError('packet shorter than an RTP header');
  const b0 = data[0] ?? 0;
  const b1 = data[1] ?? 0;
  const version = b0 >> 6;
  if (version !== RTP_VERSION) throw new RtpParseError('not RTP version 2');
  const header: RtpHeader = {
    version,
    padding: (b0 & 0x20) !== 0,
    extension: (b0 & 0x10) !== 0,
    csrcCount: b0 & 0x0f,
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber: data.readUInt16BE(2),
    timestamp: data.readUInt32BE(4),
    ssrc: data.readUInt32BE(8),
  };
  let offset = 12 + header.csrcCount * 4;
  if (header.extension) {
    if (data.length < offset + 4) throw new RtpParseError('truncated header extension');
    offset += 4 + data.readUInt16BE(offset + 2) * 4;
  }
  let end = data.length;
  if (header.padding) end -= data[data.length - 1] ?? 0;
  if (offset > end) throw new RtpParseError('truncated packet');
  return { header, payload: data.subarray(offset, end) };
}

/**
 * Numbers outgoing packets of one stream. Sequence number and timestamp start at random
 * values (RFC 3550 §5.1) and the timestamp advances by the samples in each frame, also
 * across silence, so the receiver's clock stays right.
 */
export class RtpPacketizer {
  readonly ssrc: number;
  private sequenceNumber: number;
  private timestamp: number;
  private first = true;

  constructor(
    readonly payloadType: number,
    init: { ssrc?: number; sequenceNumber?: number; timestamp?: number } = {},
  ) {
    this.ssrc = init.ssrc ?? randomInt(0, 2 ** 32 - 1);
    this.sequenceNumber = init.sequenceNumber ?? randomInt(0, 0xffff);
    this.timestamp = init.timestamp ?? randomInt(0, 2 ** 32 - 1);
  }

  /** The next packet for `payload`, which carries `samples` samples. */
  packetize(payload: Uint8Array, samples: number = payload.length): Buffer {
    const packet = serializeRtp({
      // The marker flags the first packet of a talkspurt; the stream's start is one.
      marker: this.first,
      payloadType: this.payloadType,
      sequenceNumber: this.sequenceNumber,
      timestamp: this.timestamp,
      ssrc: this.ssrc,
      payload,
    });
    this.first = false;
    this.sequenceNumber = (this.sequenceNumber + 1) & 0xffff;
    this.timestamp = (this.timestamp + samples) >>> 0;
    return packet;
  }
}

/**
 * Whether `seq` is newer than `last` in 16-bit wrap-around arithmetic (RFC 3550 A.1):
 * late or duplicate packets are dropped rather than played out of order.
 */
export function isNewerSequence(seq: number, last: number): boolean {
  const delta = (seq - last) & 0xffff;
  return delta !== 0 && delta < 0x8000;
}
