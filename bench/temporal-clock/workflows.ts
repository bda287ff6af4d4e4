/**
 * The probe workflow for run.ts: every 1.5 s it reads its clock (`Date.now()`) and chooses
 * its next command by it, as a campaign does: `noteLateClock` if more than 2.5 s passed
 * since the last reading, else `noteClock`. The activity's input keeps the reading, so the
 * history shows the clock each workflow task ran with, and a replay that reads another
 * time chooses another activity (a nondeterminism error).
 */
import { defineQuery, proxyActivities, setHandler, sleep } from '@temporalio/workflow';

interface Note {
  seq: number;
  nowMs: number;
}
const { noteClock, noteLateClock } = proxyActivities<{ noteClock(x: Note): Promise<void>; noteLateClock(x: Note): Promise<void> }>({ startToCloseTimeout: '10 seconds' });
export const seqQuery = defineQuery<number>('seq');

export async function clockProbe(n: number): Promise<void> {
  let seq = 0;
  let lastMs: number | undefined;
  setHandler(seqQuery, () => seq);
  for (; seq < n; seq++) {
    const nowMs = Date.now();
    const late = lastMs !== undefined && nowMs - lastMs > 2500;
    lastMs = nowMs;
    await (late ? noteLateClock : noteClock)({ seq, nowMs });
    await sleep(1500);
  }
}
