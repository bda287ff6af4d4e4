/**
 * The STT simulator's ear: turns the audio a client streams into Deepgram-style events.
 *
 * It never sees text. It hears (1) energy, for SpeechStarted and endpointing, and (2) the
 * DTMF tone code a caller simulator plays before each line (dtmf.ts). When the speech
 * after a code ends — silence for at least the endpointing time — it emits a final
 * `Results` whose transcript is the phrasebook's text for that code. Speech with no code
 * (noise, a beep, a real voice) ends in a final with an empty transcript, as Deepgram
 * returns for sounds it cannot transcribe. Time is audio time: the samples received, so
 * results are reproducible whatever the network does; the WebSocket session adds wall
 * time only when the client stops sending (`idle`).
 */
import { rms } from '../audio.js';
import { DtmfDetector, ToneCodeAssembler } from './dtmf.js';
import { defaultPhrasebook, type Phrasebook } from './phrasebook.js';

export interface ListenOptions {
  sampleRate: number;
  /** Requested endpointing (ms), or false when the client disabled it. */
  endpointingMs: number | false;
  interimResults: boolean;
  /** Gap after the last word before `UtteranceEnd` (ms); null disables it. */
  utteranceEndMs: number | null;
  /** Send `SpeechStarted` events. */
  vadEvents: boolean;
  /** Punctuated, capitalised transcripts (`punctuate` or `smart_format`). */
  punctuate: boolean;
}

export interface EngineTuning {
  /**
   * Floor under the requested endpointing (ms); default 300. The agents plugin asks for
   * 25 ms, which on real Deepgram yields several finals per sentence that the framework
   * stitches together; the simulator returns a line as one final, so it waits past the
   * short pauses inside a line.
   */
  minEndpointingMs: number;
  /** A 10 ms block at or above this level is sound (dBFS); default -40. */
  speechThresholdDbfs: number;
  /** With endpointing disabled, finalise after this much silence (ms); default 500. */
  unendpointedFinalizeMs: number;
}

export const defaultEngineTuning: EngineTuning = {
  minEndpointingMs: 300,
  speechThresholdDbfs: -40,
  unendpointedFinalizeMs: 500,
};

export interface Word {
  word: string;
  start: number;
  end: number;
  confidence: number;
  punctuated_word?: string;
}

export type ListenEvent =
  | { type: 'SpeechStarted'; timestampS: number }
  | {
      type: 'Results';
      isFinal: boolean;
      speechFinal: boolean;
      fromFinalize: boolean;
      startS: number;
      durationS: number;
      transcript: string;
      confidence: number;
      words: Word[];
    }
  | { type: 'UtteranceEnd'; lastWordEndS: number };

interface Utterance {
  startSample: number;
  /** Every key the detector heard in it, in order: what a miss is read from. */
  keys: string;
  code: string | null;
  speechStartSample: number | null;
  speechEndSample: number;
  speechSamples: number;
}

/**
 * Why a final came back empty, and the keys heard in its sound (tone keys, never words):
 * `no_code` (no complete `*…#`), `unknown_code` (a code the phrasebook lacks),
 * `no_speech` (a code and then no speech before the final: silence, or a Finalize mid-line).
 */
export interface MissedLine {
  cause: 'no_code' | 'unknown_code' | 'no_speech';
  keys: string;
  fromFinalize: boolean;
  audioS: number;
}

/** Speech after a code shorter than this is the tail of the last tone, not a word. */
const MIN_SPEECH_MS = 60;
/** A code with no speech after it waits this long before giving up (ms). */
const CODE_ONLY_WAIT_MS = 1000;
/** Interim results at most this often (ms of speech). */
const INTERIM_EVERY_MS = 500;
/** espeak at 175 wpm says a word about every 340 ms; interim text follows that pace. */
const MS_PER_WORD = 340;

export class ListenEngine {
  readonly #opts: ListenOptions;
  readonly #tuning: EngineTuning;
  readonly #phrasebook: Phrasebook;
  readonly #detector: DtmfDetector;
  readonly #assembler = new ToneCodeAssembler();
  readonly #threshold: number;
  #carry = new Int16Array(0);
  /** Audio cursor: samples analysed so far (whole 10 ms hops). */
  #samples = 0;
  /** Every sample received, including a partial hop still waiting for more. */
  #received = 0;
  /** Start of the next Results window (s); Deepgram's windows are contiguous. */
  #windowStartS = 0;
  #utt: Utterance | null = null;
  #silenceSamples = 0;
  #pendingUtteranceEnd: number | null = null;
  #interimWords = 0;
  #lastInterimSample = 0;
  /** The first few empty finals' causes, for the stream's closing log. */
  readonly missed: MissedLine[] = [];

  constructor(opts: ListenOptions, tuning: Partial<EngineTuning> = {}, phrasebook: Phrasebook = defaultPhrasebook) {
    this.#opts = opts;
    this.#tuning = { ...defaultEngineTuning, ...tuning };
    this.#phrasebook = phrasebook;
    this.#detector = new DtmfDetector(opts.sampleRate);
    this.#threshold = 32767 * 10 ** (this.#tuning.speechThresholdDbfs / 20);
  }

  /** Seconds of audio received. */
  get audioSeconds(): number {
    return this.#received / this.#opts.sampleRate;
  }

  /** True while an utterance or a pending UtteranceEnd waits for silence to be timed. */
  get awaitingSilence(): boolean {
    return this.#utt !== null || this.#pendingUtteranceEnd !== null;
  }

  push(samples: Int16Array): ListenEvent[] {
    this.#received += samples.length;
    const hop = this.#detector.hopSamples;
    const all = this.#carry.length ? concat(this.#carry, samples) : samples;
    const events: ListenEvent[] = [];
    let off = 0;
    for (; off + hop <= all.length; off += hop) this.#processHop(all.subarray(off, off + hop), events);
    this.#carry = all.slice(off);
    return events;
  }

  /**
   * The client has sent nothing for a while (the agents plugin stops sending after a
   * second of silence): treat `extraSilenceMs` of wall time as silence for endpointing
   * and UtteranceEnd, without moving the audio clock.
   */
  idle(extraSilenceMs: number): ListenEvent[] {
    const events: ListenEvent[] = [];
    this.#checkEnd(extraSilenceMs, events);
    return events;
  }

  /** Client `Finalize`: flush what has been heard as a final, marked `from_finalize`. */
  finalize(): ListenEvent[] {
    const events: ListenEvent[] = [];
    if (this.#utt) this.#emitFinal(events, { speechFinal: false, fromFinalize: true });
    else events.push(this.#results({ isFinal: true, speechFinal: false, fromFinalize: true, transcript: '', words: [] }));
    return events;
  }

  /** Client `CloseStream`: whatever is still being said ends here. */
  close(): ListenEvent[] {
    const events: ListenEvent[] = [];
    if (this.#utt) this.#emitFinal(events, { speechFinal: this.#opts.endpointingMs !== false, fromFinalize: false });
    return events;
  }

  #processHop(hop: Int16Array, events: ListenEvent[]): void {
    const start = this.#samples;
    this.#samples += hop.length;
    const nowMs = (this.#samples / this.#opts.sampleRate) * 1000;
    const { key, pressed } = this.#detector.pushHop(hop);
    const sounding = rms(hop) >= this.#threshold;

    if (sounding) {
      this.#silenceSamples = 0;
      if (!this.#utt) {
        this.#utt = { startSample: start, keys: '', code: null, speechStartSample: null, speechEndSample: start, speechSamples: 0 };
        // Digits left from the last utterance (a code that lost its `#` after another) are not this one's.
        this.#assembler.reset();
        this.#pendingUtteranceEnd = null;
        this.#interimWords = 0;
        if (this.#opts.vadEvents) events.push({ type: 'SpeechStarted', timestampS: start / this.#opts.sampleRate });
      }
      if (key === null && !this.#assembler.inProgress(nowMs)) {
        const utt = this.#utt;
        utt.speechStartSample ??= start;
        utt.speechEndSample = this.#samples;
        utt.speechSamples += hop.length;
      }
    } else {
      this.#silenceSamples += hop.length;
    }

    if (pressed && this.#utt) {
      this.#utt.keys += pressed;
      const code = this.#assembler.press(pressed, nowMs);
      if (code !== null) {
        // Sound before the code (a breath, the tail of a beep) is not the phrase.
        Object.assign(this.#utt, { code, speechStartSample: null, speechSamples: 0 });
      }
    } else if (this.#utt && this.#utt.code === null) {
      // A `#` lost on the way (a jitter buffer squeezing a starved stream can shorten a
      // tone below what the detector needs): digits that stalled and name a phrase still
      // say which line this is; anything else stays unreadable.
      const stalled = this.#assembler.takeStalled(nowMs);
      if (stalled !== null && this.#phrasebook.byCode(stalled)) Object.assign(this.#utt, { code: stalled, speechStartSample: null, speechSamples: 0 });
    }

    this.#maybeInterim(events);
    this.#checkEnd(0, events);
  }

  #maybeInterim(events: ListenEvent[]): void {
    const utt = this.#utt;
    if (!this.#opts.interimResults || !utt || utt.code === null || utt.speechStartSample === null) return;
    if (this.#silenceSamples > 0) return;
    const phrase = this.#phrasebook.byCode(utt.code);
    if (!phrase) return;
    const rate = this.#opts.sampleRate;
    if ((this.#samples - this.#lastInterimSample) / rate < INTERIM_EVERY_MS / 1000) return;
    const spokenMs = ((this.#samples - utt.speechStartSample) / rate) * 1000;
    const tokens = this.#tokens(phrase.text);
    const count = Math.min(tokens.length - 1, Math.floor(spokenMs / MS_PER_WORD));
    if (count < 1 || count === this.#interimWords) return;
    this.#interimWords = count;
    this.#lastInterimSample = this.#samples;
    const words = this.#timeWords(tokens.slice(0, count), utt.speechStartSample / rate, this.#samples / rate);
    events.push(
      this.#results({
        isFinal: false,
        speechFinal: false,
        fromFinalize: false,
        transcript: words.map((w) => w.punctuated_word ?? w.word).join(' '),
        words,
        advanceWindow: false,
      }),
    );
  }

  #checkEnd(extraSilenceMs: number, events: ListenEvent[]): void {
    const rate = this.#opts.sampleRate;
    const nowMs = (this.#samples / rate) * 1000;
    const silenceMs = (this.#silenceSamples / rate) * 1000 + extraSilenceMs;
    const utt = this.#utt;
    if (utt) {
      if (this.#assembler.inProgress(nowMs + extraSilenceMs)) return;
      const endpointing = this.#opts.endpointingMs;
      let required =
        endpointing === false ? this.#tuning.unendpointedFinalizeMs : Math.max(endpointing, this.#tuning.minEndpointingMs);
      if (utt.code !== null && (utt.speechSamples / rate) * 1000 < MIN_SPEECH_MS) required = Math.max(required, CODE_ONLY_WAIT_MS);
      if (silenceMs >= required) this.#emitFinal(events, { speechFinal: endpointing !== false, fromFinalize: false });
      return;
    }
    if (this.#pendingUtteranceEnd !== null && this.#opts.utteranceEndMs !== null) {
      const sinceWordMs = nowMs + extraSilenceMs - this.#pendingUtteranceEnd * 1000;
      if (sinceWordMs >= this.#opts.utteranceEndMs) {
        events.push({ type: 'UtteranceEnd', lastWordEndS: this.#pendingUtteranceEnd });
        this.#pendingUtteranceEnd = null;
      }
    }
  }

  #emitFinal(events: ListenEvent[], flags: { speechFinal: boolean; fromFinalize: boolean }): void {
    const utt = this.#utt!;
    this.#utt = null;
    this.#interimWords = 0;
    const rate = this.#opts.sampleRate;
    const phrase = utt.code === null ? undefined : this.#phrasebook.byCode(utt.code);
    const spoke = (utt.speechSamples / rate) * 1000 >= MIN_SPEECH_MS;
    const words =
      phrase && spoke && utt.speechStartSample !== null
        ? this.#timeWords(this.#tokens(phrase.text), utt.speechStartSample / rate, utt.speechEndSample / rate)
        : [];
    const transcript = words.length ? this.#formatTranscript(phrase!.text) : '';
    if (!transcript && this.missed.length < 10) {
      const cause = utt.code === null ? 'no_code' : !phrase ? 'unknown_code' : 'no_speech';
      this.missed.push({ cause, keys: utt.keys, fromFinalize: flags.fromFinalize, audioS: Math.round((this.#samples / rate) * 100) / 100 });
    }
    events.push(this.#results({ isFinal: true, ...flags, transcript, words }));
    if (words.length && this.#opts.utteranceEndMs !== null) this.#pendingUtteranceEnd = words[words.length - 1]!.end;
  }

  #results(r: {
    isFinal: boolean;
    speechFinal: boolean;
    fromFinalize: boolean;
    transcript: string;
    words: Word[];
    advanceWindow?: boolean;
  }): ListenEvent {
    const nowS = this.#samples / this.#opts.sampleRate;
    const startS = this.#windowStartS;
    if (r.advanceWindow !== false && r.isFinal) this.#windowStartS = nowS;
    return {
      type: 'Results',
      isFinal: r.isFinal,
      speechFinal: r.speechFinal,
      fromFinalize: r.fromFinalize,
      startS,
      durationS: Math.max(0, nowS - startS),
      transcript: r.transcript,
      confidence: r.words.length ? 0.99 : 0,
      words: r.words,
    };
  }

  #tokens(text: string): string[] {
    return text.split(/\s+/).filter(Boolean);
  }

  #formatTranscript(text: string): string {
    return this.#opts.punctuate ? text : this.#tokens(text).map(bareWord).join(' ');
  }

  /** Spreads words over the speech span in proportion to their length. */
  #timeWords(tokens: string[], startS: number, endS: number): Word[] {
    const weights = tokens.map((t) => bareWord(t).length + 1);
    const total = weights.reduce((a, b) => a + b, 0);
    let t = startS;
    return tokens.map((token, i) => {
      const span = ((endS - startS) * weights[i]!) / total;
      const word: Word = { word: bareWord(token), start: round3(t), end: round3(t + span), confidence: 0.99 };
      if (this.#opts.punctuate) word.punctuated_word = token;
      t += span;
      return word;
    });
  }
}

function bareWord(token: string): string {
  return token.toLowerCase().replace(/[^\p{L}\p{N}']/gu, '');
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function concat(a: Int16Array, b: Int16Array): Int16Array {
  const out = new Int16Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
