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

/**
 * How far ahead of a slot its contact is claimed and its call workflow started; the call
 * waits on its own timer until the slot (`outbound.ts`). The claim and the start are
 * several round trips through Temporal and PostgreSQL; done ahead, they are off the slot's
 * path. A pass claims about half of this window, so a slot is claimed about 2 s before its
 * time: a pass (outcomes, claim, starts) plus the call's first workflow task took up to
 * about 1.5 s on a busy 2-core machine (bench/results/campaign-paced.md).
 */
export const claimAheadMs = 4000;

export interface SlotPlan {
  /** Slots whose time has come. */
  count: number;
  /** Planned time of the first of them; the i-th is `firstAtMs + i * intervalMs`. */
  firstAtMs: number;
  intervalMs: number;
}

/**
 * Slots to claim at `nowMs`: those up to `aheadMs` from now, given when the next one was
 * due. Slots stay on their grid: a loop that wakes late takes the slot it was late for,
 * and the next one is still an interval after it, so a pass's own delay never lowers the
 * pace. Slots more than `backlogMs` in the past are dropped.
 */
export function dueSlots(nextSlotAtMs: number, nowMs: number, callsPerSecond: number, aheadMs = 0): SlotPlan {
  const intervalMs = 1000 / callsPerSecond;
  const horizonMs = nowMs + aheadMs;
  if (nextSlotAtMs > horizonMs) return { count: 0, firstAtMs: nextSlotAtMs, intervalMs };
  // Slots after the next one within the horizon too, and how many of the past ones may be owed.
  const afterNext = Math.floor((horizonMs - nextSlotAtMs) / intervalMs);
  const dropped = Math.max(0, Math.floor((nowMs - nextSlotAtMs) / intervalMs) - Math.floor(backlogMs / intervalMs));
  return { count: afterNext - dropped + 1, firstAtMs: nextSlotAtMs + dropped * intervalMs, intervalMs };
}

/** When the loop should claim again: once the next unclaimed slot is half the claim window away. */
export function nextClaimAtMs(nextSlotAtMs: number): number {
  return nextSlotAtMs - claimAheadMs / 2;
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
