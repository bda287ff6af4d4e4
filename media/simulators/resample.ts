/**
 * Band-limited resampling by windowed-sinc interpolation. espeak-ng always produces
 * 22,050 Hz; callers ask for 8, 16, 24 or 48 kHz. Plain linear interpolation would fold
 * espeak's energy above the new Nyquist back into the band (audible hiss, and false
 * energy in the DTMF bands), so the kernel's cutoff follows the lower of the two rates.
 */

/** Half-width of the kernel in input samples at unity ratio; 16 keeps CPU light. */
const HALF_TAPS = 16;

export function resample(input: Int16Array, fromRate: number, toRate: number): Int16Array {
  if (fromRate === toRate) return input.slice();
  if (input.length === 0) return new Int16Array(0);
  const ratio = toRate / fromRate;
  // Cutoff in cycles per input sample, a little under Nyquist for the transition band.
  const cutoff = 0.5 * Math.min(1, ratio) * 0.94;
  const halfWidth = Math.ceil(HALF_TAPS / Math.min(1, ratio));
  const outLength = Math.floor((input.length * toRate) / fromRate);
  const out = new Int16Array(outLength);
  for (let n = 0; n < outLength; n++) {
    const t = n / ratio;
    const center = Math.floor(t);
    let acc = 0;
    let weight = 0;
    for (let k = center - halfWidth + 1; k <= center + halfWidth; k++) {
      if (k < 0 || k >= input.length) continue;
      const d = t - k;
      const x = 2 * cutoff * d;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      // Hann window over the kernel span.
      const w = 0.5 + 0.5 * Math.cos((Math.PI * d) / halfWidth);
      const h = sinc * w;
      acc += (input[k] ?? 0) * h;
      weight += h;
    }
    // Normalising by the summed weights keeps DC gain at 1 at the buffer edges too.
    const v = weight === 0 ? 0 : acc / weight;
    out[n] = Math.max(-32768, Math.min(32767, Math.round(v)));
  }
  return out;
}
