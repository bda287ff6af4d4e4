/**
 * G.711 µ-law (ITU-T G.711, the PCMU of RFC 3551): 16-bit linear PCM ↔ 8-bit codes.
 * Encoding follows the classic segment search with a bias of 0x84 and clipping at 32635;
 * decoding uses a 256-entry table built once, since it runs for every received sample.
 */

const BIAS = 0x84;
const CLIP = 32635;

/** Encodes one 16-bit sample to a µ-law byte. */
export function encodeMuLawSample(sample: number): number {
  let s = Math.max(-32768, Math.min(32767, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  // Exponent: position of the highest set bit above bit 7 (segments 0..7).
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  // µ-law codes are transmitted inverted so that silence is 0xFF, not 0x00.
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** Decodes one µ-law byte to a 16-bit sample. */
function decodeMuLawByte(code: number): number {
  const u = ~code & 0xff;
  const sign = u & 0x80;
  const exponent = (u >> 4) & 0x07;
  const mantissa = u & 0x0f;
  const magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
  return sign ? -magnitude : magnitude;
}

const decodeTable = Int16Array.from({ length: 256 }, (_, code) => decodeMuLawByte(code));

export function decodeMuLawSample(code: number): number {
  return decodeTable[code & 0xff] ?? 0;
}

/** Encodes 16-bit PCM to µ-law, one byte per sample. */
export function encodeMuLaw(samples: Int16Array): Uint8Array {
  const out = new Uint8Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = encodeMuLawSample(samples[i] ?? 0);
  return out;
}

/** Decodes µ-law bytes to 16-bit PCM. */
export function decodeMuLaw(codes: Uint8Array): Int16Array {
  const out = new Int16Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = decodeTable[codes[i] ?? 0xff] ?? 0;
  return out;
}
