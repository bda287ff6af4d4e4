/**
 * A trunk's calls-per-second limit over planned dial times. Campaigns claim contacts a few
 * seconds before their slots, so the limit is checked against when each call will dial,
 * not when it was claimed: in no one-second window may more than the trunk's rate dial.
 */

export interface RateAdmission {
  /** How many of the planned dials, in order, fit. */
  admitted: number;
  /** When the first one that did not fit could dial (absent when all fit). */
  freesAtMs?: number;
}

/**
 * Admits planned dials in order while every one-second window (t − 1000 ms, t] ending at
 * a dial keeps at most `maxPerSecond` dials, counting those already leased on the trunk.
 * Stops at the first that does not fit, so a campaign's slots stay in order.
 */
export function admitByRate(leasedDialsMs: readonly number[], plannedMs: readonly number[], maxPerSecond: number): RateAdmission {
  const limit = Math.floor(maxPerSecond);
  const dials = [...leasedDialsMs];
  const inWindowEndingAt = (t: number) => dials.filter((d) => d > t - 1000 && d <= t).length;
  for (let i = 0; i < plannedMs.length; i++) {
    const at = plannedMs[i]!;
    dials.push(at);
    // Adding a dial at `at` fills every window ending at a dial within the next second.
    const crowded = dials.filter((d) => d >= at && d < at + 1000).some((t) => inWindowEndingAt(t) > limit);
    if (crowded || limit < 1) {
      dials.pop();
      const window = dials.filter((d) => d > at - 1000 && d <= at).sort((a, b) => a - b);
      return { admitted: i, freesAtMs: (window[0] ?? at) + 1000 };
    }
  }
  return { admitted: plannedMs.length };
}
