/**
 * How the caller simulator tells when the agent speaks: an energy detector over the
 * agent's audio in 10 ms windows. Two loud windows in a row open a segment (a lone click is
 * not speech); `agentQuietMs` of quiet closes it, at the end of its last loud window.
 *
 * Audio arrives in frames of any length (the caller takes 50 ms ones); each window is
 * timed by where it sits in its frame, whose last sample arrived at `arrivedAtMs`, so the
 * segments do not depend on the frame size.
 */
import { rms } from '../audio.js';

export interface AgentSpeechSegment {
  startMs: number;
  /** Undefined while the agent is still speaking. */
  endMs?: number;
  peakRms: number;
  meanRms: number;
}

export interface AgentSpeechDetectorOptions {
  /** A window at or above this RMS is speech. */
  speechRms: number;
  /** A segment ends after this much quiet (ms). */
  agentQuietMs: number;
}

export const ANALYSIS_WINDOW_MS = 10;

export class AgentSpeechDetector {
  #loudWindows = 0;
  #quietMs = 0;
  #sum = 0;
  #windows = 0;

  /**
   * `segments` is appended to and updated in place: a caller hearing a replacement agent
   * on a second track keeps one list with a detector per track.
   */
  constructor(
    readonly segments: AgentSpeechSegment[],
    readonly opts: AgentSpeechDetectorOptions,
  ) {}

  /** Hears one frame of mono samples; returns whether a segment opened or closed. */
  hearFrame(samples: Int16Array, sampleRate: number, arrivedAtMs: number): boolean {
    const windowSamples = Math.max(1, Math.round((sampleRate * ANALYSIS_WINDOW_MS) / 1000));
    const frameStartMs = arrivedAtMs - (samples.length / sampleRate) * 1000;
    let changed = false;
    for (let off = 0; off < samples.length; off += windowSamples) {
      const window = samples.subarray(off, Math.min(samples.length, off + windowSamples));
      const endMs = frameStartMs + ((off + window.length) / sampleRate) * 1000;
      changed = this.#hearWindow(rms(window), (window.length / sampleRate) * 1000, endMs) || changed;
    }
    return changed;
  }

  #hearWindow(level: number, windowMs: number, endMs: number): boolean {
    const current = this.segments[this.segments.length - 1];
    const open = current !== undefined && current.endMs === undefined;
    let changed = false;
    if (level >= this.opts.speechRms) {
      this.#quietMs = 0;
      this.#loudWindows++;
      if (!open && this.#loudWindows >= 2) {
        this.segments.push({ startMs: endMs - windowMs, peakRms: level, meanRms: level });
        this.#sum = level;
        this.#windows = 1;
        changed = true;
      }
    } else {
      this.#loudWindows = 0;
      this.#quietMs += windowMs;
    }
    if (open) {
      this.#sum += level;
      this.#windows++;
      current.peakRms = Math.max(current.peakRms, Math.round(level));
      current.meanRms = Math.round(this.#sum / this.#windows);
      if (this.#quietMs >= this.opts.agentQuietMs) {
        current.endMs = endMs - this.#quietMs;
        changed = true;
      }
    }
    return changed;
  }
}
