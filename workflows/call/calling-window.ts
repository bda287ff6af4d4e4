/**
 * Calling windows: the hours a contact may be called, in the contact's own time zone.
 * Pure and deterministic (time comes in as an argument), so the call workflow uses it
 * for durable sleeps and the campaign uses the same rules. Luxon does the time-zone and
 * daylight-saving arithmetic.
 */
import { DateTime } from 'luxon';

export interface CallingWindow {
  /** ISO weekdays calls may be placed on, 1 = Monday ... 7 = Sunday. Default every day. */
  days?: number[];
  /** Local opening time, `HH:mm`. Default `08:00`. */
  start?: string;
  /** Local closing time, `HH:mm`, after `start`. Default `21:00`. */
  end?: string;
}

/** 08:00-21:00 local, every day: the common regulatory ceiling (stricter windows are configurable). */
export const defaultCallingWindow: Required<CallingWindow> = { days: [1, 2, 3, 4, 5, 6, 7], start: '08:00', end: '21:00' };

function minutesOf(hhmm: string): number {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
  if (!m) throw new RangeError(`time of day must be HH:mm, got ${JSON.stringify(hhmm)}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/** Returns why a window or time zone is unusable, or undefined when it is fine. */
export function windowProblem(window: CallingWindow, timeZone: string): string | undefined {
  if (!DateTime.now().setZone(timeZone).isValid) return `unknown time zone ${JSON.stringify(timeZone)}`;
  const w = { ...defaultCallingWindow, ...window };
  try {
    if (minutesOf(w.start) >= minutesOf(w.end)) return 'the window must open before it closes';
  } catch (err) {
    return (err as Error).message;
  }
  if (w.days.length === 0 || w.days.some((d) => !Number.isInteger(d) || d < 1 || d > 7)) return 'days must be ISO weekdays 1-7';
  return undefined;
}

/**
 * When the window is next open, as epoch ms: `nowMs` itself if it is open now. Walks day
 * by day in the contact's zone, so a DST change moves the opening with the wall clock.
 */
export function nextWindowOpenMs(window: CallingWindow, timeZone: string, nowMs: number): number {
  const w = { ...defaultCallingWindow, ...window };
  const start = minutesOf(w.start);
  const end = minutesOf(w.end);
  const now = DateTime.fromMillis(nowMs, { zone: timeZone });
  for (let dayOffset = 0; dayOffset <= 7; dayOffset++) {
    const day = now.plus({ days: dayOffset }).startOf('day');
    if (!w.days.includes(day.weekday)) continue;
    const opens = day.set({ hour: Math.floor(start / 60), minute: start % 60 });
    const closes = day.set({ hour: Math.floor(end / 60), minute: end % 60 });
    if (now >= closes) continue;
    return Math.max(opens.toMillis(), nowMs);
  }
  throw new RangeError('the calling window never opens');
}

/** True when a call may be placed at `nowMs`. */
export function isWindowOpen(window: CallingWindow, timeZone: string, nowMs: number): boolean {
  return nextWindowOpenMs(window, timeZone, nowMs) === nowMs;
}
