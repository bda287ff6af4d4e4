/**
 * `/v1/speak`: Deepgram Aura TTS over REST (one text → one audio body) and WebSocket
 * (Speak/Flush/Clear/Close → binary audio, Flushed, Cleared, Metadata, Warning).
 * Speech is real audio from espeak-ng, converted to the requested encoding and rate, and
 * streamed in chunks faster than real time after the configured time to first byte.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import { z } from 'zod';
import { encodeSamples, type SampleEncoding } from './codecs.js';
import { modelUuid, parseSpeakParams, SIM_MODEL_VERSION, type SpeakParams } from './deepgram-wire.js';
import { speak, voiceForModel } from './espeak.js';
import { delay, HttpError, rawDataBuffer, readJson } from './http.js';
import { resample } from './resample.js';
import type { Fault } from './sim-control.js';

export interface SpeakContext {
  logger: Logger;
  settings: () => { ttsFirstByteMs: number; ttsSpeedFactor: number };
  count: (stat: string, by?: number) => void;
}

/** Deepgram's per-request text limit for Aura. */
export const MAX_SPEAK_CHARS = 2000;
/** Audio per outgoing chunk (ms); Deepgram's chunks are of this order. */
const CHUNK_MS = 50;

/**
 * Wire audio per espeak result, by rate and encoding. espeak's results are cached by text
 * (espeak.ts), and an agent says the same sentences on every call; converting one to the
 * wire rate again cost 30–50 ms of CPU per sentence per call, spent on the same cores as the
 * agents under test. A provider's compute is not the pipeline's: what the simulator owes a
 * benchmark is the injected first-byte latency (`firstByte`). Keyed weakly, so an entry
 * goes with the espeak result it was made from.
 */
const wireAudio = new WeakMap<object, Map<string, Synthesised>>();

/** Synthesises text into wire bytes at the requested encoding and rate. The bytes are shared: read them, never write. */
export async function synthesize(text: string, params: SpeakParams): Promise<Synthesised> {
  const speech = await speak(text, { voice: voiceForModel(params.model) });
  const key = `${params.sampleRate}|${params.encoding}`;
  let byFormat = wireAudio.get(speech);
  if (!byFormat) wireAudio.set(speech, (byFormat = new Map<string, Synthesised>()));
  const cached = byFormat.get(key);
  if (cached) return cached;
  const samples = resample(speech.samples, speech.sampleRate, params.sampleRate);
  const result = { bytes: encodeSamples(samples, params.encoding), audioSeconds: samples.length / params.sampleRate };
  byFormat.set(key, result);
  return result;
}

function chunkBytes(params: SpeakParams): number {
  return Math.round((params.sampleRate * CHUNK_MS) / 1000) * (params.encoding === 'linear16' ? 2 : 1);
}

/** Waits out the first-byte latency: at least the configured time, never less than synthesis takes. */
async function firstByte<T>(work: Promise<T>, minMs: number, signal?: AbortSignal): Promise<T> {
  const [result] = await Promise.all([work, delay(minMs, signal)]);
  return result;
}

/** Streams `bytes` in chunks, `speedFactor` times faster than real time (0 = no pacing). */
async function pace(
  bytes: Buffer,
  params: SpeakParams,
  speedFactor: number,
  write: (chunk: Buffer) => boolean,
  signal?: AbortSignal,
): Promise<void> {
  const size = chunkBytes(params);
  const intervalMs = speedFactor > 0 ? CHUNK_MS / speedFactor : 0;
  const started = Date.now();
  for (let off = 0, i = 0; off < bytes.length; off += size, i++) {
    if (signal?.aborted) return;
    if (!write(bytes.subarray(off, off + size))) return;
    const dueMs = started + (i + 1) * intervalMs;
    await delay(dueMs - Date.now(), signal);
  }
}

function wavHeader(dataBytes: number, params: SpeakParams): Buffer {
  const formats: Record<SampleEncoding, number> = { linear16: 1, alaw: 6, mulaw: 7 };
  const bytesPerSample = params.encoding === 'linear16' ? 2 : 1;
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVEfmt ', 8, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(formats[params.encoding], 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(params.sampleRate, 24);
  h.writeUInt32LE(params.sampleRate * bytesPerSample, 28);
  h.writeUInt16LE(bytesPerSample, 32);
  h.writeUInt16LE(bytesPerSample * 8, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

const speakBodySchema = z.object({ text: z.string() });

/** REST `POST /v1/speak`. */
export async function handleSpeakRest(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  requestId: string,
  ctx: SpeakContext,
  fault: Fault | undefined,
): Promise<void> {
  const params = parseSpeakParams(query, true);
  const parsed = speakBodySchema.safeParse(await readJson(req));
  if (!parsed.success) throw new HttpError(400, 'body must be {"text": string}');
  const text = parsed.data.text;
  if (text.trim() === '') throw new HttpError(400, 'text must not be empty');
  if (text.length > MAX_SPEAK_CHARS) throw new HttpError(413, `text exceeds ${MAX_SPEAK_CHARS} characters`);
  ctx.count('speakCharacters', text.length);
  const settings = ctx.settings();
  const extraMs = fault?.kind === 'slow_first_token' ? fault.delayMs : 0;
  const { bytes, audioSeconds } = await firstByte(synthesize(text, params), settings.ttsFirstByteMs + extraMs);
  ctx.count('speakAudioSeconds', audioSeconds);
  res.writeHead(200, {
    'content-type': params.container === 'wav' ? 'audio/wav' : 'application/octet-stream',
    'dg-request-id': requestId,
    'dg-model-name': params.model,
    'dg-model-uuid': modelUuid(params.model),
    'dg-char-count': String(text.length),
  });
  if (params.container === 'wav') res.write(wavHeader(bytes.length, params));
  if (fault?.kind === 'ws_drop') setTimeout(() => res.destroy(), fault.dropAfterMs);
  await pace(bytes, params, settings.ttsSpeedFactor, (chunk) => !res.destroyed && res.write(chunk) !== undefined);
  if (!res.destroyed) res.end();
}

interface Synthesised {
  bytes: Buffer;
  audioSeconds: number;
}

/** Text waiting to be played; `flushed` is the sequence id to confirm once it has played. */
interface SpeakJob {
  text: string;
  flushed?: number;
  /** When the text was complete: its first-byte latency runs from then. */
  completeAtMs: number;
  /** Its synthesis, once begun (at most `SYNTHESES_AHEAD` queued jobs at a time). */
  audio?: Promise<Synthesised | undefined>;
}

/** Queued sentences synthesised ahead of the one playing: enough for gapless speech, bounded. */
const SYNTHESES_AHEAD = 2;

/** `work`, or undefined as soon as `signal` aborts (the work itself runs on: its result may be shared). */
function unlessAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    void work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Splits buffered text after its last complete sentence: sentence-ending punctuation
 * followed by white space. "$4.99" and an unfinished "Would" stay buffered.
 */
export function completeSentences(text: string): { ready: string; rest: string } {
  const ends = [...text.matchAll(/[.!?]+["')\]]*\s+/g)];
  const last = ends.at(-1);
  if (!last || last.index === undefined) return { ready: '', rest: text };
  const cut = last.index + last[0].length;
  return { ready: text.slice(0, cut), rest: text.slice(cut) };
}

/**
 * One TTS WebSocket. Like Aura's streaming endpoint, it starts speaking each sentence as
 * soon as the sentence is complete, without waiting for Flush; Flush speaks whatever is
 * left and is confirmed with Flushed once its audio has been sent. The next two queued
 * sentences are synthesised while one plays, so a reply plays without gaps. Clear drops
 * everything pending and stops waiting on its synthesis at once. At most
 * `MAX_SPEAK_CHARS` received and not yet spoken.
 */
export class SpeakSession {
  readonly #ws: WebSocket;
  readonly #params: SpeakParams;
  readonly #ctx: SpeakContext;
  readonly #requestId: string;
  #buffer = '';
  /** Characters received and not yet played: the buffer and the queued jobs. */
  #unspokenChars = 0;
  #sequenceId = 0;
  #queue: SpeakJob[] = [];
  #running = false;
  #closing = false;
  #abort = new AbortController();
  #slowFirstMs: number;

  constructor(ws: WebSocket, params: SpeakParams, requestId: string, ctx: SpeakContext, fault: Fault | undefined) {
    this.#ws = ws;
    this.#params = params;
    this.#ctx = ctx;
    this.#requestId = requestId;
    this.#slowFirstMs = fault?.kind === 'slow_first_token' ? fault.delayMs : 0;
    if (fault?.kind === 'ws_drop') setTimeout(() => ws.terminate(), fault.dropAfterMs).unref();
    this.#sendJson({
      type: 'Metadata',
      request_id: requestId,
      model_name: params.model,
      model_version: SIM_MODEL_VERSION,
      model_uuid: modelUuid(params.model),
    });
    ws.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    ws.on('close', () => {
      this.#abort.abort();
      ctx.logger.info({ requestId }, 'speak stream closed');
    });
    ws.on('error', (err) => ctx.logger.debug({ err, requestId }, 'speak socket error'));
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.#warn('UNSUPPORTED_BINARY', 'binary messages are not accepted on /v1/speak');
      return;
    }
    let msg: { type?: unknown; text?: unknown };
    try {
      msg = JSON.parse(rawDataBuffer(data).toString('utf8')) as typeof msg;
    } catch {
      this.#sendJson({ type: 'Error', err_code: 'DATA-0000', description: 'invalid JSON message' });
      this.#ws.close(1008, 'DATA-0000');
      return;
    }
    switch (msg.type) {
      case 'Speak': {
        if (typeof msg.text !== 'string') {
          this.#warn('INVALID_SPEAK', 'Speak needs a text string');
          return;
        }
        if (this.#unspokenChars + msg.text.length > MAX_SPEAK_CHARS) {
          this.#warn('TEXT_LENGTH_EXCEEDED', `text not yet spoken exceeds ${MAX_SPEAK_CHARS} characters; Speak ignored`);
          return;
        }
        this.#unspokenChars += msg.text.length;
        this.#ctx.count('speakCharacters', msg.text.length);
        const { ready, rest } = completeSentences(this.#buffer + msg.text);
        this.#buffer = rest;
        if (ready !== '') this.#enqueue(ready);
        return;
      }
      case 'Flush':
        this.#enqueue(this.#buffer, this.#sequenceId++);
        this.#buffer = '';
        return;
      case 'Clear':
        this.#buffer = '';
        this.#unspokenChars = 0;
        this.#queue = [];
        this.#abort.abort();
        this.#abort = new AbortController();
        this.#sendJson({ type: 'Cleared', sequence_id: this.#sequenceId });
        return;
      case 'Close':
        this.#closing = true;
        if (!this.#running) this.#ws.close(1000);
        return;
      default:
        this.#warn('UNKNOWN_MESSAGE_TYPE', 'unknown message type');
    }
  }

  /** Queues `text` for playback; its first-byte latency runs from now. */
  #enqueue(text: string, flushed?: number): void {
    this.#queue.push({ text, flushed, completeAtMs: Date.now() });
    this.#synthesiseAhead();
    void this.#drain();
  }

  /** Begins the synthesis of the first `SYNTHESES_AHEAD` queued jobs that have none yet. */
  #synthesiseAhead(): void {
    for (const job of this.#queue.slice(0, SYNTHESES_AHEAD)) {
      if (job.audio) continue;
      if (job.text.trim() === '') {
        job.audio = Promise.resolve(undefined);
        continue;
      }
      const extraMs = this.#slowFirstMs;
      this.#slowFirstMs = 0;
      const waitMs = this.#ctx.settings().ttsFirstByteMs + extraMs - (Date.now() - job.completeAtMs);
      job.audio = firstByte(synthesize(job.text, this.#params), waitMs, this.#abort.signal);
      // Awaited in turn by #drain; until then a failure must not count as unhandled.
      job.audio.catch(() => undefined);
    }
  }

  async #drain(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      for (;;) {
        // The head's synthesis has begun before it is taken, the next ones' while it plays.
        this.#synthesiseAhead();
        const job = this.#queue.shift();
        if (!job) break;
        this.#synthesiseAhead();
        const signal = this.#abort.signal;
        await this.#play(job, signal);
        if (!signal.aborted) this.#unspokenChars = Math.max(0, this.#unspokenChars - job.text.length);
      }
    } catch (err) {
      this.#ctx.logger.error({ err, requestId: this.#requestId }, 'speech synthesis failed');
      this.#sendJson({ type: 'Error', err_code: 'SYNTHESIS_FAILED', description: 'speech synthesis failed' });
      // What was queued behind the failure is dropped, not played late on the next Speak.
      this.#queue = [];
      this.#buffer = '';
      this.#unspokenChars = 0;
    } finally {
      this.#running = false;
      if (this.#closing && this.#ws.readyState === this.#ws.OPEN) this.#ws.close(1000);
    }
  }

  async #play(job: SpeakJob, signal: AbortSignal): Promise<void> {
    // A Clear stops the wait at once: the next reply must not queue behind cleared speech.
    const synthesised = await unlessAborted(job.audio!, signal);
    if (signal.aborted) return;
    if (synthesised) {
      this.#ctx.count('speakAudioSeconds', synthesised.audioSeconds);
      await pace(synthesised.bytes, this.#params, this.#ctx.settings().ttsSpeedFactor, (chunk) => this.#sendBinary(chunk), signal);
      if (signal.aborted) return;
    }
    if (job.flushed !== undefined) this.#sendJson({ type: 'Flushed', sequence_id: job.flushed });
  }

  #warn(code: string, message: string): void {
    this.#sendJson({ type: 'Warning', warn_code: code, warn_msg: message });
  }

  #sendBinary(chunk: Buffer): boolean {
    if (this.#ws.readyState !== this.#ws.OPEN) return false;
    this.#ws.send(chunk, { binary: true });
    return true;
  }

  #sendJson(body: object): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(JSON.stringify(body));
  }
}
