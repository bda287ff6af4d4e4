/**
 * Audible speech from espeak-ng (Debian package, `/usr/bin/espeak-ng`). Used by the TTS
 * simulator for the agent's voice and by the caller simulator for the caller's voice.
 * espeak-ng writes 22,050 Hz mono 16-bit WAV; callers resample to what they need.
 *
 * Results are cached by voice, rate and text: campaigns and tests repeat the same lines,
 * and each espeak run costs tens of milliseconds of a shared CPU.
 */
import { spawn } from 'node:child_process';
import { parseWav, type PcmAudio } from './wav.js';

export interface SpeechOptions {
  /** espeak-ng voice, e.g. `en-us`, `en-us+f3`; default `en-us`. */
  voice?: string;
  /** Words per minute; default 175 (espeak's own default, close to conversational). */
  rateWpm?: number;
  /** Executable; default `espeak-ng` from PATH. */
  executable?: string;
  /** Kill espeak after this long (ms); default 10,000. */
  timeoutMs?: number;
}

export class SpeechSynthesisError extends Error {
  override readonly name = 'SpeechSynthesisError';
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const CACHE_ENTRIES = 128;
const cache = new Map<string, Promise<PcmAudio>>();

/** Synthesises `text`; resolves with 22,050 Hz samples. */
export function speak(text: string, opts: SpeechOptions = {}): Promise<PcmAudio> {
  const voice = opts.voice ?? 'en-us';
  const rateWpm = opts.rateWpm ?? 175;
  const key = `${voice}|${rateWpm}|${text}`;
  const hit = cache.get(key);
  if (hit) {
    // Refresh recency: Map iteration order is insertion order.
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const job = runEspeak(text, voice, rateWpm, opts.executable ?? 'espeak-ng', opts.timeoutMs ?? 10_000);
  cache.set(key, job);
  job.catch(() => {
    if (cache.get(key) === job) cache.delete(key);
  });
  while (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  return job;
}

function runEspeak(text: string, voice: string, rateWpm: number, executable: string, timeoutMs: number): Promise<PcmAudio> {
  return new Promise((resolve, reject) => {
    // Text goes through stdin so nothing in it is ever parsed as an option.
    const child = spawn(executable, ['--stdout', '--stdin', '-v', voice, '-s', String(rateWpm)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new SpeechSynthesisError('espeak-ng could not be started', { cause: err }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new SpeechSynthesisError(`espeak-ng exited with ${code ?? signal}`, { cause: stderr.trim() }));
        return;
      }
      try {
        const { samples, sampleRate } = parseWav(Buffer.concat(chunks));
        resolve({ samples, sampleRate });
      } catch (err) {
        reject(new SpeechSynthesisError('espeak-ng produced unreadable audio', { cause: err }));
      }
    });
    child.stdin.end(text);
  });
}

/**
 * Maps a Deepgram Aura model name to an espeak voice, so different agent voices sound
 * different. Aura-2 names carry the speaker (`aura-2-andromeda-en`); a few variants cover
 * them deterministically.
 */
export function voiceForModel(model: string): string {
  const variants = ['en-us+f3', 'en-us+m3', 'en-us+f2', 'en-us+m1', 'en-us+f4', 'en-us+m7'];
  let hash = 0;
  for (const ch of model) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return variants[hash % variants.length]!;
}
