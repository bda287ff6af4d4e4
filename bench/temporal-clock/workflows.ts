/**
 * The probe workflow for run.ts: every 1.5 s it reads its clock and chooses its next
 * command by it, as a campaign does: `noteLateClock` if more than 2.5 s passed since the
 * last reading, else `noteClock`. The clock is `Date.now()` (the task's) or the campaign's
 * history clock (workflows/campaign/clock.ts). The activity's input keeps both readings,
 * so the history shows the task clock each workflow task ran with, and a replay that
 * reads another time for its choice chooses another activity (a nondeterminism error).
 */
import { defineQuery, proxyActivities, setHandler } from '@temporalio/workflow';
import { HistoryClock } from '../../workflows/campaign/clock.js';

export interface Note {
  seq: number;
  /** `Date.now()` in the task that chose. */
  nowMs: number;
  /** The reading the choice was made by. */
  choiceMs: number;
}
type Noted = { finishedAtMs: number } | undefined;
const { noteClock, noteLateClock } = proxyActivities<{ noteClock(x: Note): Promise<Noted>; noteLateClock(x: Note): Promise<Noted> }>({ startToCloseTimeout: '10 seconds' });
export const seqQuery = defineQuery<number>('seq');

export async function clockProbe(n: number, clockKind: 'task' | 'history' = 'task'): Promise<void> {
  let seq = 0;
  let lastMs: number | undefined;
  const clock = new HistoryClock(Date.now());
  setHandler(seqQuery, () => seq);
  for (; seq < n; seq++) {
    const nowMs = Date.now();
    const choiceMs = clockKind === 'history' ? clock.nowMs() : nowMs;
    const late = lastMs !== undefined && choiceMs - lastMs > 2500;
    lastMs = choiceMs;
    const noted = await (late ? noteLateClock : noteClock)({ seq, nowMs, choiceMs });
    clock.heard(noted?.finishedAtMs);
    await clock.waitUntil(() => false, 1500);
  }
}
