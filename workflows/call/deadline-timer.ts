/**
 * One durable timer for the conversation's earliest deadline, kept while later events only
 * push that deadline back.
 *
 * The conversation waits for its next event or its earliest deadline; nearly every event
 * (a turn, its metrics, its usage) moves the silence deadline later. Cancelling the timer
 * and starting a new one for each event put a TimerCanceled and a TimerStarted (an action)
 * into history per event, four or more per turn, between the turns an engineer reads.
 * Kept instead, the timer may fire before the deadline that now matters; the loop then
 * finds nothing due at the time it fired and waits again for what is left. A deadline
 * that moves earlier (a gap in the events, a voicemail) still gets a timer of its own.
 */
import { condition } from '@temporalio/workflow';
import { startDurableTimer, type DurableTimer } from '../durable-timer.js';

export class DeadlineTimer {
  private timer: DurableTimer | undefined;

  /**
   * Waits until `woken()` holds or a timer fires no later than `deadlineMs`. Returns
   * undefined when woken, otherwise the deadline the fired timer was set for (at or
   * before `deadlineMs`), by which the caller judges what is due.
   */
  async wait(woken: () => boolean, deadlineMs: number, nowMs: number): Promise<number | undefined> {
    if (this.timer === undefined || this.timer.fired || this.timer.deadlineMs > deadlineMs) {
      this.cancel();
      this.timer = startDurableTimer(deadlineMs, Math.max(1, deadlineMs - nowMs));
    }
    const timer = this.timer;
    await condition(() => woken() || timer.fired);
    return woken() ? undefined : timer.deadlineMs;
  }

  /** The wait is over for good (the call ended): a pending timer goes, as it did before. */
  cancel(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}
