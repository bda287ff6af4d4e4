/**
 * The campaign's clock for the choices it makes by time (which slots are due, whether to
 * write outcomes now or claim first, when a redial falls due). It is read from history
 * alone, never from `Date.now()`, so a replay makes every choice the same way.
 *
 * Why not `Date.now()`: in a workflow it is the current workflow task's start time, and
 * sdk-core (core-bridge 1.24) can run a task's code with the previous task's time. After
 * the worker holding a workflow dies, a query that reaches another worker while the next
 * task is pending makes that worker run the new event with the old time and send the
 * commands it chose then; replay, given the right time, chose differently and the
 * workflow stopped on a nondeterminism error (bench/results/temporal-clock.md). That run
 * also splits the task's events into two activations (those before the query, then the
 * rest) where replay delivers them in one; `waitUntil` keeps the commands the same either
 * way for the campaign's common case, a signal that changes no plan.
 *
 * The clock only moves forward, by three things that are in history:
 * - the start of the run (a run's first task has no earlier task to borrow a time from),
 * - a timer that fired: the time it was set for,
 * - an activity's result: the activity's own clock as it finished (`finishedAtMs`).
 * A signal or an update does not move it, so between such events it lags the wall clock.
 * That is safe because every time-driven wait ends in a timer or an activity: a choice
 * that looks early is made at the next one, which moves the clock.
 */
import { condition } from '@temporalio/workflow';
import { startDurableTimer, type DurableTimer } from '../durable-timer.js';

export class HistoryClock {
  private ms: number;
  private timer: DurableTimer | undefined;

  constructor(startMs: number) {
    this.ms = startMs;
  }

  nowMs(): number {
    return this.ms;
  }

  /** An activity's reading of the time, as returned in its result (absent from older workers). */
  heard(finishedAtMs: number | undefined): void {
    if (finishedAtMs !== undefined && finishedAtMs > this.ms) this.ms = finishedAtMs;
  }

  /**
   * Waits until `woken()` holds or `timeoutMs` pass, like `condition`, and says whether it
   * was woken. The timer that ends the wait moves the clock to its deadline when it fires.
   *
   * A wait for the same deadline as the last one keeps that timer instead of cancelling it
   * and starting another: a signal that wakes the loop without changing its plans then
   * adds no command to history. That also keeps the commands the same however a task's
   * events are split into activations (the SDK race above splits them: a cancelled-and-
   * restarted timer then took a timer ID that replay gave to another).
   */
  async waitUntil(woken: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadlineMs = this.ms + timeoutMs;
    if (this.timer === undefined || this.timer.fired || this.timer.deadlineMs !== deadlineMs) {
      this.timer?.cancel();
      // The timer that fires moves the clock to its deadline.
      this.timer = startDurableTimer(deadlineMs, timeoutMs, () => {
        if (deadlineMs > this.ms) this.ms = deadlineMs;
      });
    }
    const timer = this.timer;
    await condition(() => woken() || timer.fired);
    return woken();
  }
}
