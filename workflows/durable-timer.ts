/**
 * A durable timer set for a deadline, which its owner may keep across waits or cancel:
 * the part shared by the call's kept silence timer (`call/deadline-timer.ts`) and the
 * campaign's history clock (`campaign/clock.ts`). Each decides when to keep one.
 */
import { CancellationScope, isCancellation, sleep } from '@temporalio/workflow';

export interface DurableTimer {
  readonly deadlineMs: number;
  /** True once the timer has fired; a fired timer cannot be cancelled. */
  readonly fired: boolean;
  /** Cancels the timer unless it has fired. */
  cancel(): void;
}

/** Starts a timer of `timeoutMs` for `deadlineMs`; `onFired` runs when it fires. */
export function startDurableTimer(deadlineMs: number, timeoutMs: number, onFired: () => void = () => undefined): DurableTimer {
  const scope = new CancellationScope();
  let fired = false;
  scope
    .run(() => sleep(timeoutMs))
    .then(
      () => {
        fired = true;
        onFired();
      },
      (err: unknown) => {
        // Cancelled by its owner (another deadline, or the wait is over): nothing to do.
        if (!isCancellation(err)) throw err;
      },
    );
  return {
    deadlineMs,
    get fired() {
      return fired;
    },
    cancel: () => {
      if (!fired) scope.cancel();
    },
  };
}
