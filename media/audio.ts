/**
 * Small PCM helpers shared by the media loop, the caller simulator and tests. Audio is
 * signed 16-bit little-endian mono unless a name says otherwise.
 */

/** The parts one after another, as one buffer. */
export function concatSamples(parts: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** Root-mean-square level of 16-bit samples, 0 (silence) to 32767 (full scale). */
export function rms(samples: Int16Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (const s of samples) sum += s * s;
  return Math.sqrt(sum / samples.length);
}

/** Level in dBFS (0 = full scale); silence is -Infinity. */
export function dbfs(samples: Int16Array): number {
  return 20 * Math.log10(rms(samples) / 32767);
}

/**
 * A continuous sine tone generator: each call returns the next `frameMs` of audio, phase
 * carried across frames so concatenated frames have no clicks.
 */
export function createToneGenerator(opts: { frequencyHz: number; sampleRate: number; amplitude?: number }) {
  const amplitude = Math.round((opts.amplitude ?? 0.5) * 32767);
  const step = (2 * Math.PI * opts.frequencyHz) / opts.sampleRate;
  let phase = 0;
  return (frameMs: number): Int16Array => {
    const n = Math.round((opts.sampleRate * frameMs) / 1000);
    const out = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = Math.round(amplitude * Math.sin(phase));
      phase += step;
    }
    phase %= 2 * Math.PI;
    return out;
  };
}
