/**
 * CPU and memory of process trees, read from /proc every `intervalMs`: a root process
 * and all its descendants (the media worker and the job processes it forks). CPU is
 * utime+stime deltas of the processes present in two consecutive samples (a job that
 * exits between samples loses at most one interval); memory is VmRSS from
 * /proc/<pid>/status and Pss from /proc/<pid>/smaps_rollup (RSS counts shared library
 * pages once per process; PSS splits them, so it is the fairer per-call figure).
 *
 * Pss is read every `pssEveryMs`, not every sample: the kernel walks a process's page
 * tables to answer smaps_rollup, and for a tree of job processes of 300–900 MB each that
 * cost 29 ms of the benchmark's own CPU per sample, 6 % of a core on the cores it measures
 * (a V8 profile of the benchmark process, 2026-12-07). VmRSS is a counter the kernel
 * keeps, cheap to read: every sample has it, so a short window (the idle baseline) and the
 * peak see it as before.
 *
 * Linux only; `pidusage` would need one call per pid and knows no trees, /proc is
 * simpler and exact.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** One sample of one tree. */
export interface TreeSample {
  /** Epoch ms. */
  atMs: number;
  pids: number;
  /** CPU used since the previous sample, in cores (1 = one core busy). Null for the first. */
  cores: number | null;
  /** The same, per process of the tree (empty for the first sample). */
  coresByPid: Map<number, number>;
  rssKiB: number;
  /** Null in samples between Pss readings (`pssEveryMs`). */
  pssKiB: number | null;
}

/** A process to sample, with or without its descendants. */
export interface TreeRoot {
  pid: number;
  descendants: boolean;
}

interface ProcStat {
  ppid: number;
  cpuTicks: number;
}

const clockTicksPerS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function readStat(pid: number, path = `/proc/${pid}/stat`): ProcStat | undefined {
  try {
    const text = readFileSync(path, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined; // exited between listing and reading
  }
}

function readKiB(path: string, key: string): number {
  try {
    const m = readFileSync(path, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The root and every descendant alive now, with their CPU ticks. */
function treeOf(rootPid: number, all: Map<number, ProcStat>): Map<number, ProcStat> {
  const children = new Map<number, number[]>();
  for (const [pid, s] of all) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  const tree = new Map<number, ProcStat>();
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    const stat = all.get(pid);
    if (!stat || tree.has(pid)) continue;
    tree.set(pid, stat);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

function allProcesses(): Map<number, ProcStat> {
  const all = new Map<number, ProcStat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) all.set(Number(name), stat);
  }
  return all;
}

/** Samples named process trees on a timer until stopped. */
export class TreeSampler {
  readonly samples = new Map<string, TreeSample[]>();
  readonly #roots: Map<string, TreeRoot>;
  readonly #previous = new Map<string, { atMs: number; ticks: Map<number, number> }>();
  #timer: NodeJS.Timeout | undefined;
  #pssReadAtMs = -Infinity;

  /** `roots`: a label for each tree and its root process. */
  constructor(
    roots: Record<string, TreeRoot>,
    readonly intervalMs = 500,
    readonly pssEveryMs = 5_000,
  ) {
    this.#roots = new Map(Object.entries(roots));
    for (const label of this.#roots.keys()) this.samples.set(label, []);
  }

  start(): void {
    this.sample();
    this.#timer = setInterval(() => this.sample(), this.intervalMs);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  sample(): void {
    const atMs = Date.now();
    const all = allProcesses();
    const readPss = atMs - this.#pssReadAtMs >= this.pssEveryMs;
    if (readPss) this.#pssReadAtMs = atMs;
    for (const [label, root] of this.#roots) {
      const tree = root.descendants ? treeOf(root.pid, all) : treeOf(root.pid, new Map([...all].filter(([pid]) => pid === root.pid)));
      const ticks = new Map([...tree].map(([pid, s]) => [pid, s.cpuTicks]));
      const prev = this.#previous.get(label);
      let cores: number | null = null;
      const coresByPid = new Map<number, number>();
      if (prev && atMs > prev.atMs) {
        const perTick = 1 / clockTicksPerS / ((atMs - prev.atMs) / 1000);
        let delta = 0;
        for (const [pid, t] of ticks) {
          const before = prev.ticks.get(pid);
          if (before === undefined) continue;
          delta += t - before;
          coresByPid.set(pid, (t - before) * perTick);
        }
        cores = delta * perTick;
      }
      this.#previous.set(label, { atMs, ticks });
      let rssKiB = 0;
      let pssKiB: number | null = readPss ? 0 : null;
      for (const pid of tree.keys()) {
        rssKiB += readKiB(`/proc/${pid}/status`, 'VmRSS');
        if (pssKiB !== null) pssKiB += readKiB(`/proc/${pid}/smaps_rollup`, 'Pss');
      }
      this.samples.get(label)!.push({ atMs, pids: tree.size, cores, coresByPid, rssKiB, pssKiB });
    }
  }

  /** The processes of one tree now (the root included). */
  pidsNow(label: string): Set<number> {
    const root = this.#roots.get(label);
    if (!root) throw new Error(`no tree labelled ${label}`);
    return new Set(treeOf(root.pid, allProcesses()).keys());
  }

  /** Samples of one tree taken within [fromMs, toMs] (epoch ms). */
  window(label: string, fromMs: number, toMs: number): TreeSample[] {
    return (this.samples.get(label) ?? []).filter((s) => s.atMs >= fromMs && s.atMs <= toMs);
  }
}

/** The processes whose parent is `pid`, alive now. */
export function childrenOf(pid: number): number[] {
  return [...allProcesses()].filter(([, stat]) => stat.ppid === pid).map(([child]) => child);
}

/** Which of `pids` are LiveKit Agents job processes (forked from `job_proc_lazy_main`). */
export function jobProcesses(pids: Iterable<number>): number[] {
  return [...pids].filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('job_proc_lazy_main');
    } catch {
      return false; // exited between listing and reading
    }
  });
}

export function countJobProcesses(pids: Iterable<number>): number {
  return jobProcesses(pids).length;
}

/**
 * CPU ticks of one process by thread name (`/proc/<pid>/task/<tid>/comm`): threads of the
 * same name (a pool's workers) are summed. Two readings apart give where a process's CPU
 * went: its JavaScript thread, V8's helpers, libuv's pool, native libraries' own threads.
 */
export function threadTicks(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byName; // exited
  }
  for (const tid of tids) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const stat = readStat(Number(tid), `/proc/${pid}/task/${tid}/stat`);
      if (stat) byName.set(name, (byName.get(name) ?? 0) + stat.cpuTicks);
    } catch {
      // the thread ended between listing and reading
    }
  }
  return byName;
}

/** Cores per thread name between two `threadTicks` readings `seconds` apart. */
export function threadCores(before: Map<string, number>, after: Map<string, number>, seconds: number): Record<string, number> {
  const cores: Record<string, number> = {};
  for (const [name, ticks] of after) cores[name] = (ticks - (before.get(name) ?? 0)) / clockTicksPerS / seconds;
  return cores;
}
