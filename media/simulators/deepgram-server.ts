/**
 * The Deepgram-compatible simulator: `/v1/listen` (streaming WS and prerecorded REST)
 * and `/v1/speak` (REST and WS), plus `/health` and the `/_sim/*` admin routes, on one
 * port. Any API key is accepted, but one must be sent, as Deepgram requires.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import { handlePrerecorded, ListenSession, type ListenContext } from './deepgram-listen.js';
import { handleSpeakRest, SpeakSession, type SpeakContext } from './deepgram-speak.js';
import { errorBody, newRequestId, parseListenParams, parseSpeakParams } from './deepgram-wire.js';
import { HttpError } from './http.js';
import { defaultPhrasebook, type Phrasebook } from './phrasebook.js';
import { closeServer, createSimServer, listen, rejectUpgrade, type RunningSimulator } from './server-base.js';
import { faultStatus, SimControl, type FaultKind } from './sim-control.js';
import type { EngineTuning } from './stt-engine.js';

export const deepgramSettingsSchema = z
  .object({
    /** Delay between an endpoint and its final `Results` (ms). */
    sttFinalizeDelayMs: z.number().int().min(0),
    /** Floor under the client's `endpointing` (ms); applies to streams opened after a change. */
    minEndpointingMs: z.number().int().min(0),
    /** TTS time to first audio byte, per request or Flush (ms). */
    ttsFirstByteMs: z.number().int().min(0),
    /** TTS audio is streamed this many times faster than real time; 0 sends it all at once. */
    ttsSpeedFactor: z.number().min(0),
  })
  .strict();
export type DeepgramSettings = z.infer<typeof deepgramSettingsSchema>;

/** Start-up defaults, near the provider's real behaviour (Aura-2 TTFB under 200 ms). */
export const defaultDeepgramSettings: DeepgramSettings = {
  sttFinalizeDelayMs: 100,
  minEndpointingMs: 300,
  ttsFirstByteMs: 150,
  ttsSpeedFactor: 4,
};

export const deepgramStatKeys = [
  'httpRequests',
  'listenConnections',
  'listenRequests',
  'listenAudioSeconds',
  'finalTranscripts',
  'speakConnections',
  'speakRequests',
  'speakCharacters',
  'speakAudioSeconds',
] as const;

export interface DeepgramSimulatorOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  logger: Logger;
  settings?: Partial<DeepgramSettings>;
  tuning?: Partial<Omit<EngineTuning, 'minEndpointingMs'>>;
  phrasebook?: Phrasebook;
}

const HTTP_FAULTS: readonly FaultKind[] = ['http_429', 'http_500', 'http_503'];

function apiKeyOf(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  const m = auth?.match(/^(?:Token|Bearer)\s+(\S+)$/i);
  if (m) return m[1];
  // Browsers cannot set headers on WebSockets; Deepgram accepts `token, <key>` as subprotocol.
  const proto = req.headers['sec-websocket-protocol']?.split(',').map((s) => s.trim());
  return proto?.[0]?.toLowerCase() === 'token' ? proto[1] : undefined;
}

export async function startDeepgramSimulator(opts: DeepgramSimulatorOptions): Promise<RunningSimulator<DeepgramSettings>> {
  const logger = opts.logger;
  const control = new SimControl<DeepgramSettings>({
    settings: { ...defaultDeepgramSettings, ...opts.settings },
    settingsSchema: deepgramSettingsSchema.partial(),
    statKeys: deepgramStatKeys,
  });
  const count = (stat: string, by?: number) => control.count(stat, by);
  const listenCtx: ListenContext = {
    logger,
    phrasebook: opts.phrasebook ?? defaultPhrasebook,
    settings: () => control.settings,
    tuning: opts.tuning ?? {},
    count,
  };
  const speakCtx: SpeakContext = { logger, settings: () => control.settings, count };

  const server = createSimServer({
    logger,
    control,
    errorBody: (status, message) => errorBody(status, message, newRequestId()),
    route: async (req, res, url) => {
      const isListen = url.pathname === '/v1/listen';
      const isSpeak = url.pathname === '/v1/speak';
      if (!isListen && !isSpeak) throw new HttpError(404, `no route ${url.pathname}`);
      if (req.method !== 'POST') throw new HttpError(405, 'use POST');
      if (!apiKeyOf(req)) throw new HttpError(401, 'Invalid credentials.');
      const target = isListen ? 'listen' : 'speak';
      const fault = control.takeFault(target, isListen ? HTTP_FAULTS : [...HTTP_FAULTS, 'ws_drop', 'slow_first_token']);
      const status = fault && faultStatus(fault);
      if (status) throw new HttpError(status.status, `simulated ${status.status}`, status.headers);
      const requestId = newRequestId();
      if (isListen) {
        count('listenRequests');
        await handlePrerecorded(req, res, url.searchParams, requestId, listenCtx);
      } else {
        count('speakRequests');
        await handleSpeakRest(req, res, url.searchParams, requestId, speakCtx, fault);
      }
    },
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const requestId = newRequestId();
    const reject = (status: number, message: string, headers: Record<string, string> = {}) =>
      rejectUpgrade(socket, status, errorBody(status, message, requestId), { 'dg-request-id': requestId, ...headers });
    const target = url.pathname === '/v1/listen' ? 'listen' : url.pathname === '/v1/speak' ? 'speak' : undefined;
    if (!target) return reject(404, `no WebSocket route ${url.pathname}`);
    if (!apiKeyOf(req)) return reject(401, 'Invalid credentials.');
    let listenParams: ReturnType<typeof parseListenParams> | undefined;
    let speakParams: ReturnType<typeof parseSpeakParams> | undefined;
    try {
      if (target === 'listen') listenParams = parseListenParams(url.searchParams);
      else speakParams = parseSpeakParams(url.searchParams, false);
    } catch (err) {
      return reject(400, err instanceof HttpError ? err.message : 'invalid parameters', { 'dg-error': 'invalid parameters' });
    }
    const fault = control.takeFault(target, [...HTTP_FAULTS, 'ws_drop', 'slow_first_token']);
    const status = fault && faultStatus(fault);
    if (status) return reject(status.status, `simulated ${status.status}`, status.headers);
    // ws answers a `token, <key>` subprotocol offer with its first entry, as Deepgram does.
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      if (listenParams) {
        count('listenConnections');
        logger.info({ requestId, sampleRate: listenParams.sampleRate, encoding: listenParams.encoding }, 'listen stream opened');
        new ListenSession(ws, listenParams, requestId, listenCtx, fault);
      } else if (speakParams) {
        count('speakConnections');
        logger.info({ requestId, sampleRate: speakParams.sampleRate, encoding: speakParams.encoding }, 'speak stream opened');
        new SpeakSession(ws, speakParams, requestId, speakCtx, fault);
      }
    });
  });

  const port = await listen(server, opts.host, opts.port);
  logger.info({ host: opts.host, port }, 'deepgram simulator listening');
  return {
    url: `http://${opts.host}:${port}`,
    port,
    control,
    close: async () => {
      for (const ws of wss.clients) ws.close(1001, 'simulator shutting down');
      const closing = closeServer(server);
      setTimeout(() => {
        for (const ws of wss.clients) ws.terminate();
      }, 1000).unref();
      await closing;
      wss.close();
    },
  };
}
