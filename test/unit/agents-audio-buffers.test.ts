/**
 * The two LiveKit Agents audio helpers that deploy/patches rewrites (they copied every
 * sample through a JavaScript array on each call, the busiest functions of a call's
 * profile): the STT's byte buffer and the VAD's frame merge must still hand on exactly the
 * samples they were given, in order, cut where they were cut before.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AudioByteStream, initializeLogger, mergeFrames } from '@livekit/agents';
import { AudioFrame } from '@livekit/rtc-node';

// The byte buffer takes the framework's logger when it is built.
initializeLogger({ pretty: false, level: 'fatal' });

/** `count` 16-bit samples counting up from `first`, so any reordering or loss shows. */
function ramp(first: number, count: number): Int16Array {
  return Int16Array.from({ length: count }, (_, i) => first + i);
}

function bytesOf(samples: Int16Array): Uint8Array {
  return new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
}

test('the byte buffer cuts writes of any size into whole frames, keeping every sample in order', () => {
  // 16 kHz mono, 50 ms frames (800 samples), as Deepgram's plugin buffers what it sends.
  const stream = new AudioByteStream(16_000, 1, 800);
  const written = ramp(-20_000, 3_000);
  const out: AudioFrame[] = [];
  // Uneven writes, one of them splitting a sample's two bytes across calls.
  const bytes = bytesOf(written);
  let at = 0;
  for (const size of [321, 1, 1_279, 2_000, 999, 1_400]) {
    out.push(...stream.write(bytes.slice(at, at + size)));
    at += size;
  }
  assert.equal(at, bytes.length);
  assert.deepEqual(
    out.map((f) => f.samplesPerChannel),
    [800, 800, 800],
  );
  assert.ok(out.every((f) => f.sampleRate === 16_000 && f.channels === 1));
  const rest = stream.flush();
  assert.deepEqual(
    rest.map((f) => f.samplesPerChannel),
    [600],
  );
  const heard = Int16Array.from([...out, ...rest].flatMap((f) => [...f.data]));
  assert.deepEqual(heard, written);
  assert.deepEqual(stream.flush(), [], 'nothing is left after a flush');
});

test('the byte buffer takes an ArrayBuffer or a view into a larger buffer, reading only the view', () => {
  const stream = new AudioByteStream(8_000, 1, 4);
  const backing = ramp(100, 10);
  // A view of samples 2..7 only: the buffer around it must not leak in.
  const view = new Int16Array(backing.buffer, 2 * 2, 6);
  const [first] = stream.write(view);
  assert.deepEqual([...first!.data], [102, 103, 104, 105]);
  const [second] = stream.write(ramp(200, 2).buffer);
  assert.deepEqual([...second!.data], [106, 107, 200, 201]);
});

test('merging frames joins their samples in order and counts them', () => {
  const frames = [new AudioFrame(ramp(0, 160), 16_000, 1, 160), new AudioFrame(ramp(160, 512), 16_000, 1, 512), new AudioFrame(ramp(672, 8), 16_000, 1, 8)];
  const merged = mergeFrames(frames);
  assert.equal(merged.samplesPerChannel, 680);
  assert.equal(merged.sampleRate, 16_000);
  assert.deepEqual(merged.data, ramp(0, 680));
  // The inputs are left as they were: the VAD keeps them for its speech buffer.
  assert.deepEqual(frames[1]!.data, ramp(160, 512));
});

test('merging frames of different rates or channel counts is refused', () => {
  const mono16k = new AudioFrame(ramp(0, 4), 16_000, 1, 4);
  assert.throws(() => mergeFrames([mono16k, new AudioFrame(ramp(0, 4), 8_000, 1, 4)]), /sample rate mismatch/);
  assert.throws(() => mergeFrames([mono16k, new AudioFrame(ramp(0, 4), 16_000, 2, 2)]), /channel count mismatch/);
  assert.throws(() => mergeFrames([]), /buffer is empty/);
});
