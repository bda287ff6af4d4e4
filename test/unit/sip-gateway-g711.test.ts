/** G.711 µ-law against the standard's known code points. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMuLaw, decodeMuLawSample, encodeMuLaw, encodeMuLawSample } from '../../media/sip-gateway/g711.js';

test('known encodings (ITU-T G.711 µ-law, inverted codes)', () => {
  assert.equal(encodeMuLawSample(0), 0xff, 'silence is 0xFF');
  assert.equal(encodeMuLawSample(-1), 0x7f);
  assert.equal(encodeMuLawSample(32767), 0x80, 'positive full scale');
  assert.equal(encodeMuLawSample(-32768), 0x00, 'negative full scale');
  assert.equal(encodeMuLawSample(8), 0xfe);
  assert.equal(encodeMuLawSample(1000), 0xce);
  assert.equal(encodeMuLawSample(-1000), 0x4e);
});

test('known decodings', () => {
  assert.equal(decodeMuLawSample(0xff), 0);
  assert.equal(decodeMuLawSample(0x7f), 0);
  assert.equal(decodeMuLawSample(0x80), 32124);
  assert.equal(decodeMuLawSample(0x00), -32124);
  assert.equal(decodeMuLawSample(0xce), 988);
  assert.equal(decodeMuLawSample(0xfe), 8);
});

test('every code decodes and re-encodes to itself (except the two zeros)', () => {
  for (let code = 0; code < 256; code++) {
    if (code === 0x7f) continue; // -0 decodes to 0, which encodes as +0 (0xFF)
    assert.equal(encodeMuLawSample(decodeMuLawSample(code)), code, `code ${code.toString(16)}`);
  }
});

test('round-trip error stays within the segment step (≈ 3% of the value)', () => {
  const samples = Int16Array.from({ length: 2000 }, (_, i) => Math.round(30000 * Math.sin(i / 7)));
  const back = decodeMuLaw(encodeMuLaw(samples));
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i] ?? 0;
    assert.ok(Math.abs((back[i] ?? 0) - s) <= Math.max(16, Math.abs(s) * 0.035), `sample ${s} → ${back[i]}`);
  }
});
