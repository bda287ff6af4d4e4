/**
 * Deepgram's JSON on the wire: query parameters the clients send and the messages and
 * error bodies they parse, in one place so the listen and speak handlers agree.
 */
import { createHash, randomUUID } from 'node:crypto';
import { isSampleEncoding, type SampleEncoding } from './codecs.js';
import { HttpError } from './http.js';
import type { ListenEvent, ListenOptions } from './stt-engine.js';

export const SIM_MODEL_VERSION = '2024-12-20.0-kickcall-sim';

/** Sample rates Deepgram streams accept and Aura produces for raw encodings. */
const SAMPLE_RATES = new Set([8000, 16000, 22050, 24000, 32000, 44100, 48000]);

function flag(params: URLSearchParams, name: string, fallback: boolean): boolean {
  const v = params.get(name);
  if (v === null) return fallback;
  return v === 'true';
}

function intParam(params: URLSearchParams, name: string): number | undefined {
  const v = params.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new HttpError(400, `${name} must be a non-negative integer`);
  return n;
}

function encodingParam(params: URLSearchParams, fallback: SampleEncoding | undefined): SampleEncoding {
  const v = params.get('encoding') ?? fallback;
  if (v === undefined) throw new HttpError(400, 'encoding is required for raw audio');
  if (!isSampleEncoding(v)) throw new HttpError(400, `encoding ${v} is not supported by the simulator (linear16, mulaw, alaw)`);
  return v;
}

function sampleRateParam(params: URLSearchParams, fallback: number | undefined): number {
  const rate = intParam(params, 'sample_rate') ?? fallback;
  if (rate === undefined) throw new HttpError(400, 'sample_rate is required when encoding is set');
  if (!SAMPLE_RATES.has(rate)) throw new HttpError(400, `sample_rate ${rate} is not supported`);
  return rate;
}

export interface ListenParams extends ListenOptions {
  model: string;
  encoding: SampleEncoding;
  channels: number;
}

/** Parses `/v1/listen` query parameters as the Deepgram plugin sends them. */
export function parseListenParams(params: URLSearchParams): ListenParams {
  const endpointingRaw = params.get('endpointing');
  let endpointingMs: number | false;
  if (endpointingRaw === 'false') endpointingMs = false;
  else if (endpointingRaw === null || endpointingRaw === 'true') endpointingMs = 10; // Deepgram's default
  else endpointingMs = intParam(params, 'endpointing') ?? 10;
  const channels = intParam(params, 'channels') ?? 1;
  if (channels < 1 || channels > 8) throw new HttpError(400, 'channels must be 1-8');
  return {
    model: params.get('model') ?? 'nova-3',
    encoding: encodingParam(params, undefined),
    sampleRate: sampleRateParam(params, undefined),
    channels,
    endpointingMs,
    interimResults: flag(params, 'interim_results', false),
    utteranceEndMs: intParam(params, 'utterance_end_ms') ?? null,
    vadEvents: flag(params, 'vad_events', false),
    punctuate: flag(params, 'punctuate', false) || flag(params, 'smart_format', false),
  };
}

export interface SpeakParams {
  model: string;
  encoding: SampleEncoding;
  sampleRate: number;
  container: 'none' | 'wav';
}

/** Parses `/v1/speak` query parameters (REST and WebSocket). */
export function parseSpeakParams(params: URLSearchParams, rest: boolean): SpeakParams {
  const encoding = encodingParam(params, 'linear16');
  const sampleRate = sampleRateParam(params, encoding === 'linear16' ? 24000 : 8000);
  const container = params.get('container') ?? (rest ? 'wav' : 'none');
  if (container !== 'none' && container !== 'wav') throw new HttpError(400, `container ${container} is not supported`);
  return { model: params.get('model') ?? 'aura-2-thalia-en', encoding, sampleRate, container };
}

export function modelInfo(model: string) {
  return { name: model, version: SIM_MODEL_VERSION, arch: model.split('-').slice(0, 2).join('-') };
}

/** A stable model UUID per model name, as Deepgram reports one per model. */
export function modelUuid(model: string): string {
  const h = createHash('sha256').update(model).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export function newRequestId(): string {
  return randomUUID();
}

/** Serialises an engine event as the message Deepgram sends. */
export function listenMessage(ev: ListenEvent, ctx: { requestId: string; model: string; channels: number }): object {
  const channelIndex = [0, ctx.channels];
  switch (ev.type) {
    case 'SpeechStarted':
      return { type: 'SpeechStarted', channel: channelIndex, timestamp: ev.timestampS };
    case 'UtteranceEnd':
      return { type: 'UtteranceEnd', channel: channelIndex, last_word_end: ev.lastWordEndS };
    case 'Results':
      return {
        type: 'Results',
        channel_index: channelIndex,
        duration: round3(ev.durationS),
        start: round3(ev.startS),
        is_final: ev.isFinal,
        speech_final: ev.speechFinal,
        from_finalize: ev.fromFinalize,
        channel: { alternatives: [{ transcript: ev.transcript, confidence: ev.confidence, words: ev.words }] },
        metadata: { request_id: ctx.requestId, model_info: modelInfo(ctx.model), model_uuid: modelUuid(ctx.model) },
      };
  }
}

/** The `Metadata` message sent when a listen stream closes (and atop REST results). */
export function listenMetadata(ctx: { requestId: string; model: string; channels: number; durationS: number; createdAt: Date }) {
  const uuid = modelUuid(ctx.model);
  return {
    type: 'Metadata',
    transaction_key: 'deprecated',
    request_id: ctx.requestId,
    sha256: createHash('sha256').update(ctx.requestId).digest('hex'),
    created: ctx.createdAt.toISOString(),
    duration: round3(ctx.durationS),
    channels: ctx.channels,
    models: [uuid],
    model_info: { [uuid]: modelInfo(ctx.model) },
  };
}

/** Deepgram's REST error body. */
export function errorBody(status: number, message: string, requestId: string) {
  const code =
    status === 401 ? 'INVALID_AUTH' : status === 429 ? 'TOO_MANY_REQUESTS' : status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'Bad Request';
  return { err_code: code, err_msg: message, request_id: requestId };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
