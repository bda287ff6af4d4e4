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
  const ranked = (m: Map<string, number>, n: number): SelfTime[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), share: Math.round((us / 1000 / wallMs) * 1000) / 1000 }));
  return { wallMs: Math.round(wallMs), busyMs: Math.round((totalUs - idleUs) / 1000), byPackage: ranked(packages, 20), topFunctions: ranked(functions, top) };
}
