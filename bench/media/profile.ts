/**
 * `npm run bench -- media-profile`: where one call's CPU goes. For each variant, one warm
 * worker takes one call of N turns; the job process's CPU is read per thread from /proc
 * over the call (JavaScript thread, V8's helpers, libuv's pool, native libraries' own
 * threads) and its JavaScript thread is profiled by V8 (`profiled-agent.ts`). Writes
 * bench/results/media-profile.md and its JSON; the .cpuprofile files stay in a temporary
 * folder named in the report.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../deploy/config.js';
import { createCallClients, runCall, type CallResult } from './call.js';
import { setUpWindowMs, summariseProfile, type CpuProfile, type ProfileSummary } from './cpu-profile.js';
import { TreeSampler, jobProcesses, threadCores, threadTicks } from './proc-sampler.js';
import { machineInfo } from './report.js';
import { sampleIntervalMs, untilWarm } from './run.js';
import { defaultInjectedLatencies, injectLatencies, resetSimulators, simulatorUrls } from './sim-admin.js';
import { startWorker } from './workers.js';
import { variants, type Variant } from './worker-protocol.js';
import { disposeRtcRuntime } from '../../media/rtc-runtime.js';

export interface ProfileRun {
  variant: Variant;
  callSeconds: number;
  turnsAnswered: number;
  /** The job process's CPU over the call, in cores, per thread name. */
  threadCores: Record<string, number>;
  jobCores: number;
  /** The job's JavaScript thread, by V8's sampling profiler (absent if no profile was written). */
  javascript?: ProfileSummary;
  profileFile?: string;
  call: Pick<CallResult, 'timeouts' | 'error' | 'greetingHeardAfterJoinMs'>;
}

export interface MediaProfileResults {
  benchmark: 'media-profile';
  date: string;
  startedAt: string;
  gitCommit: string;
  gitDirty: boolean;
  machine: ReturnType<typeof machineInfo>['machine'];
  turns: number;
  profileDir: string;
  runs: ProfileRun[];
}

const workerPorts: Record<Variant, number> = { ours: 18_293, bare: 18_294 };

async function waitForFile(dir: string, prefix: string, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = readdirSync(dir).find((f) => f.startsWith(prefix) && f.endsWith('.cpuprofile'));
    if (found) return join(dir, found);
    await new Promise((r) => setTimeout(r, 250));
  }
  return undefined;
}

async function profileVariant(variant: Variant, turns: number, runId: string, profileDir: string, log: (line: string) => void): Promise<ProfileRun> {
  const config = loadConfig();
  const worker = await startWorker({
    variant,
    agentName: `kickcall-profile-${variant}-${runId}`,
    httpPort: workerPorts[variant],
    maxConcurrentCalls: 1,
    idleProcesses: 1,
    logPath: join(profileDir, `${variant}-worker.log`),
    registerTimeoutMs: 60_000,
    profileDir,
  });
  const sampler = new TreeSampler({ [variant]: { pid: worker.pid, descendants: true } }, sampleIntervalMs);
  sampler.start();
  try {
    await untilWarm(sampler, variant, 1, 90_000);
    const [jobPid] = jobProcesses(sampler.pidsNow(variant));
    if (jobPid === undefined) throw new Error(`${variant}: no job process`);
    log(`${variant}: job process ${jobPid} warm; calling with ${turns} turns`);
    const before = threadTicks(jobPid);
    const startedAtMs = Date.now();
    const call = await runCall(createCallClients(config), { agentName: worker.agentName, callId: `profile_${runId}_${variant}`, turns });
    // Read before the job shuts down: its threads are gone once it has.
    const after = threadTicks(jobPid);
    const callSeconds = (Date.now() - startedAtMs) / 1000;
    const cores = threadCores(before, after, callSeconds);
    const profileFile = await waitForFile(profileDir, `${variant}-`, 20_000);
    const run: ProfileRun = {
      variant,
      callSeconds: Math.round(callSeconds * 10) / 10,
      turnsAnswered: call.turns.filter((t) => t.voiceToVoiceMs !== null).length,
      threadCores: Object.fromEntries(Object.entries(cores).map(([k, v]) => [k, Math.round(v * 1000) / 1000])),
      jobCores: Math.round(Object.values(cores).reduce((a, b) => a + b, 0) * 1000) / 1000,
      ...(profileFile ? { javascript: summariseProfile(JSON.parse(readFileSync(profileFile, 'utf8')) as CpuProfile), profileFile } : {}),
      call: { timeouts: call.timeouts, greetingHeardAfterJoinMs: call.greetingHeardAfterJoinMs, ...(call.error ? { error: call.error } : {}) },
    };
    log(`${variant}: ${run.jobCores} cores over ${run.callSeconds} s, ${run.turnsAnswered}/${turns} turns answered; profile ${profileFile ?? 'not written'}`);
    return run;
  } finally {
    sampler.stop();
    await worker.stop(30_000);
  }
}

export async function runMediaProfile(turns: number, log: (line: string) => void): Promise<MediaProfileResults> {
  const startedAt = new Date();
  const runId = randomBytes(3).toString('hex');
  const profileDir = mkdtempSync(join(tmpdir(), 'kickcall-profile-'));
  const sims = simulatorUrls(loadConfig());
  const info = machineInfo();
  try {
    await injectLatencies(sims, defaultInjectedLatencies);
    const runs: ProfileRun[] = [];
    // One at a time: the other variant's processes must not share the cores.
    for (const variant of variants) runs.push(await profileVariant(variant, turns, runId, profileDir, log));
    return { benchmark: 'media-profile', date: startedAt.toISOString().slice(0, 10), startedAt: startedAt.toISOString(), ...info, turns, profileDir, runs };
  } finally {
    await resetSimulators(sims).catch(() => undefined);
    await disposeRtcRuntime();
  }
}

const pct = (share: number) => `${(share * 100).toFixed(1)} %`;

export function renderProfileMarkdown(r: MediaProfileResults, jsonName: string, rerun: string): string {
  const threadNames = [...new Set(r.runs.flatMap((run) => Object.keys(run.threadCores)))].sort(
    (a, b) => Math.max(...r.runs.map((run) => run.threadCores[b] ?? 0)) - Math.max(...r.runs.map((run) => run.threadCores[a] ?? 0)),
  );
  const lines = [
    '# Where one call’s CPU goes',
    '',
    `Run ${r.startedAt} at \`${r.gitCommit.slice(0, 12)}\`${r.gitDirty ? ' (uncommitted changes)' : ''} on ${r.machine.nproc} × ${r.machine.cpuModel}, Node ${r.machine.node}. Figures: [\`${jsonName}\`](${jsonName}).`,
    '',
    `One call of ${r.turns} caller turns per variant, in a warm job process, with the simulators' default injected latencies. Rerun: \`${rerun}\`.`,
    '',
    '## The job process by thread (cores over the call)',
    '',
    `| thread | ${r.runs.map((run) => run.variant).join(' | ')} |`,
    `|---|${r.runs.map(() => '---:').join('|')}|`,
    ...threadNames.map((name) => `| \`${name}\` | ${r.runs.map((run) => (run.threadCores[name] ?? 0).toFixed(3)).join(' | ')} |`),
    `| **all** | ${r.runs.map((run) => `**${run.jobCores.toFixed(3)}**`).join(' | ')} |`,
    '',
    `Call length: ${r.runs.map((run) => `${run.variant} ${run.callSeconds} s, ${run.turnsAnswered}/${r.turns} turns answered`).join('; ')}.`,
    '',
  ];
  for (const run of r.runs) {
    if (!run.javascript) {
      lines.push(`## ${run.variant}: no JavaScript profile was written`, '');
      continue;
    }
    const js = run.javascript;
    lines.push(
      `## ${run.variant}: the JavaScript thread (V8 sampling profiler, self time)`,
      '',
      `Busy ${js.busyMs} ms of ${js.wallMs} ms (${pct(js.busyMs / js.wallMs)}).`,
      '',
      ...(js.underKickcall
        ? [
            `With Kickcall's code (\`media/\`, \`workers/\`, \`deploy/\`) on the stack: ${js.underKickcall.setUpMs} ms in the first ${setUpWindowMs / 1000} s (set-up: config, NATS, the session's start, the greeting), ${js.underKickcall.callMs} ms in the rest of the call (${run.turnsAnswered > 0 ? `${(js.underKickcall.callMs / run.turnsAnswered).toFixed(1)} ms per answered turn` : 'no turn answered'}).`,
            '',
          ]
        : []),
      '| package | ms | share of wall time |',
      '|---|---:|---:|',
      ...js.byPackage.slice(0, 12).map((p) => `| ${p.name} | ${p.ms} | ${pct(p.share)} |`),
      '',
      '| function | ms | share |',
      '|---|---:|---:|',
      ...js.topFunctions.slice(0, 12).map((f) => `| \`${f.name.replace(/\|/g, '\\|')}\` | ${f.ms} | ${pct(f.share)} |`),
      '',
    );
  }
  return `${lines.join('\n')}\n`;
}

export function writeProfileResults(r: MediaProfileResults, rerun: string): { json: string; markdown: string } {
  const jsonName = `media-profile-${r.date}.json`;
  const json = fileURLToPath(new URL(`../results/${jsonName}`, import.meta.url));
  const markdown = fileURLToPath(new URL('../results/media-profile.md', import.meta.url));
  writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(markdown, renderProfileMarkdown(r, jsonName, rerun));
  return { json, markdown };
}
