/** Encodings, resampling and WAV handling the simulators rely on. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createToneGenerator, rms } from '../../media/audio.js';
import {
  alawDecodeSample,
  alawEncodeSample,
  decodeSamples,
  encodeSamples,
  mulawDecodeSample,
  mulawEncodeSample,
  SampleDecoder,
} from '../../media/simulators/codecs.js';
import { speak } from '../../media/simulators/espeak.js';
import { resample } from '../../media/simulators/resample.js';
import { encodeWav, parseWav } from '../../media/simulators/wav.js';

test('G.711 µ-law and A-law round-trip within their quantisation step', () => {
  for (let s = -32768; s <= 32767; s += 97) {
    const step = Math.max(16, Math.abs(s) / 16);
    assert.ok(Math.abs(mulawDecodeSample(mulawEncodeSample(s)) - s) <= step, `µ-law ${s}`);
    assert.ok(Math.abs(alawDecodeSample(alawEncodeSample(s)) - s) <= step, `A-law ${s}`);
  }
});

test('G.711 matches the standard code points for silence and full scale', () => {
  assert.equal(mulawEncodeSample(0), 0xff);
  assert.equal(mulawEncodeSample(32767), 0x80);
  assert.equal(mulawEncodeSample(-32768), 0x00);
  assert.equal(alawEncodeSample(0), 0xd5);
  assert.equal(alawEncodeSample(32767), 0xaa);
  assert.equal(alawEncodeSample(-32768), 0x2a);
});

test('linear16 is little-endian and survives a round trip exactly', () => {
  const samples = Int16Array.from([0, 1, -1, 32767, -32768, 1234]);
  const bytes = encodeSamples(samples, 'linear16');
  assert.equal(bytes.readInt16LE(6), 32767);
  assert.deepEqual(decodeSamples(bytes, 'linear16'), samples);
});

test('SampleDecoder keeps a sample split across two messages', () => {
  const samples = Int16Array.from([100, -200, 300]);
  const bytes = encodeSamples(samples, 'linear16');
  const decoder = new SampleDecoder('linear16');
  const a = decoder.push(bytes.subarray(0, 3));
  const b = decoder.push(bytes.subarray(3));
  assert.deepEqual([...a, ...b], [100, -200, 300]);
});

test('SampleDecoder mixes interleaved stereo down to mono', () => {
  const decoder = new SampleDecoder('linear16', 2);
  assert.deepEqual([...decoder.push(encodeSamples(Int16Array.from([100, 300, -50, -150]), 'linear16'))], [200, -100]);
});

function goertzelLevel(samples: Int16Array, freq: number, rate: number): number {
  const coeff = 2 * Math.cos((2 * Math.PI * freq) / rate);
  let s1 = 0;
  let s2 = 0;
  for (const x of samples) {
    const s0 = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return Math.sqrt(s1 * s1 + s2 * s2 - coeff * s1 * s2) / samples.length;
}

test('resampling keeps length, level and pitch', () => {
  const tone = createToneGenerator({ frequencyHz: 1000, sampleRate: 22050, amplitude: 0.5 })(500);
  for (const to of [8000, 16000, 24000, 48000]) {
    const out = resample(tone, 22050, to);
    assert.equal(out.length, Math.floor((tone.length * to) / 22050));
    const middle = out.subarray(Math.floor(out.length / 4), Math.floor((3 * out.length) / 4));
    assert.ok(Math.abs(rms(middle) - rms(tone)) / rms(tone) < 0.03, `level at ${to}`);
    assert.ok(goertzelLevel(middle, 1000, to) > 10 * goertzelLevel(middle, 1300, to), `pitch at ${to}`);
  }
});

test('downsampling removes content above the new Nyquist instead of folding it', () => {
  const high = createToneGenerator({ frequencyHz: 6000, sampleRate: 22050, amplitude: 0.5 })(500);
  const out = resample(high, 22050, 8000);
  // 6 kHz would alias to 2 kHz at 8 kHz; the filter must keep it far below the original.
  assert.ok(rms(out.subarray(400, out.length - 400)) < rms(high) * 0.05);
});

test('espeak-ng output parses despite its streaming WAV header', async () => {
  const { samples, sampleRate } = await speak('Testing one two three.');
  assert.equal(sampleRate, 22050);
  assert.ok(samples.length > sampleRate * 0.5, 'at least half a second of speech');
  assert.ok(rms(samples) > 500, 'speech is audible');
});

test('WAV encode and parse round-trip', () => {
  const samples = Int16Array.from([1, 2, 3, -4]);
  const parsed = parseWav(encodeWav({ samples, sampleRate: 16000 }));
  assert.equal(parsed.sampleRate, 16000);
  assert.deepEqual(parsed.samples, samples);
});
