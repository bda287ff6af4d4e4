/**
 * The caller simulator: a LiveKit participant that plays a scripted person on a call.
 *
 * It joins a room, publishes a microphone track that always carries audio (silence
 * between lines, as a phone line does), speaks phrasebook lines as real audio — the
 * line's DTMF tone code then espeak-ng speech (utterance.ts) — and listens to the agent
 * with an energy detector, recording when the agent speaks. The report it returns is
 * what tests assert on: when the greeting was heard, the agent's speech segments, the
 * lines spoken and when, all in milliseconds since joining.
 *
 * rtc-node's native runtime keeps a process alive until it is disposed; the process
 * that owns the caller ends it with `disposeRtcRuntime()` (../rtc-runtime.ts).
 */
import { writeFile } from 'node:fs/promises';
import {
  AudioFrame,
  AudioSource,
  AudioStream,
  LocalAudioTrack,
  Room,
  RoomEvent,
  TrackKind,
  TrackPublishOptions,
  TrackSource,
  type RemoteParticipant,
  type RemoteTrack,
} from '@livekit/rtc-node';
import { AccessToken } from 'livekit-server-sdk';
import type { Logger } from 'pino';
import { concatSamples, createToneGenerator } from '../audio.js';
import { AgentSpeechDetector, ANALYSIS_WINDOW_MS, type AgentSpeechSegment } from './agent-speech-detector.js';
import { personas, type PersonaName, type PersonaStep } from './personas.js';
import { defaultPhrasebook, type PhraseId, type Phrasebook } from './phrasebook.js';
import { renderUtterance, type UtteranceOptions } from './utterance.js';
import { encodeWav } from './wav.js';

export interface CallerOptions {
  /** LiveKit WebSocket URL, e.g. `config.livekit.wsUrl`. */
  wsUrl: string;
  /** Join token (see `createCallerToken`). */
  token: string;
  /** Listen only to this participant; default: the first other participant with audio. */
  agentIdentity?: string;
  /** Publishing rate (Hz); default 48,000 (what WebRTC carries). */
  sampleRate?: number;
  /** Rate the agent's audio is analysed (and dumped) at (Hz); default 16,000. */
  listenSampleRate?: number;
  /** Agent audio at or above this RMS is speech; default 330 (-40 dBFS). */
  speechRms?: number;
  /** The agent's turn has ended after this much quiet (ms); default 700. */
  agentQuietMs?: number;
  /** Write everything heard to this WAV file on `leave()`. */
  wavDumpPath?: string;
  phrasebook?: Phrasebook;
  utterance?: UtteranceOptions;
  logger?: Logger;
}

export type { AgentSpeechSegment };

export interface SpokenLine {
  phraseId: string;
  code: string;
  startMs: number;
  endMs: number;
  /** Whether the agent was speaking when the line started (barge-in). */
  overAgent: boolean;
}

export interface CallerReport {
  persona?: PersonaName;
  /** Epoch ms of joining; every other time is relative to it. */
  joinedAtEpochMs: number;
  /** When the agent first spoke, or null if it never did. */
  greetingHeardAtMs: number | null;
  agentSegments: AgentSpeechSegment[];
  linesSpoken: SpokenLine[];
  /** Steps that gave up waiting for the agent. */
  timeouts: string[];
  wavPath?: string;
}

export async function createCallerToken(opts: {
  apiKey: string;
  apiSecret: string;
  room: string;
  identity: string;
  ttl?: string;
  /** Participant attributes at join, e.g. `sip.callStatus: ringing` to play a callee being rung. */
  attributes?: Record<string, string>;
}): Promise<string> {
  const token = new AccessToken(opts.apiKey, opts.apiSecret, {
    identity: opts.identity,
    ttl: opts.ttl ?? '30m',
    ...(opts.attributes ? { attributes: opts.attributes } : {}),
  });
  // canUpdateOwnMetadata lets the simulated callee "answer" by changing its attributes.
  token.addGrant({ roomJoin: true, room: opts.room, canPublish: true, canSubscribe: true, canUpdateOwnMetadata: true });
  return token.toJwt();
}

/**
 * The caller hands rtc-node its voice, and takes the agent's, 50 ms at a time. Each frame
 * costs an FFI request or event and its protobuf, whatever its length: at 10 ms those were
 * most of a simulated caller's CPU (a V8 profile of the media benchmark, 2026-12-07), spent
 * on the cores the agents under test share. The agent's audio is still judged in 10 ms
 * windows, each timed by where it sits in its frame (agent-speech-detector.ts), so what
 * the caller reports does not change with the frame size.
 */
const FRAME_MS = 50;
/**
 * rtc-node buffers this much outgoing audio. When the buffer runs dry WebRTC sends
 * silence, so a stall of this process longer than the buffer cuts a gap into whatever the
 * caller is saying — and a gap inside a line's tone code loses the line. Half a second
 * rides out the event-loop stalls of a loaded machine; line timestamps count the buffered
 * audio (`#bufferedMs`), so they stay the times the audio goes out.
 */
const SOURCE_QUEUE_MS = 500;
/**
 * Between lines silence is topped up, a frame at a time, only when rtc-node holds no more
 * than this: 50–100 ms of it stand before a new line. The line's times count it.
 */
const IDLE_BUFFER_MS = 50;
/** How often an idle caller looks at rtc-node's queue: a timer, no FFI. */
const IDLE_POLL_MS = 10;

export class CallerSimulator {
  readonly room = new Room();
  readonly #opts: Required<Pick<CallerOptions, 'sampleRate' | 'listenSampleRate' | 'speechRms' | 'agentQuietMs'>> & CallerOptions;
  readonly #phrasebook: Phrasebook;
  #source: AudioSource | undefined;
  #joinedAt = 0;
  #out: Int16Array[] = [];
  #outDone: Array<{ afterChunks: number; resolve: () => void }> = [];
  #chunksSent = 0;
  #chunksQueued = 0;
  /** Samples in `#out`, not yet handed to rtc-node. */
  #samplesWaiting = 0;
  #running = false;
  #pump: Promise<void> | undefined;
  /** One listener per agent track: a replacement agent publishes a track of its own. */
  #listening = new Map<string, Promise<void>>();
  #heard: Int16Array[] = [];
  #segments: AgentSpeechSegment[] = [];
  #lines: SpokenLine[] = [];
  #timeouts: string[] = [];
  #changed: Array<() => void> = [];

  constructor(opts: CallerOptions) {
    this.#opts = { sampleRate: 48_000, listenSampleRate: 16_000, speechRms: 330, agentQuietMs: 700, ...opts };
    this.#phrasebook = opts.phrasebook ?? defaultPhrasebook;
  }

  /** Ms since joining. */
  now(): number {
    return Date.now() - this.#joinedAt;
  }

  get agentSpeaking(): boolean {
    const last = this.#segments[this.#segments.length - 1];
    return last !== undefined && last.endMs === undefined;
  }

  async join(): Promise<void> {
    this.room.on(RoomEvent.TrackSubscribed, (track: RemoteTrack, _pub, participant: RemoteParticipant) => {
      const sid = track.sid ?? participant.identity;
      if (track.kind !== TrackKind.KIND_AUDIO || this.#listening.has(sid)) return;
      if (this.#opts.agentIdentity && participant.identity !== this.#opts.agentIdentity) return;
      // Under load rtc-node can release a track before we open a stream on it; a caller
      // that cannot listen is a failed call for whoever drives it, never a crashed process.
      const listening = this.#listen(track).catch((err: unknown) => {
        this.#opts.logger?.warn({ err }, 'caller could not listen to the agent');
      });
      this.#listening.set(sid, listening);
      void listening.finally(() => this.#listening.delete(sid));
    });
    await this.room.connect(this.#opts.wsUrl, this.#opts.token, { autoSubscribe: true, dynacast: false });
    this.#joinedAt = Date.now();
    this.#source = new AudioSource(this.#opts.sampleRate, 1, SOURCE_QUEUE_MS);
    const track = LocalAudioTrack.createAudioTrack('caller-microphone', this.#source);
    await this.room.localParticipant!.publishTrack(track, new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }));
    this.#running = true;
    this.#pump = this.#pumpAudio();
    this.#opts.logger?.info({ room: this.room.name }, 'caller joined');
  }

  /** Speaks a phrasebook line; resolves once its last sample has been handed to WebRTC. */
  async say(phraseId: PhraseId): Promise<SpokenLine> {
    const phrase = this.#phrasebook.byId(phraseId);
    const audio = await renderUtterance(phrase, this.#opts.sampleRate, this.#opts.utterance);
    const overAgent = this.agentSpeaking;
    const startMs = this.now() + this.#bufferedMs();
    await this.#play(audio);
    const line: SpokenLine = { phraseId: phrase.id, code: phrase.code, startMs, endMs: this.now() + this.#bufferedMs(), overAgent };
    this.#lines.push(line);
    return line;
  }

  async tone(frequencyHz: number, durationMs: number): Promise<void> {
    const gen = createToneGenerator({ frequencyHz, sampleRate: this.#opts.sampleRate, amplitude: 0.3 });
    await this.#play(gen(durationMs));
  }

  /** Resolves true when the agent starts speaking at or after `afterMs`, false on timeout. */
  waitForAgentSpeech(opts: { afterMs?: number; timeoutMs: number }): Promise<boolean> {
    const after = opts.afterMs ?? 0;
    return this.#waitFor(() => this.#segments.some((s) => s.startMs >= after || (s.endMs ?? Infinity) >= after), opts.timeoutMs);
  }

  /** Resolves true once the agent has spoken after `afterMs` and gone quiet again. */
  waitForAgentTurn(opts: { afterMs?: number; timeoutMs: number }): Promise<boolean> {
    const after = opts.afterMs ?? 0;
    return this.#waitFor(
      () => this.#segments.some((s) => s.endMs !== undefined && s.endMs > after) && !this.agentSpeaking,
      opts.timeoutMs,
    );
  }

  /** Runs a persona to the end and returns the report. */
  async runPersona(name: PersonaName): Promise<CallerReport> {
    for (const step of personas[name]) await this.#runStep(step);
    return { ...this.report(), persona: name };
  }

  report(): CallerReport {
    const first = this.#segments[0];
    return {
      joinedAtEpochMs: this.#joinedAt,
      greetingHeardAtMs: first ? first.startMs : null,
      agentSegments: this.#segments.map((s) => ({ ...s })),
      linesSpoken: [...this.#lines],
      timeouts: [...this.#timeouts],
      ...(this.#opts.wavDumpPath ? { wavPath: this.#opts.wavDumpPath } : {}),
    };
  }

  /** Stops publishing, leaves the room and writes the WAV dump if asked for. */
  async leave(): Promise<CallerReport> {
    this.#running = false;
    await this.#pump;
    await this.room.disconnect();
    await Promise.all(this.#listening.values());
    await this.#source?.close();
    if (this.#opts.wavDumpPath) {
      await writeFile(this.#opts.wavDumpPath, encodeWav({ samples: concatSamples(this.#heard), sampleRate: this.#opts.listenSampleRate }));
    }
    this.#opts.logger?.info({ lines: this.#lines.length, agentSegments: this.#segments.length }, 'caller left');
    return this.report();
  }

  async #runStep(step: PersonaStep): Promise<void> {
    const lastLineEnd = this.#lines[this.#lines.length - 1]?.endMs ?? 0;
    switch (step.do) {
      case 'waitForAgentTurn':
        if (!(await this.waitForAgentTurn({ afterMs: lastLineEnd, timeoutMs: step.timeoutMs }))) this.#timeouts.push('waitForAgentTurn');
        return;
      case 'say':
        await this.say(step.phrase);
        return;
      case 'sayOverAgent': {
        if (!(await this.waitForAgentSpeech({ afterMs: lastLineEnd, timeoutMs: step.timeoutMs }))) this.#timeouts.push('sayOverAgent');
        await sleep(step.afterMs);
        await this.say(step.phrase);
        return;
      }
      case 'tone':
        await this.tone(step.frequencyHz, step.durationMs);
        return;
      case 'silence':
        await sleep(step.durationMs);
        return;
    }
  }

  #waitFor(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    if (predicate()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (!predicate()) return false;
        clearTimeout(timer);
        resolve(true);
        return true;
      };
      const timer = setTimeout(() => {
        this.#changed = this.#changed.filter((c) => c !== listener);
        resolve(false);
      }, timeoutMs);
      const listener = () => {
        if (check()) this.#changed = this.#changed.filter((c) => c !== listener);
      };
      this.#changed.push(listener);
    });
  }

  #notify(): void {
    for (const listener of [...this.#changed]) listener();
  }

  /** Audio not yet sent: frames waiting here plus what rtc-node holds. */
  #bufferedMs(): number {
    return (this.#samplesWaiting / this.#opts.sampleRate) * 1000 + (this.#source?.queuedDuration ?? 0);
  }

  /** Queues audio in FRAME_MS frames; resolves when the last frame has been captured. */
  #play(samples: Int16Array): Promise<void> {
    const frame = (this.#opts.sampleRate * FRAME_MS) / 1000;
    // The last frame is cut at the next 10 ms, not padded to a whole frame: padding would
    // count as the line still going out and move its end (`SpokenLine.endMs`) later.
    const tick = (this.#opts.sampleRate * ANALYSIS_WINDOW_MS) / 1000;
    for (let off = 0; off < samples.length; off += frame) {
      const chunk = new Int16Array(Math.min(frame, Math.ceil((samples.length - off) / tick) * tick));
      chunk.set(samples.subarray(off, off + chunk.length));
      this.#out.push(chunk);
      this.#samplesWaiting += chunk.length;
      this.#chunksQueued++;
    }
    const afterChunks = this.#chunksQueued;
    return new Promise((resolve) => this.#outDone.push({ afterChunks, resolve }));
  }

  /**
   * Publishes a continuous stream: queued speech, else silence, paced by rtc-node's queue.
   * Speech fills the queue up to SOURCE_QUEUE_MS at once; silence keeps it short.
   */
  async #pumpAudio(): Promise<void> {
    const frame = (this.#opts.sampleRate * FRAME_MS) / 1000;
    const silence = new Int16Array(frame);
    while (this.#running) {
      const next = this.#out.shift();
      if (!next && this.#source!.queuedDuration > IDLE_BUFFER_MS) {
        await sleep(IDLE_POLL_MS);
        continue;
      }
      const samples = next ?? silence;
      await this.#source!.captureFrame(new AudioFrame(samples, this.#opts.sampleRate, 1, samples.length));
      if (next) {
        this.#samplesWaiting -= next.length;
        this.#chunksSent++;
        this.#outDone = this.#outDone.filter((d) => {
          if (d.afterChunks > this.#chunksSent) return true;
          d.resolve();
          return false;
        });
      }
    }
    for (const d of this.#outDone) d.resolve();
    this.#outDone = [];
  }

  async #listen(track: RemoteTrack): Promise<void> {
    const stream = new AudioStream(track, { sampleRate: this.#opts.listenSampleRate, numChannels: 1, frameSizeMs: FRAME_MS });
    const detector = new AgentSpeechDetector(this.#segments, this.#opts);
    for await (const frame of stream) {
      if (this.#opts.wavDumpPath) this.#heard.push(frame.data.slice());
      if (detector.hearFrame(frame.data, frame.sampleRate, this.now())) this.#notify();
      if (!this.#running && this.room.isConnected === false) break;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
