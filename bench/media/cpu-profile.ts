/**
 * Reads a V8 `.cpuprofile` (what `Profiler.stop` returns) into self time per package and
 * per function, so a report can say which library a job's JavaScript thread spends its
 * time in.
 */

export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  /** Share of the profile's wall time. */
  share: number;
}

export interface ProfileSummary {
  wallMs: number;
  /** Time the thread ran JavaScript or V8 work (everything but `(idle)`). */
  busyMs: number;
  byPackage: SelfTime[];
  topFunctions: SelfTime[];
  /**
   * Time sampled with Kickcall's product code (`media/`, `workers/`, `deploy/`; not the
   * benchmark's own `bench/`) anywhere on the stack: its own functions and every library
   * call they make synchronously (NATS publishes, zod parses, span ends), and any framework
   * work run inside one of its callbacks. Continuations after an `await` count when they
   * resume in its code. Split at `setUpWindowMs` after the profile starts (the job's entry):
   * connecting, parsing the call and starting the session, then the call itself. Absent
   * from results written before it existed.
   */
  underKickcall?: { setUpMs: number; callMs: number };
}

/** The job's set-up (NATS, config, session start, greeting) fits in its first 5 s. */
export const setUpWindowMs = 5_000;

const productFolders = /\/(media|workers|deploy)\//;

/** Whether a frame is Kickcall's product code rather than a package, Node, V8 or the benchmark. */
export function isProductFrame(url: string): boolean {
  return url !== '' && !url.startsWith('node:') && !url.includes('node_modules/') && !url.includes('/bench/') && productFolders.test(url);
}

/** Where a frame's code lives: an npm package, Node itself, Kickcall's own files, or V8. */
export function packageOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node (built-in modules)';
  const m = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/g);
  if (m) return m.at(-1)!.replace('node_modules/', '');
  const own = url.match(/\/(media|workers|deploy|bench|workflows|activities)\//);
  return own ? `kickcall ${own[1]}/` : url;
}

export function summariseProfile(profile: CpuProfile, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // A sample's delta is the time since the previous one: it belongs to the previous sample's node.
  for (let i = 1; i < samples.length; i++) selfUs.set(samples[i - 1]!, (selfUs.get(samples[i - 1]!) ?? 0) + deltas[i]!);
  const wallMs = (profile.endTime - profile.startTime) / 1000;
  const packages = new Map<string, number>();
  const functions = new Map<string, number>();
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const pkg = packageOf(frame.url, frame.functionName);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
    const fn = `${frame.functionName || '(anonymous)'} ${pkg}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    functions.set(fn, (functions.get(fn) ?? 0) + us);
  }
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  // A node is under product code if it or an ancestor is a product frame (walked from the
  // roots with an explicit stack: a deep async stack would overflow a recursive walk).
  const under = new Set<number>();
  const childIds = new Set(profile.nodes.flatMap((n) => n.children ?? []));
  const pending = profile.nodes.filter((n) => !childIds.has(n.id)).map((n) => ({ id: n.id, inherited: false }));
  for (let next = pending.pop(); next; next = pending.pop()) {
    const node = byId.get(next.id)!;
    const here = next.inherited || isProductFrame(node.callFrame.url);
    if (here) under.add(next.id);
    for (const child of node.children ?? []) pending.push({ id: child, inherited: here });
  }
  const underUs = { setUp: 0, call: 0 };
  let atUs = deltas[0] ?? 0;
  for (let i = 1; i < samples.length; i++) {
    atUs += deltas[i]!;
    if (under.has(samples[i - 1]!)) underUs[atUs <= setUpWindowMs * 1000 ? 'setUp' : 'call'] += deltas[i]!;
  }
  const ranked = (m: Map<string, number>, n: number): SelfTime[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), share: Math.round((us / 1000 / wallMs) * 1000) / 1000 }));
  return {
    wallMs: Math.round(wallMs),
    busyMs: Math.round((totalUs - idleUs) / 1000),
    byPackage: ranked(packages, 20),
    topFunctions: ranked(functions, top),
    underKickcall: { setUpMs: Math.round(underUs.setUp / 1000), callMs: Math.round(underUs.call / 1000) },
  };
}
