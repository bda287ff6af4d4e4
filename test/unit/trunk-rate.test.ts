/**
 * A trunk's calls per second, checked at planned dial times: campaigns claim ahead, so
 * the one-second windows that matter are those of the dials, wherever they fall.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { admitByRate } from '../../activities/trunk-rate.js';

const slots = (firstAtMs: number, intervalMs: number, n: number) => Array.from({ length: n }, (_, i) => firstAtMs + i * intervalMs);

test('dials planned over several seconds are admitted when no one-second window exceeds the rate', () => {
  // Six dials at 2 per second over 3 s, on a 2-per-second trunk: all fit.
  assert.deepEqual(admitByRate([], slots(10_000, 500, 6), 2), { admitted: 6 });
  // The same six claimed at once and dialled at once would not.
  assert.deepEqual(admitByRate([], slots(10_000, 0, 6), 2), { admitted: 2, freesAtMs: 11_000 });
});

test('another campaign’s dials on the same trunk count where they fall, also in the future', () => {
  // Another campaign dials at 10 400 and 10 900 (claimed ahead as well). A dial at 10 500
  // keeps its own window (9 500, 10 500] at two, but makes three in (9 900, 10 900].
  const other = [10_400, 10_900];
  const r = admitByRate(other, slots(10_500, 500, 4), 2);
  assert.equal(r.admitted, 0, 'a dial at 10 500 crowds the window ending at the other campaign’s 10 900');
  assert.equal(r.freesAtMs, 11_400);
  // Dials after the other campaign's window are admitted.
  assert.deepEqual(admitByRate(other, slots(11_900, 500, 2), 2), { admitted: 2 });
});

test('dials stop at the first that does not fit, so slots stay in order', () => {
  // At 3 per 1 s planned 400 ms apart on a 2-per-second trunk: 0 and 400 fit, 800 would be
  // the third within (−200, 800], and nothing after it is taken even if it would fit.
  assert.deepEqual(admitByRate([], slots(0, 400, 5), 2), { admitted: 2, freesAtMs: 1000 });
  // A fractional rate is floored; a rate below one admits nothing.
  assert.equal(admitByRate([], slots(0, 1000, 3), 1.9).admitted, 3);
  assert.equal(admitByRate([], slots(0, 1000, 3), 0.5).admitted, 0);
});
