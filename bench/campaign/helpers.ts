/**
 * Small helpers shared by the campaign benchmark's files: rounding, sleeping, and the
 * scheduling-lag and achieved-pace summaries (the run's phases and the history analysis
 * both use them).
 */
import { percentile } from '../media/stats.js';

const round1 = (v: number) => Math.round(v * 10) / 10;
export const round3 = (v: number) => Math.round(v * 1000) / 1000;
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface LagSummary {
  n: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

export interface LagMinute {
  /** Minutes since the campaign's first call. */
  minute: number;
  lag: LagSummary;
  /** Cores busy on average over the minute, per process tree and the whole machine (sampled each second). */
  cpuCores?: Record<string, number>;
  /** The machine's busiest second in the minute, in cores. */
  machineBusyMaxCores?: number;
}

/** Scheduling lag per minute of the run, by when each call was created. */
export function lagByMinute(
  rows: readonly { created_at: Date; scheduling_lag_ms: number | null }[],
  cpu?: (t0Ms: number) => Map<number, { mean: Record<string, number>; machineBusyMaxCores: number }>,
): LagMinute[] {
  const measured = rows.filter((r) => r.scheduling_lag_ms !== null);
  if (measured.length === 0) return [];
  const t0 = Math.min(...measured.map((r) => r.created_at.getTime()));
  const cpuMinutes = cpu?.(t0);
  const byMinute = new Map<number, number[]>();
  for (const r of measured) {
    const minute = Math.floor((r.created_at.getTime() - t0) / 60_000);
    byMinute.set(minute, [...(byMinute.get(minute) ?? []), r.scheduling_lag_ms!]);
  }
  return [...byMinute]
    .sort((a, b) => a[0] - b[0])
    .map(([minute, lags]) => {
      const c = cpuMinutes?.get(minute);
      return { minute, lag: lagSummary(lags), ...(c ? { cpuCores: c.mean, machineBusyMaxCores: c.machineBusyMaxCores } : {}) };
    });
}

export function lagSummary(values: readonly number[]): LagSummary {
  const sorted = [...values].sort((a, b) => a - b);
  const r = (v: number | null) => (v === null ? null : round1(v));
  return {
    n: sorted.length,
    p50: r(percentile(sorted, 50)),
    p95: r(percentile(sorted, 95)),
    p99: r(percentile(sorted, 99)),
    max: r(sorted.at(-1) ?? null),
    mean: r(sorted.length ? sorted.reduce((s, v) => s + v, 0) / sorted.length : null),
  };
}

export interface PaceFigures {
  dials: number;
  /** Dials between the trimmed ends, and the span they cover. */
  dialsMeasured: number;
  spanS: number;
  callsPerSecond: number | null;
}

/** Dials per second over the run, leaving out `trimShare` of the dials at each end. */
export function achievedPace(timesMs: readonly number[], trimShare: number): PaceFigures {
  const t = [...timesMs].sort((a, b) => a - b);
  if (t.length < 3) return { dials: t.length, dialsMeasured: t.length, spanS: 0, callsPerSecond: null };
  const i0 = Math.floor(t.length * trimShare);
  const i1 = Math.max(i0 + 1, Math.ceil(t.length * (1 - trimShare)) - 1);
  const spanMs = t[i1]! - t[i0]!;
  return { dials: t.length, dialsMeasured: i1 - i0 + 1, spanS: round3(spanMs / 1000), callsPerSecond: spanMs > 0 ? round3(((i1 - i0) * 1000) / spanMs) : null };
}
