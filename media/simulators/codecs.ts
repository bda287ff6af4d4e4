/**
 * Sample encodings the simulators speak on the wire: 16-bit linear PCM and G.711 µ-law /
 * A-law, as Deepgram accepts them for streaming STT and produces them for TTS. The G.711
 * tables follow ITU-T G.711 (the same bit layout telephony gateways use), written here so
 * the simulators depend on nothing outside this folder.
 */

export type SampleEncoding = 'linear16' | 'mulaw' | 'alaw';
export const sampleEncodings: readonly SampleEncoding[] = ['linear16', 'mulaw', 'alaw'];

export function isSampleEncoding(value: string): value is SampleEncoding {
  return (sampleEncodings as readonly string[]).includes(value);
}

/** Bytes one sample occupies on the wire. */
export function bytesPerSample(encoding: SampleEncoding): number {
  return encoding === 'linear16' ? 2 : 1;
}

const MULAW_BIAS = 0x84;
const MULAW_CLIP = 32635;

export function mulawEncodeSample(sample: number): number {
  let s = Math.max(-32768, Math.min(32767, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > MULAW_CLIP) s = MULAW_CLIP;
  s += MULAW_BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

export function mulawDecodeSample(byte: number): number {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + MULAW_BIAS) << exponent) - MULAW_BIAS;
  return u & 0x80 ? -magnitude : magnitude;
}

export function alawEncodeSample(sample: number): number {
  let s = Math.max(-32768, Math.min(32767, Math.round(sample)));
  const sign = s >= 0 ? 0x80 : 0;
  if (s < 0) s = -s - 1;
  if (s > 32767) s = 32767;
  let byte: number;
  if (s < 256) {
    byte = s >> 4;
  } else {
    let exponent = 7;
    for (let mask = 0x4000; (s & mask) === 0 && exponent > 1; mask >>= 1) exponent--;
    byte = (exponent << 4) | ((s >> (exponent + 3)) & 0x0f);
  }
  return (byte | sign) ^ 0x55;
}

export function alawDecodeSample(byte: number): number {
  const a = byte ^ 0x55;
  const exponent = (a >> 4) & 0x07;
  let magnitude = (a & 0x0f) << 4;
  magnitude = exponent === 0 ? magnitude + 8 : (magnitude + 0x108) << (exponent - 1);
  return a & 0x80 ? magnitude : -magnitude;
}

/** Encodes 16-bit samples into wire bytes of the given encoding. */
export function encodeSamples(samples: Int16Array, encoding: SampleEncoding): Buffer {
  if (encoding === 'linear16') {
    const out = Buffer.alloc(samples.length * 2);
    for (let i = 0; i < samples.length; i++) out.writeInt16LE(samples[i] ?? 0, i * 2);
    return out;
  }
  const encode = encoding === 'mulaw' ? mulawEncodeSample : alawEncodeSample;
  const out = Buffer.alloc(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = encode(samples[i] ?? 0);
  return out;
}

/**
 * Decodes wire bytes into 16-bit samples. For linear16 an odd trailing byte cannot be a
 * sample; the caller keeps it (see `SampleDecoder`) rather than losing alignment.
 */
export function decodeSamples(bytes: Uint8Array, encoding: SampleEncoding): Int16Array {
  if (encoding === 'linear16') {
    const n = Math.floor(bytes.length / 2);
    const out = new Int16Array(n);
    const view = new DataView(bytes.buffer, bytes.byteOffset, n * 2);
    for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true);
    return out;
  }
  const decode = encoding === 'mulaw' ? mulawDecodeSample : alawDecodeSample;
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = decode(bytes[i] ?? 0);
  return out;
}

/**
 * Streaming decoder for a mono or interleaved multi-channel byte stream: WebSocket
 * messages split samples anywhere, so a partial sample is carried to the next chunk.
 * Multi-channel input is mixed down to mono (the simulator transcribes one voice).
 */
export class SampleDecoder {
  #pending = Buffer.alloc(0);
  constructor(
    readonly encoding: SampleEncoding,
    readonly channels = 1,
  ) {}

  push(chunk: Uint8Array): Int16Array {
    const frameBytes = bytesPerSample(this.encoding) * this.channels;
    const joined = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : Buffer.from(chunk);
    const usable = joined.length - (joined.length % frameBytes);
    this.#pending = Buffer.from(joined.subarray(usable));
    const interleaved = decodeSamples(joined.subarray(0, usable), this.encoding);
    if (this.channels === 1) return interleaved;
    const frames = interleaved.length / this.channels;
    const mono = new Int16Array(frames);
    for (let f = 0; f < frames; f++) {
      let sum = 0;
      for (let c = 0; c < this.channels; c++) sum += interleaved[f * this.channels + c] ?? 0;
      mono[f] = Math.round(sum / this.channels);
    }
    return mono;
  }
}
