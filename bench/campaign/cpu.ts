/**
 * The campaign benchmark's CPU figures: readings of process trees from /proc (the worker
 * it starts, the stack's Temporal server and PostgreSQL), their difference over a phase,
 * per 1,000 calls, and the shared servers' idle background measured before each phase.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../deploy/config.js';
import { round3, sleep } from './helpers.js';

// ---------------------------------------------------------------------------------------
// CPU from /proc: cumulative utime+stime of a process tree, exited children included.

const clockTicksPerS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface ProcTicks {
  ppid: number;
  /** utime + stime + cutime + cstime: the process and its children that exited and were reaped. */
  ticks: number;
}

function processTable(): Map<number, ProcTicks> {
  const table = new Map<number, ProcTicks>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      table.set(Number(name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) });
    } catch {
      // exited between listing and reading
    }
  }
  return table;
}

/**
 * CPU seconds used so far by `root` and its descendants alive now. A descendant that
 * exited and was reaped is in its parent's cutime/cstime, so the sum only grows: the
 * difference of two readings is the tree's CPU between them (a child still unreaped, a
 * zombie, is in neither for that moment).
 */
function treeCpuS(root: number, table: Map<number, ProcTicks>): number {
  const children = new Map<number, number[]>();
  for (const [pid, s] of table) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  let ticks = 0;
  const queue = [root];
  const seen = new Set<number>();
  while (queue.length > 0) {
    const pid = queue.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    const s = table.get(pid);
    if (!s) continue;
    ticks += s.ticks;
    queue.push(...(children.get(pid) ?? []));
  }
  return ticks / clockTicksPerS;
}

export type CpuReading = Record<string, number>;

export function readCpu(roots: Record<string, number>): CpuReading {
  const table = processTable();
  const out: CpuReading = {};
  for (const [label, pid] of Object.entries(roots)) out[label] = treeCpuS(pid, table);
  const u = process.cpuUsage();
  out.benchProcess = (u.user + u.system) / 1e6;
  return out;
}

export function cpuDelta(before: CpuReading, after: CpuReading): CpuReading {
  return Object.fromEntries(Object.keys(after).map((k) => [k, round3(after[k]! - (before[k] ?? 0))]));
}

/** The stack's Temporal server and PostgreSQL postmaster, from their pid files (pgrep as a fallback). */
export function stackPids(config: Config): { temporal: number; postgres: number } {
  const fromFile = (component: string, pattern: string): number => {
    const file = path.join(config.paths.stateDir, component, `${component}.pid`);
    const pid = existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : NaN;
    if (Number.isInteger(pid) && existsSync(`/proc/${pid}`)) return pid;
    try {
      const found = execFileSync('pgrep', ['-o', '-f', pattern], { encoding: 'utf8' }).trim().split('\n')[0];
      if (found) return Number(found);
    } catch {
      // not found
    }
    throw new Error(`no running ${component} found (is the stack up? npm run stack:up)`);
  };
  return { temporal: fromFile('temporal', 'temporal.* server start-dev'), postgres: fromFile('postgres', 'postgres -D') };
}

// ---------------------------------------------------------------------------------------
// CPU figures of one phase.

export interface CpuFigures {
  phaseS: number;
  /** CPU seconds over the phase, per process tree. */
  cpuS: CpuReading;
  /** worker + temporal + postgres. */
  totalCpuS: number;
  per1000Calls: { worker: number; temporal: number; postgres: number; total: number; workerAndTemporal: number };
  /** Background of the shared servers, measured idle just before the phase (cores). */
  baselineCores: { temporal: number; postgres: number };
  /** per1000Calls.total with the background (baseline cores × phase time) taken out. */
  netTotalPer1000Calls: number;
}

export function cpuFigures(cpuS: CpuReading, phaseS: number, calls: number, baselineCores: { temporal: number; postgres: number }): CpuFigures {
  const per = (v: number) => round3((v * 1000) / Math.max(1, calls));
  const worker = cpuS.worker ?? 0;
  const temporal = cpuS.temporal ?? 0;
  const postgres = cpuS.postgres ?? 0;
  const total = worker + temporal + postgres;
  const background = (baselineCores.temporal + baselineCores.postgres) * phaseS;
  return {
    phaseS: round3(phaseS),
    cpuS,
    totalCpuS: round3(total),
    per1000Calls: { worker: per(worker), temporal: per(temporal), postgres: per(postgres), total: per(total), workerAndTemporal: per(worker + temporal) },
    baselineCores,
    netTotalPer1000Calls: per(Math.max(0, total - background)),
  };
}

export async function measureBaseline(pids: { temporal: number; postgres: number }, seconds: number): Promise<{ temporal: number; postgres: number }> {
  const before = readCpu(pids);
  await sleep(seconds * 1000);
  const d = cpuDelta(before, readCpu(pids));
  return { temporal: round3((d.temporal ?? 0) / seconds), postgres: round3((d.postgres ?? 0) / seconds) };
}

// ---------------------------------------------------------------------------------------
// CPU second by second: the machine (/proc/stat) and each tree, to tell a minute whose
// lag rose because the 2 cores were full (and by whom) from one where they were not, and
// to see time the hypervisor gave to other guests (steal) and time the cores sat waiting
// on the disk (iowait: Temporal's dev server and PostgreSQL commit to it).

export interface CpuSample {
  atMs: number;
  /** Cores busy over the second before `atMs`, per tree (as `readCpu`), and the machine's. */
  cores: Record<string, number> & { machineBusy: number; machineSteal: number; machineIowait: number };
}

function machineTicks(): { busy: number; steal: number; iowait: number } {
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { busy: f[0]! + f[1]! + f[2]! + f[5]! + f[6]!, steal: f[7]!, iowait: f[4]! };
}

export function startCpuSampler(roots: Record<string, number>, everyMs = 1000): { stop(): CpuSample[] } {
  const samples: CpuSample[] = [];
  let last = { atMs: Date.now(), trees: readCpu(roots), machine: machineTicks() };
  const timer = setInterval(() => {
    const now = { atMs: Date.now(), trees: readCpu(roots), machine: machineTicks() };
    const s = (now.atMs - last.atMs) / 1000;
    const trees = Object.fromEntries(Object.keys(roots).map((k) => [k, round3((now.trees[k]! - (last.trees[k] ?? 0)) / s)]));
    samples.push({
      atMs: now.atMs,
      cores: {
        ...trees,
        machineBusy: round3((now.machine.busy - last.machine.busy) / clockTicksPerS / s),
        machineSteal: round3((now.machine.steal - last.machine.steal) / clockTicksPerS / s),
        machineIowait: round3((now.machine.iowait - last.machine.iowait) / clockTicksPerS / s),
      },
    });
    last = now;
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return samples;
    },
  };
}

/** Per-minute means of the samples, the minutes counted from `t0Ms`, with the busiest second's machine load. */
export function cpuByMinute(samples: readonly CpuSample[], t0Ms: number): Map<number, { mean: Record<string, number>; machineBusyMaxCores: number }> {
  const byMinute = new Map<number, CpuSample[]>();
  for (const s of samples) {
    const minute = Math.floor((s.atMs - t0Ms) / 60_000);
    if (minute >= 0) byMinute.set(minute, [...(byMinute.get(minute) ?? []), s]);
  }
  return new Map(
    [...byMinute].map(([minute, ss]) => [
      minute,
      {
        mean: Object.fromEntries(Object.keys(ss[0]!.cores).map((k) => [k, round3(ss.reduce((n, s) => n + s.cores[k]!, 0) / ss.length)])),
        machineBusyMaxCores: Math.max(...ss.map((s) => s.cores.machineBusy)),
      },
    ]),
  );
}
