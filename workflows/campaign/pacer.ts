/**
 * The campaign's pace: call slots spaced 1/callsPerSecond apart on a fixed grid, on the
 * workflow's clock, carried across continue-as-new as one number (the next slot's time).
 * A campaign that could not dial for a while (window closed, lines full) does not make
 * up for it in a burst: slots older than `backlogMs` are dropped; the rest stay owed.
 */

/**
 * Three seconds: a loop pass (a claim, the starts, a write) is several round trips through
 * Temporal and took up to 2.6 s on a busy 2-core machine (bench/results/campaign-paced.md);
 * owing less than a pass's length would cap the pace at what one pass dials. A burst is
 * still bounded by the campaign's lines and, in `claimDials`, by the trunk's calls per
 * second, so owing more only lets a slow loop keep the pace.
 */
const backlogMs = 3000;
export interface SlotPlan {
  /** Slots whose time has come. */
  count: number;
  /** Planned time of the first of them; the i-th is `firstAtMs + i * intervalMs`. */
  firstAtMs: number;
  intervalMs: number;
}

/**
 * Slots open at `nowMs`, given when the next one was due. Slots stay on their grid: a
 * loop that wakes late takes the slot it was late for, and the next one is still an
 * interval after it, so a pass's own delay never lowers the pace.
 */
export function dueSlots(nextSlotAtMs: number, nowMs: number, callsPerSecond: number): SlotPlan {
  const intervalMs = 1000 / callsPerSecond;
  if (nextSlotAtMs > nowMs) return { count: 0, firstAtMs: nextSlotAtMs, intervalMs };
  // Slots after the next one whose time has come too, and how many of those may be owed.
  const dueAfterNext = Math.floor((nowMs - nextSlotAtMs) / intervalMs);
  const dropped = Math.max(0, dueAfterNext - Math.floor(backlogMs / intervalMs));
  return { count: dueAfterNext - dropped + 1, firstAtMs: nextSlotAtMs + dropped * intervalMs, intervalMs };
}

/** The next slot after `used` of the plan's slots were taken. */
export function nextSlotAfter(plan: SlotPlan, used: number): number {
  return plan.firstAtMs + used * plan.intervalMs;
}

/**
 * The pacer before slots kept their grid: a late loop's slot was moved to when it woke,
 * so each pass's delay lowered the pace. Campaign runs that started with it replay with
 * it (`patched('pacer-keeps-grid')` in campaign.ts); remove once none are running.
 */
export function dueSlotsMovedToWake(nextSlotAtMs: number, nowMs: number, callsPerSecond: number): SlotPlan {
  const intervalMs = 1000 / callsPerSecond;
  const maxOwed = Math.max(1, Math.ceil(1000 / intervalMs));
  const firstAtMs = Math.max(nextSlotAtMs, nowMs - (maxOwed - 1) * intervalMs);
  const count = firstAtMs > nowMs ? 0 : Math.floor((nowMs - firstAtMs) / intervalMs) + 1;
  return { count, firstAtMs, intervalMs };
}
