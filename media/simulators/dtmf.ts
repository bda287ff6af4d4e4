/**
 * In-band DTMF: how the caller simulator tells the STT simulator which phrase it is
 * saying, through the audio itself.
 *
 * Every caller utterance starts with a tone code `*` + digits + `#` (each tone
 * `toneMs` long, `gapMs` apart, both frequencies together peaking at `levelDbfs`). The
 * STT simulator runs a Goertzel detector over the audio it actually receives — after
 * Opus, µ-law, resampling or added noise — and looks the code up in the phrasebook.
 * Nothing travels on a side channel: if the audio is lost or mangled, the transcript is.
 *
 * Detector: 20 ms blocks hopped every 10 ms. A block holds a key when one row and one
 * column frequency carry most of the block's energy, each clearly above its rivals and
 * within 8 dB of each other (standard DTMF twist). A key counts once it is seen in three
 * consecutive hops and is released by a hop without it, so a 70 ms tone with a 40 ms gap
 * is one press and ordinary speech (broadband, shifting) almost never forms one.
 */

const ROW_HZ = [697, 770, 852, 941] as const;
const COL_HZ = [1209, 1336, 1477, 1633] as const;
const KEYPAD = ['123A', '456B', '789C', '*0#D'] as const;

export type DtmfKey = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | '*' | '#' | 'A' | 'B' | 'C' | 'D';

export interface ToneCodeTiming {
  /** Length of each tone (ms); default 70. */
  toneMs: number;
  /** Silence between tones (ms); default 40. */
  gapMs: number;
  /** Peak level of the two summed sines (dBFS); default -10. */
  levelDbfs: number;
}

export const defaultToneCodeTiming: ToneCodeTiming = { toneMs: 70, gapMs: 40, levelDbfs: -10 };

function keyFrequencies(key: DtmfKey): [number, number] {
  for (let r = 0; r < KEYPAD.length; r++) {
    const c = KEYPAD[r]!.indexOf(key);
    if (c >= 0) return [ROW_HZ[r]!, COL_HZ[c]!];
  }
  throw new RangeError(`not a DTMF key: ${key}`);
}

/** The key sequence for a phrase code: `*`, its digits, `#`. */
export function toneCodeKeys(code: string): DtmfKey[] {
  if (!/^[0-9]{1,6}$/.test(code)) throw new RangeError(`tone codes are 1-6 digits, got "${code}"`);
  return ['*', ...(code.split('') as DtmfKey[]), '#'];
}

/** Renders DTMF keys as 16-bit audio: tone, gap, tone, gap, ... (ends after the last gap). */
export function renderDtmf(keys: readonly DtmfKey[], sampleRate: number, timing: Partial<ToneCodeTiming> = {}): Int16Array {
  const { toneMs, gapMs, levelDbfs } = { ...defaultToneCodeTiming, ...timing };
  const toneSamples = Math.round((sampleRate * toneMs) / 1000);
  const gapSamples = Math.round((sampleRate * gapMs) / 1000);
  // Each sine gets half the peak so the sum never exceeds the requested level.
  const amplitude = (32767 * 10 ** (levelDbfs / 20)) / 2;
  // A 3 ms raised-cosine ramp avoids clicks, whose broadband energy would look like speech.
  const ramp = Math.max(1, Math.round(sampleRate * 0.003));
  const out = new Int16Array(keys.length * (toneSamples + gapSamples));
  keys.forEach((key, k) => {
    const [low, high] = keyFrequencies(key);
    const base = k * (toneSamples + gapSamples);
    for (let i = 0; i < toneSamples; i++) {
      const edge = Math.min(i, toneSamples - 1 - i);
      const env = edge >= ramp ? 1 : 0.5 - 0.5 * Math.cos((Math.PI * edge) / ramp);
      const t = i / sampleRate;
      out[base + i] = Math.round(env * amplitude * (Math.sin(2 * Math.PI * low * t) + Math.sin(2 * Math.PI * high * t)));
    }
  });
  return out;
}

/** The audio of a phrase's tone code. */
export function renderToneCode(code: string, sampleRate: number, timing: Partial<ToneCodeTiming> = {}): Int16Array {
  return renderDtmf(toneCodeKeys(code), sampleRate, timing);
}

function goertzelEnergy(block: Float64Array, freqHz: number, sampleRate: number): number {
  const coeff = 2 * Math.cos((2 * Math.PI * freqHz) / sampleRate);
  let s1 = 0;
  let s2 = 0;
  for (const x of block) {
    const s0 = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  // |X|² of a sine with amplitude A over N samples is (A·N/2)²; its energy Σx² is A²·N/2.
  return (2 * power) / block.length;
}

/** Minimum block RMS for a key: -45 dBFS, far below the -10 dBFS the caller sends. */
const MIN_KEY_RMS = 32767 * 10 ** (-45 / 20);
/** Share of block energy the two tones must hold; speech spreads its energy wider. */
const MIN_TONE_SHARE = 0.55;
/** A winning row/column must beat the runner-up by this energy ratio (~7 dB). */
const MIN_RIVAL_RATIO = 5;
/** Allowed twist between row and column energy (8 dB). */
const MAX_TWIST_RATIO = 6.3;

/** Detects the key (if any) that dominates one block of samples. */
export function detectKey(block: Float64Array, sampleRate: number): DtmfKey | null {
  let energy = 0;
  for (const x of block) energy += x * x;
  if (block.length === 0 || Math.sqrt(energy / block.length) < MIN_KEY_RMS) return null;
  const rows = ROW_HZ.map((f) => goertzelEnergy(block, f, sampleRate));
  const cols = COL_HZ.map((f) => goertzelEnergy(block, f, sampleRate));
  const pick = (bands: number[]) => {
    const order = bands.map((e, i) => [e, i] as const).sort((a, b) => b[0] - a[0]);
    return { best: order[0]!, second: order[1]! };
  };
  const r = pick(rows);
  const c = pick(cols);
  if (r.best[0] < MIN_RIVAL_RATIO * r.second[0] || c.best[0] < MIN_RIVAL_RATIO * c.second[0]) return null;
  if (r.best[0] > MAX_TWIST_RATIO * c.best[0] || c.best[0] > MAX_TWIST_RATIO * r.best[0]) return null;
  if (r.best[0] + c.best[0] < MIN_TONE_SHARE * energy) return null;
  return KEYPAD[r.best[1]]![c.best[1]] as DtmfKey;
}

export interface DtmfHop {
  /** The key present in this hop's block, if any (raw, before debouncing). */
  key: DtmfKey | null;
  /** A key press completed debouncing in this hop. */
  pressed: DtmfKey | null;
}

/**
 * Streaming Goertzel detector. Feed any amount of audio; it works in 10 ms hops over
 * 20 ms blocks and reports debounced key presses.
 */
export class DtmfDetector {
  readonly hopSamples: number;
  readonly blockSamples: number;
  #window: Float64Array;
  #filled = 0;
  #candidate: DtmfKey | null = null;
  #candidateHops = 0;
  #held: DtmfKey | null = null;

  constructor(readonly sampleRate: number) {
    this.hopSamples = Math.round(sampleRate / 100);
    this.blockSamples = this.hopSamples * 2;
    this.#window = new Float64Array(this.blockSamples);
  }

  /** Processes exactly one hop of samples (`hopSamples` long). */
  pushHop(hop: Int16Array): DtmfHop {
    // Slide the 20 ms window by one hop.
    this.#window.copyWithin(0, this.hopSamples);
    for (let i = 0; i < this.hopSamples; i++) this.#window[this.hopSamples + i] = hop[i] ?? 0;
    this.#filled = Math.min(this.blockSamples, this.#filled + this.hopSamples);
    const key = this.#filled < this.blockSamples ? null : detectKey(this.#window, this.sampleRate);
    let pressed: DtmfKey | null = null;
    if (key !== null && key === this.#candidate) {
      this.#candidateHops++;
    } else {
      this.#candidate = key;
      this.#candidateHops = key === null ? 0 : 1;
    }
    // Any hop without the held key releases it, so the same digit twice needs a gap.
    if (key !== this.#held) this.#held = null;
    if (this.#candidate !== null && this.#candidateHops >= 3 && this.#held === null) {
      this.#held = this.#candidate;
      pressed = this.#candidate;
    }
    return { key, pressed };
  }
}

/**
 * Assembles key presses into tone codes (`*`, 1-6 digits, `#`). A code that stalls for
 * longer than `interKeyTimeoutMs` between presses is abandoned, so a stray `*` in noise
 * does not swallow the next real code.
 */
export class ToneCodeAssembler {
  #digits: string | null = null;
  #lastPressMs = 0;

  constructor(readonly interKeyTimeoutMs = 400) {}

  /** True while a code has started (`*` seen) and not yet completed or timed out. */
  inProgress(nowMs: number): boolean {
    return this.#digits !== null && nowMs - this.#lastPressMs <= this.interKeyTimeoutMs;
  }

  /** Forgets a code in progress: a new utterance's keys are its own. */
  reset(): void {
    this.#digits = null;
  }

  /**
   * The digits of a code whose `#` never came, once it has stalled past the inter-key
   * timeout; null otherwise. Taking them ends the code.
   */
  takeStalled(nowMs: number): string | null {
    if (this.#digits === null || this.#digits === '' || this.inProgress(nowMs)) return null;
    const digits = this.#digits;
    this.#digits = null;
    return digits;
  }

  /** Feeds one press at audio time `nowMs`; returns the completed code, if any. */
  press(key: DtmfKey, nowMs: number): string | null {
    if (this.#digits !== null && nowMs - this.#lastPressMs > this.interKeyTimeoutMs) this.#digits = null;
    this.#lastPressMs = nowMs;
    if (key === '*') {
      this.#digits = '';
      return null;
    }
    if (this.#digits === null) return null;
    if (key === '#') {
      const code = this.#digits;
      this.#digits = null;
      return code.length > 0 ? code : null;
    }
    if (/[0-9]/.test(key) && this.#digits.length < 6) {
      this.#digits += key;
      return null;
    }
    this.#digits = null;
    return null;
  }
}

/** Decodes every complete tone code in a buffer (used by tests and the REST endpoint). */
export function decodeToneCodes(samples: Int16Array, sampleRate: number): string[] {
  const detector = new DtmfDetector(sampleRate);
  const assembler = new ToneCodeAssembler();
  const codes: string[] = [];
  for (let off = 0; off + detector.hopSamples <= samples.length; off += detector.hopSamples) {
    const { pressed } = detector.pushHop(samples.subarray(off, off + detector.hopSamples));
    if (pressed) {
      const code = assembler.press(pressed, (off / sampleRate) * 1000);
      if (code !== null) codes.push(code);
    }
  }
  return codes;
}
