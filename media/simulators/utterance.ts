/**
 * A caller's utterance as audio: the phrase's tone code, a short gap, then the phrase
 * spoken by espeak-ng, at the sample rate the caller publishes.
 */
import { concatSamples, rms } from '../audio.js';
import { renderToneCode, type ToneCodeTiming } from './dtmf.js';
import { speak, type SpeechOptions } from './espeak.js';
import type { Phrase } from './phrasebook.js';
import { resample } from './resample.js';

export interface UtteranceOptions extends SpeechOptions {
  /** Silence between the `#` tone and the first word (ms); default 150. */
  codeToSpeechGapMs?: number;
  /**
   * Longest pause kept inside the speech (ms); default 200. espeak pauses ~350 ms at a
   * full stop, which an STT endpointer would take for the end of the turn; people
   * reading a two-sentence line in one breath do not.
   */
  maxPauseMs?: number;
  tone?: Partial<ToneCodeTiming>;
}

/** RMS below which a 10 ms block counts as a pause (-50 dBFS). */
const PAUSE_RMS = 32767 * 10 ** (-50 / 20);

/**
 * Rendered utterances by phrase, rate and options. Resampling espeak's 22,050 Hz to the
 * publishing rate took about 200 ms of CPU per line (a V8 profile of the media benchmark,
 * 2026-12-07), paid again for every line of every simulated caller on the cores the agents
 * under test share, while the audio is the same each time.
 */
const UTTERANCE_CACHE_ENTRIES = 64;
const rendered = new Map<string, Promise<Int16Array>>();

/**
 * A phrase as the caller says it, at `sampleRate`. The samples are shared between callers
 * saying the same line: read them, never write.
 */
export function renderUtterance(phrase: Phrase, sampleRate: number, opts: UtteranceOptions = {}): Promise<Int16Array> {
  const key = JSON.stringify([phrase.code, phrase.text, sampleRate, opts]);
  const hit = rendered.get(key);
  if (hit) return hit;
  const job = render(phrase, sampleRate, opts);
  rendered.set(key, job);
  job.catch(() => {
    if (rendered.get(key) === job) rendered.delete(key);
  });
  while (rendered.size > UTTERANCE_CACHE_ENTRIES) rendered.delete(rendered.keys().next().value!);
  return job;
}

async function render(phrase: Phrase, sampleRate: number, opts: UtteranceOptions): Promise<Int16Array> {
  const speech = await speak(phrase.text, opts);
  const voiced = compressPauses(trimSilence(speech.samples, speech.sampleRate), speech.sampleRate, opts.maxPauseMs ?? 200);
  const speechAtRate = resample(voiced, speech.sampleRate, sampleRate);
  const code = renderToneCode(phrase.code, sampleRate, opts.tone);
  const gap = new Int16Array(Math.round((sampleRate * (opts.codeToSpeechGapMs ?? 150)) / 1000));
  const out = new Int16Array(code.length + gap.length + speechAtRate.length);
  out.set(code, 0);
  out.set(speechAtRate, code.length + gap.length);
  return out;
}

/** Drops leading and trailing silence (espeak pads both ends). */
export function trimSilence(samples: Int16Array, sampleRate: number): Int16Array {
  const block = Math.round(sampleRate / 100);
  let start = 0;
  while (start + block <= samples.length && rms(samples.subarray(start, start + block)) < PAUSE_RMS) start += block;
  let end = samples.length;
  while (end - block >= start && rms(samples.subarray(end - block, end)) < PAUSE_RMS) end -= block;
  return samples.slice(start, end);
}

/** Shortens every pause longer than `maxPauseMs` to exactly that. */
export function compressPauses(samples: Int16Array, sampleRate: number, maxPauseMs: number): Int16Array {
  const block = Math.round(sampleRate / 100);
  const maxPauseBlocks = Math.max(1, Math.round(maxPauseMs / 10));
  const kept: Int16Array[] = [];
  let quietRun = 0;
  for (let off = 0; off < samples.length; off += block) {
    const chunk = samples.subarray(off, Math.min(samples.length, off + block));
    quietRun = rms(chunk) < PAUSE_RMS ? quietRun + 1 : 0;
    if (quietRun <= maxPauseBlocks) kept.push(chunk);
  }
  return concatSamples(kept);
}
