/**
 * The probe workflow for run.ts: every 1.5 s it reads its clock and chooses its next
 * command by it, as a campaign does: `noteLateClock` if more than 2.5 s passed since the
 * last reading, else `noteClock`. The clock is `Date.now()` (the task's) or the campaign's
 * history clock (workflows/campaign/clock.ts). The activity's input keeps both readings,
 * so the history shows the task clock each workflow task ran with, and a replay that
 * reads another time for its choice chooses another activity (a nondeterminism error).
 */
import { defineQuery, defineSignal, defineUpdate, proxyActivities, setHandler } from '@temporalio/workflow';
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

/**
 * The probe workflow for wake.ts: the campaign's sleep on its lines, reduced. Each pass
 * claims (an activity that returns the number of the last wake it saw) and then sleeps
 * until a wake or 2 s. `flag` wakes as campaign runs before numbered wakes did: a signal
 * sets a flag that each pass clears as it begins, and a pass that finds it set passes again
 * at once. `numbered` wakes as the campaign does now (workflows/campaign/campaign.ts): the
 * signal's number counts only in the sleep's predicate, against the claim's.
 *
 * The two `control-*` modes wake by an update instead, as an operator's pause does: it
 * makes the next pass a paused one (a short timer before it claims, where a running pass
 * claims at once). `control-at-once` applies it in the handler and raises the wake flag, as
 * the campaign's pause does. `control-after-sleep` keeps it pending, counts it only in the
 * sleep's predicate and applies it when the sleep ends, so that every choice is the same
 * whichever order the update and the claim's result come in; it still fails replay
 * (bench/results/temporal-clock-wake.md says why), so the campaign does not use it.
 */
export const wakeModes = ['flag', 'numbered', 'control-at-once', 'control-after-sleep'] as const;
export type WakeMode = (typeof wakeModes)[number];
export const wokenSignal = defineSignal<[{ wakeSeq: number }]>('woken');
export const pauseOnceUpdate = defineUpdate<void>('pauseOnce');
export const passesQuery = defineQuery<number>('passes');

export async function wakeProbe(passes: number, wakes: WakeMode, activityQueue: string): Promise<void> {
  const { claim } = proxyActivities<{ claim(pass: number, wokenAsleep: boolean): Promise<{ wakeSeq: number; finishedAtMs: number }> }>({ startToCloseTimeout: '1 minute', taskQueue: activityQueue });
  const clock = new HistoryClock(Date.now());
  const flagged = wakes === 'flag' || wakes === 'control-at-once';
  let pass = 0;
  let wake = false;
  let heard = 0;
  let seen = 0;
  let paused = false;
  const pending: (() => void)[] = [];
  setHandler(wokenSignal, ({ wakeSeq }) => {
    if (wakes === 'flag') wake = true;
    else heard = Math.max(heard, wakeSeq);
  });
  setHandler(pauseOnceUpdate, () => {
    if (wakes === 'control-at-once') {
      paused = true;
      wake = true;
    } else pending.push(() => (paused = true));
  });
  setHandler(passesQuery, () => pass);
  // Whether the last pass went to sleep unwoken and a wake ended it: what a wake split
  // from its task looks like from inside. Only in the claim's input, which replay does
  // not compare, so the runner can tell a split from a wake that came with the task.
  let wokenAsleep = false;
  for (; pass < passes; pass++) {
    if (flagged) wake = false;
    if (paused) {
      paused = false;
      await clock.waitUntil(() => false, 50);
    }
    const claimed = await claim(pass, wokenAsleep);
    clock.heard(claimed.finishedAtMs);
    seen = claimed.wakeSeq;
    wokenAsleep = false;
    if (flagged && wake) continue;
    const woken = () => (flagged ? wake : heard > seen || pending.length > 0);
    const asleep = !woken();
    wokenAsleep = (await clock.waitUntil(woken, 2000)) && asleep;
    for (const apply of pending.splice(0)) apply();
  }
}
