/**
 * The campaign's pace: call slots spaced 1/callsPerSecond apart. Pure arithmetic on the
 * workflow's clock, carried across continue-as-new as one number (the next slot's time).
 * A campaign that could not dial for a while (window closed, lines full) does not make
 * up for it in a burst: at most `backlogMs` worth of missed slots (and at least one) are
 * still owed.
 */

/**
 * One second: a loop pass (a claim, the starts, a write) can take hundreds of ms on a busy
 * Temporal; owing less than a pass's length would cap the pace at what one pass dials.
 */
const backlogMs = 1000;
export interface SlotPlan {
  /** Slots whose time has come. */
  count: number;
  /** Planned time of the first of them; the i-th is `firstAtMs + i * intervalMs`. */
  firstAtMs: number;
  intervalMs: number;
}

/** Slots open at `nowMs`, given when the next one was due. */
export function dueSlots(nextSlotAtMs: number, nowMs: number, callsPerSecond: number): SlotPlan {
  const intervalMs = 1000 / callsPerSecond;
  const maxOwed = Math.max(1, Math.ceil(backlogMs / intervalMs));
  const firstAtMs = Math.max(nextSlotAtMs, nowMs - (maxOwed - 1) * intervalMs);
  const count = firstAtMs > nowMs ? 0 : Math.floor((nowMs - firstAtMs) / intervalMs) + 1;
  return { count, firstAtMs, intervalMs };
}

/** The next slot after `used` of the plan's slots were taken. */
export function nextSlotAfter(plan: SlotPlan, used: number): number {
  return plan.firstAtMs + used * plan.intervalMs;
}
