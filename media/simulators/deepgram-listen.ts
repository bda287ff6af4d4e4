/**
 * `/v1/listen`: Deepgram streaming STT over WebSocket, and prerecorded STT over REST,
 * both driven by the ListenEngine (stt-engine.ts) on the audio actually received.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { WebSocket, RawData } from 'ws';
import { SampleDecoder } from './codecs.js';
import { listenMessage, listenMetadata, parseListenParams, type ListenParams } from './deepgram-wire.js';
import { delay, HttpError, rawDataBuffer, readBody, sendJson } from './http.js';
import type { Phrasebook } from './phrasebook.js';
import type { Fault } from './sim-control.js';
import { ListenEngine, type EngineTuning, type ListenEvent } from './stt-engine.js';
import { parseWav } from './wav.js';

export interface ListenContext {
  logger: Logger;
  phrasebook: Phrasebook;
  /** Read on each use, so runtime changes through `/_sim/config` apply to live streams. */
  settings: () => { sttFinalizeDelayMs: number; minEndpointingMs: number };
  tuning: Partial<EngineTuning>;
  count: (stat: string, by?: number) => void;
}

/** Deepgram closes a stream that has received nothing (audio or KeepAlive) for 10 s. */
const INACTIVITY_TIMEOUT_MS = 10_000;
/** How often wall time is checked for endpointing once the client stops sending. */
const IDLE_TICK_MS = 50;
/** A gap between chunks longer than this is the client having stopped, not jitter. */
const STALL_MS = 150;

/** One streaming-STT WebSocket. */
export class ListenSession {
  readonly #ws: WebSocket;
  readonly #params: ListenParams;
  readonly #ctx: ListenContext;
  readonly #requestId: string;
  readonly #engine: ListenEngine;
  readonly #decoder: SampleDecoder;
  readonly #createdAt = new Date();
  #lastAudioAt = Date.now();
  #lastMessageAt = Date.now();
  #sendChain: Promise<void> = Promise.resolve();
  #slowFirstFinalMs = 0;
  /** Finals sent, and how many of them were empty: sound with no readable tone code. */
  #finals = { transcribed: 0, empty: 0 };
  #closed = false;
  readonly #timers: NodeJS.Timeout[] = [];

  constructor(ws: WebSocket, params: ListenParams, requestId: string, ctx: ListenContext, fault: Fault | undefined) {
    this.#ws = ws;
    this.#params = params;
    this.#ctx = ctx;
    this.#requestId = requestId;
    this.#decoder = new SampleDecoder(params.encoding, params.channels);
    this.#engine = new ListenEngine(
      params,
      { ...ctx.tuning, minEndpointingMs: ctx.settings().minEndpointingMs },
      ctx.phrasebook,
    );
    if (fault?.kind === 'ws_drop') {
      // terminate() cuts the TCP connection with no close frame: a network drop.
      this.#timers.push(setTimeout(() => ws.terminate(), fault.dropAfterMs));
    }
    if (fault?.kind === 'slow_first_token') this.#slowFirstFinalMs = fault.delayMs;
    this.#timers.push(setInterval(() => this.#tick(), IDLE_TICK_MS));
    ws.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    ws.on('close', () => this.#finish());
    ws.on('error', (err) => ctx.logger.debug({ err, requestId }, 'listen socket error'));
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    this.#lastMessageAt = Date.now();
    if (isBinary) {
      const bytes = rawDataBuffer(data);
      const before = this.#engine.audioSeconds;
      this.#lastAudioAt = Date.now();
      this.#dispatch(this.#engine.push(this.#decoder.push(bytes)));
      this.#ctx.count('listenAudioSeconds', this.#engine.audioSeconds - before);
      return;
    }
    let type: unknown;
    try {
      type = (JSON.parse(rawDataBuffer(data).toString('utf8')) as { type?: unknown }).type;
    } catch {
      this.#closeWith(1008, 'DATA-0000: invalid JSON control message');
      return;
    }
    switch (type) {
      case 'KeepAlive':
        return;
      case 'Finalize':
        this.#dispatch(this.#engine.finalize());
        return;
      case 'CloseStream':
        this.#dispatch(this.#engine.close());
        this.#sendMetadataAndClose();
        return;
      default:
        this.#closeWith(1008, `DATA-0000: unknown control message type`);
    }
  }

  #tick(): void {
    const now = Date.now();
    if (now - this.#lastMessageAt > INACTIVITY_TIMEOUT_MS) {
      this.#closeWith(1011, 'NET-0001: no audio or KeepAlive received within the timeout window');
      return;
    }
    const stalledMs = now - this.#lastAudioAt;
    if (this.#engine.awaitingSilence && stalledMs > STALL_MS) this.#dispatch(this.#engine.idle(stalledMs));
  }

  /** Sends events in order; finals wait the configured finalisation delay first. */
  #dispatch(events: ListenEvent[]): void {
    for (const ev of events) {
      const isFinal = ev.type === 'Results' && ev.isFinal;
      let waitMs = 0;
      if (isFinal) {
        waitMs = this.#ctx.settings().sttFinalizeDelayMs + this.#slowFirstFinalMs;
        this.#slowFirstFinalMs = 0;
        if (ev.transcript) this.#ctx.count('finalTranscripts');
        this.#finals[ev.transcript ? 'transcribed' : 'empty']++;
      }
      const message = JSON.stringify(
        listenMessage(ev, { requestId: this.#requestId, model: this.#params.model, channels: this.#params.channels }),
      );
      this.#sendChain = this.#sendChain.then(async () => {
        await delay(waitMs);
        if (!this.#closed && this.#ws.readyState === this.#ws.OPEN) this.#ws.send(message);
      });
    }
  }

  #sendMetadataAndClose(): void {
    this.#sendChain = this.#sendChain.then(() => {
      if (this.#closed || this.#ws.readyState !== this.#ws.OPEN) return;
      const metadata = listenMetadata({
        requestId: this.#requestId,
        model: this.#params.model,
        channels: this.#params.channels,
        durationS: this.#engine.audioSeconds,
        createdAt: this.#createdAt,
      });
      this.#ws.send(JSON.stringify(metadata));
      this.#ws.close(1000);
    });
  }

  #closeWith(code: number, reason: string): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.close(code, reason);
    this.#finish();
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#ctx.logger.info(
      { requestId: this.#requestId, audioSeconds: Math.round(this.#engine.audioSeconds * 100) / 100, finals: this.#finals, ...(this.#engine.missed.length ? { missed: this.#engine.missed } : {}) },
      'listen stream closed',
    );
  }
}

/** Prerecorded STT: the whole body is one stream, closed at its end. */
export async function handlePrerecorded(
  req: IncomingMessage,
  res: ServerResponse,
  params: URLSearchParams,
  requestId: string,
  ctx: ListenContext,
): Promise<void> {
  const body = await readBody(req);
  let samples: Int16Array;
  let listen: ListenParams;
  if (body.subarray(0, 4).toString('ascii') === 'RIFF') {
    const wav = parseWav(body);
    const withRate = new URLSearchParams(params);
    withRate.set('encoding', 'linear16');
    withRate.set('sample_rate', String(wav.sampleRate));
    listen = parseListenParams(withRate);
    samples = wav.samples;
  } else {
    listen = parseListenParams(params);
    samples = new SampleDecoder(listen.encoding, listen.channels).push(body);
  }
  if (samples.length === 0) throw new HttpError(400, 'request contains no audio');
  const engine = new ListenEngine(
    { ...listen, interimResults: false, vadEvents: false, utteranceEndMs: null },
    { ...ctx.tuning, minEndpointingMs: ctx.settings().minEndpointingMs },
    ctx.phrasebook,
  );
  const finals = [...engine.push(samples), ...engine.close()].filter(
    (e): e is Extract<ListenEvent, { type: 'Results' }> => e.type === 'Results' && e.isFinal && e.transcript !== '',
  );
  ctx.count('listenAudioSeconds', engine.audioSeconds);
  ctx.count('finalTranscripts', finals.length);
  await delay(ctx.settings().sttFinalizeDelayMs);
  const words = finals.flatMap((f) => f.words);
  // REST responses carry the same metadata as the stream's closing message, minus `type`.
  const { type: _type, ...metadata } = listenMetadata({
    requestId,
    model: listen.model,
    channels: 1,
    durationS: engine.audioSeconds,
    createdAt: new Date(),
  });
  sendJson(res, 200, {
    metadata,
    results: {
      channels: [
        {
          alternatives: [
            {
              transcript: finals.map((f) => f.transcript).join(' '),
              confidence: finals.length ? Math.min(...finals.map((f) => f.confidence)) : 0,
              words,
            },
          ],
        },
      ],
    },
  });
}
