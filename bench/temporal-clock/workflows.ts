/**
 * The probe workflow for run.ts: every 1.5 s it hands its own clock (`Date.now()`) to an
 * activity, so the history shows the clock each workflow task ran with.
 */
import { defineQuery, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
const { noteClock } = proxyActivities<{ noteClock(x: { seq: number; nowMs: number }): Promise<void> }>({ startToCloseTimeout: '10 seconds' });
export const seqQuery = defineQuery<number>('seq');
export async function clockProbe(n: number): Promise<void> {
  let seq = 0;
  setHandler(seqQuery, () => seq);
  for (; seq < n; seq++) {
    await noteClock({ seq, nowMs: Date.now() });
    await sleep(1500);
  }
}
