/**
 * The caller simulator's measure of when the agent speaks is what the media benchmark's
 * voice-to-voice figures and the barge-in tests rest on: it must not move with the size
 * of the frames rtc-node hands out.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { concatSamples, createToneGenerator } from '../../media/audio.js';
import { AgentSpeechDetector, type AgentSpeechSegment } from '../../media/simulators/agent-speech-detector.js';

const RATE = 16_000;
const opts = { speechRms: 330, agentQuietMs: 700 };

/** Silence and 440 Hz speech-level tone, as [kind, ms] parts. */
function audio(parts: Array<['quiet' | 'loud', number]>): Int16Array {
  const tone = createToneGenerator({ frequencyHz: 440, sampleRate: RATE, amplitude: 0.3 });
  const chunks = parts.map(([kind, ms]) => (kind === 'loud' ? tone(ms) : new Int16Array((RATE * ms) / 1000)));
  return concatSamples(chunks);
}

/** Feeds `samples` in frames of `frameMs`, each arriving when its last sample is due. */
function hear(samples: Int16Array, frameMs: number): { segments: AgentSpeechSegment[]; changes: number[] } {
  const segments: AgentSpeechSegment[] = [];
  const detector = new AgentSpeechDetector(segments, opts);
  const frame = (RATE * frameMs) / 1000;
  const changes: number[] = [];
  for (let off = 0; off < samples.length; off += frame) {
    const chunk = samples.subarray(off, Math.min(samples.length, off + frame));
    const arrivedAtMs = ((off + chunk.length) / RATE) * 1000;
    if (detector.hearFrame(chunk, RATE, arrivedAtMs)) changes.push(arrivedAtMs);
  }
  return { segments, changes };
}

test('a reply is timed the same in 50 ms frames as in 10 ms ones, to its 10 ms window', () => {
  const reply = audio([
    ['quiet', 430],
    ['loud', 1200],
    ['quiet', 900],
    ['loud', 600],
    ['quiet', 1000],
  ]);
  const small = hear(reply, 10);
  const large = hear(reply, 50);
  assert.deepEqual(large.segments, small.segments);
  // Opens at its second loud window (440 ms), ends at its last loud sample (1630 ms).
  assert.deepEqual(
    small.segments.map((s) => [s.startMs, s.endMs]),
    [
      [440, 1630],
      [2540, 3130],
    ],
  );
  assert.ok(small.segments.every((s) => s.peakRms > opts.speechRms && s.meanRms > 0));
  // A 50 ms frame reports an opening or a close at most 40 ms after a 10 ms one would.
  assert.equal(large.changes.length, small.changes.length);
  large.changes.forEach((at, i) => assert.ok(at - small.changes[i]! >= 0 && at - small.changes[i]! <= 40, `change ${i}: ${at} vs ${small.changes[i]}`));
});

test('a click of one window is not speech; a pause shorter than agentQuietMs does not end a segment', () => {
  const { segments } = hear(
    audio([
      ['quiet', 200],
      ['loud', 10],
      ['quiet', 300],
      ['loud', 500],
      ['quiet', 690],
      ['loud', 300],
      ['quiet', 800],
    ]),
    50,
  );
  assert.equal(segments.length, 1);
  assert.equal(segments[0]!.startMs, 520);
  assert.equal(segments[0]!.endMs, 2000);
});

test('a segment still open when the audio stops has no end', () => {
  const { segments } = hear(audio([['quiet', 100], ['loud', 400]]), 50);
  assert.equal(segments.length, 1);
  assert.equal(segments[0]!.endMs, undefined);
});
