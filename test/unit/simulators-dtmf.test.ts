/**
 * The in-band tone code the caller simulator plays and the STT simulator decodes must
 * survive what real audio paths do to it: G.711, resampling, noise. Speech alone must
 * never decode as a code.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeSamples, encodeSamples } from '../../media/simulators/codecs.js';
import { decodeToneCodes, detectKey, renderDtmf, renderToneCode, type DtmfKey } from '../../media/simulators/dtmf.js';
import { speak } from '../../media/simulators/espeak.js';
import { resample } from '../../media/simulators/resample.js';

function padded(samples: Int16Array, sampleRate: number, leadMs = 300, tailMs = 300): Int16Array {
  const lead = Math.round((sampleRate * leadMs) / 1000);
  const out = new Int16Array(lead + samples.length + Math.round((sampleRate * tailMs) / 1000));
  out.set(samples, lead);
  return out;
}

/** Deterministic white noise (a fixed LCG), so a failure reproduces. */
function addNoise(samples: Int16Array, rmsLevel: number, seed = 1): Int16Array {
  let state = seed;
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    const u = state / 0x7fffffff - 0.5; // uniform, RMS = 1/sqrt(12)
    out[i] = Math.max(-32768, Math.min(32767, (samples[i] ?? 0) + Math.round(u * rmsLevel * Math.sqrt(12))));
  }
  return out;
}

for (const rate of [8000, 16000, 24000, 48000]) {
  test(`tone code round-trips at ${rate} Hz`, () => {
    assert.deepEqual(decodeToneCodes(padded(renderToneCode('417', rate), rate), rate), ['417']);
  });
}

test('every key is detected from a 20 ms block', () => {
  const keys: DtmfKey[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D'];
  for (const key of keys) {
    const tone = renderDtmf([key], 16000, { toneMs: 70 });
    const block = Float64Array.from(tone.subarray(400, 720));
    assert.equal(detectKey(block, 16000), key);
  }
});

test('repeated digits need their gaps and decode as separate presses', () => {
  assert.deepEqual(decodeToneCodes(padded(renderToneCode('100', 16000), 16000), 16000), ['100']);
  assert.deepEqual(decodeToneCodes(padded(renderToneCode('999', 8000), 8000), 8000), ['999']);
});

test('tone code survives µ-law and A-law encoding', () => {
  const audio = padded(renderToneCode('202', 8000), 8000);
  for (const enc of ['mulaw', 'alaw'] as const) {
    assert.deepEqual(decodeToneCodes(decodeSamples(encodeSamples(audio, enc), enc), 8000), ['202'], enc);
  }
});

test('tone code survives white noise at -30 dBFS', () => {
  const audio = addNoise(padded(renderToneCode('301', 16000), 16000), 32767 * 10 ** (-30 / 20));
  assert.deepEqual(decodeToneCodes(audio, 16000), ['301']);
});

test('tone code survives resampling 48 kHz → 16 kHz and µ-law after it', () => {
  const at48 = padded(renderToneCode('555', 48000), 48000);
  const at8 = resample(at48, 48000, 8000);
  assert.deepEqual(decodeToneCodes(resample(at48, 48000, 16000), 16000), ['555']);
  assert.deepEqual(decodeToneCodes(decodeSamples(encodeSamples(at8, 'mulaw'), 'mulaw'), 8000), ['555']);
});

test('loud noise drowns the code (the detector is not a side channel)', () => {
  const audio = addNoise(padded(renderToneCode('123', 16000), 16000), 32767 * 10 ** (-8 / 20));
  assert.deepEqual(decodeToneCodes(audio, 16000), []);
});

test('speech without a code decodes as nothing', async () => {
  const { samples, sampleRate } = await speak('One two three four five. The number is nine one one, star, pound.');
  assert.deepEqual(decodeToneCodes(samples, sampleRate), []);
  assert.deepEqual(decodeToneCodes(resample(samples, sampleRate, 8000), 8000), []);
});

test('a code needs its terminator', () => {
  const keys: DtmfKey[] = ['*', '4', '1', '7'];
  assert.deepEqual(decodeToneCodes(padded(renderDtmf(keys, 16000), 16000), 16000), []);
});
