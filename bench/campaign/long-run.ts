/**
 * A campaign too long for one sitting, run in segments: 100,000 contacts are about 144,000
 * dials, eight hours at the 5 calls/s this machine carries.
 *
 *   npm run bench -- campaign-long start    [--contacts 100000] [--cps 5] [--for-min 60] [--label campaign-100k]
 *   npm run bench -- campaign-long continue [--for-min 60] [--code <git ref>]
 *   npm run bench -- campaign-long status
 *
 * `start` seeds the contacts and starts the campaign; each segment runs the orchestration
 * worker (load mode, as `campaign` does) until the campaign completes, `--for-min` runs
 * out or the bench gets SIGINT/SIGTERM; then it pauses the campaign (`pauseCampaignUpdate`:
 * calls in flight finish), records the segment's figures and stops the worker.
 * `continue` starts the worker again on the same task queue and resumes. The stack may go
 * down and up in between: Temporal and PostgreSQL keep the campaign. A segment cut off
 * without a pause (the machine went away) is closed from its last heartbeat, and the
 * campaign simply carries on when its worker is back.
 *
 * The worker always runs the code the campaign started with, from a git worktree of that
 * commit under the stack directory: a paused campaign's workflow is replayed when it
 * resumes, and its history must meet the code that wrote it (what a deployment does with
 * worker versioning). `continue --code <ref>` moves a paused run onto newer code (a fix
 * behind `patched()`, say) only after the campaign's open history replays on it without a
 * nondeterminism error. Histories of closed workflows are kept 24 h by the dev server, so
 * each segment counts its own history figures when it ends.
 *
 * The run's state is a JSON file beside the stack's (`.stack/bench/<label>.json`);
 * results go to bench/results/<label>.md and its JSON after every segment, marked in
 * progress until the campaign completes and the audit has run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { Client, Connection, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { loadConfig, repoRoot, type Config } from '../../deploy/config.js';
import { createDb, type Db } from '../../deploy/db/schema.js';
import { startProcess, type RunningProcess } from '../../test/helpers/processes.js';
import { campaignWorkflow } from '../../workflows/campaign/campaign.js';
import { campaignStatsQuery, pauseCampaignUpdate, resumeCampaignUpdate } from '../../workflows/campaign/messages.js';
import type { CampaignConfig, CampaignStats } from '../../workflows/campaign/types.js';
import { campaignWorkflowId } from '../../workflows/ids.js';
import { auditCampaign } from './audit.js';
import { cpuDelta, readCpu, stackPids, type CpuReading } from './cpu.js';
import { loadCampaignConfig, numberedContacts, seedCampaign, seedTrunk } from './fixtures.js';
import { achievedPace, lagSummary, round3, sleep, type LagSummary, type PaceFigures } from './helpers.js';
import { analyseHistory, type ActionCounts, type HistoryFigures } from './history.js';
import { writeLongRunResults, type LongRunOverall } from './long-run-report.js';

export interface LongRunOptions {
  label: string;
  contacts: number;
  callsPerSecond: number;
  maxConcurrentCalls: number;
  /** How long this segment dials before it pauses (the campaign may complete sooner). */
  forMin: number;
  /** With `status`: a note on the last segment (what else the machine ran meanwhile). */
  note?: string;
  /** With `continue`: a git ref of newer code for this and later segments (see `moveToCode`). */
  code?: string;
}

/** What one segment measured, recorded when it ends. */
export interface Segment {
  index: number;
  commit: string;
  startedAt: string;
  /** Written every 15 s while the segment runs: where an interrupted segment is closed. */
  heartbeatAt: string;
  endedAt?: string;
  endedBy?: 'paused' | 'completed' | 'interrupted';
  /** CPU seconds per process tree since the segment began (worker, temporal, postgres). */
  cpuS: CpuReading;
  dials?: number;
  pace?: PaceFigures;
  schedulingLagMs?: LagSummary;
  contactsDoneAtEnd?: number;
  /** Call workflows of this segment whose histories were fetched: means per call. */
  callSample?: { n: number; eventsMean: number; actionsMean: ActionCounts };
  /** What else ran on the machine meanwhile, written by whoever ran it (`status --note`). */
  note?: string;
}

export interface LongRunState {
  version: 1;
  label: string;
  commit: string;
  worktree: string;
  tenantId: string;
  campaignId: string;
  taskQueue: string;
  seed: string;
  contacts: number;
  timeScale: number;
  campaignConfig: CampaignConfig;
  startedAt: string;
  /**
   * The worktree takes its packages from this checkout's node_modules: the Temporal SDK's
   * fingerprint (`dependencyFingerprint`), so a segment never replays on another SDK.
   */
  dependencies?: string;
  status: 'running' | 'completed';
  segments: Segment[];
  /** Campaign runs (continue-as-new) already counted, and their totals. */
  campaignRuns: { runIds: string[]; events: number; actions: ActionCounts };
  audit?: { contacts: number; calls: number; reattachedDials: number; problems: number; firstProblems: string[] };
}

const timeScale = 0.005;
/** Call workflow histories fetched at the end of each segment for its history figures. */
export const callSamplePerSegment = 100;
const heartbeatEveryMs = 15_000;

// ---------------------------------------------------------------------------------------
// State file and worktree.

const statePath = (config: Config, label: string) => path.join(config.paths.stackDir, 'bench', `${label}.json`);

function loadState(file: string): LongRunState | undefined {
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, 'utf8')) as LongRunState;
  if (state.version !== 1) throw new Error(`${file}: unknown state version ${String(state.version)}`);
  return state;
}

function saveState(file: string, state: LongRunState): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

const git = (args: string[]) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();

/**
 * The Temporal SDK as installed (the lock file's versions, and any patch of it): what a
 * workflow's replay depends on beside its own code. Other packages may change between
 * segments (the media worker's patches, say) without touching the campaign.
 */
function dependencyFingerprint(): string {
  const lock = JSON.parse(readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
  const hash = createHash('sha256');
  for (const [name, entry] of Object.entries(lock.packages).sort(([a], [b]) => a.localeCompare(b))) {
    if (name.includes('node_modules/@temporalio/')) hash.update(`${name}@${entry.version ?? '?'}\n`);
  }
  const patches = path.join(repoRoot, 'deploy', 'patches');
  for (const name of readdirSync(patches).sort()) if (name.startsWith('@temporalio+')) hash.update(name).update(readFileSync(path.join(patches, name)));
  return hash.digest('hex').slice(0, 16);
}

/** A heartbeat this recent means the segment's bench is still running (it beats every 15 s). */
const liveHeartbeatMs = 45_000;

/** A detached worktree of `commit` under the stack directory; it finds node_modules in the repository above it. */
function ensureWorktree(config: Config, commit: string): string {
  const dir = path.join(config.paths.stackDir, 'bench', `worktree-${commit.slice(0, 12)}`);
  if (!existsSync(path.join(dir, 'package.json'))) {
    git(['worktree', 'prune']);
    git(['worktree', 'add', '--detach', dir, commit]);
  }
  return dir;
}

// ---------------------------------------------------------------------------------------
// Moving to newer code.

/**
 * Moves a paused run onto the commit `ref` names, for this segment and the next. The new
 * code must descend from the run's (nothing of the old code is lost), and the campaign's
 * open history must replay on it: the same check a deployment makes before it rolls
 * workflow code under running workflows. Only a paused campaign moves; its calls have all
 * finished, so no call workflow is left to meet the new code mid-history.
 */
async function moveToCode(ctx: Ctx, ref: string): Promise<void> {
  const s = ctx.state;
  let commit: string;
  try {
    commit = git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  } catch {
    throw new Error(`--code ${ref}: not a commit in this repository`);
  }
  if (commit === s.commit) return;
  try {
    git(['merge-base', '--is-ancestor', s.commit, commit]);
  } catch {
    throw new Error(`--code ${ref} (${commit.slice(0, 12)}) does not descend from the run's code (${s.commit.slice(0, 12)})`);
  }
  const last = s.segments.at(-1);
  if (last?.endedBy !== 'paused') {
    throw new Error(`--code moves only a paused run; the last segment ${last ? `ended ${last.endedBy ?? 'without closing'}` : 'never ran'}: continue without --code first, so it pauses and its calls finish`);
  }
  // What Temporal and PostgreSQL hold, not only what the bench recorded: the pause took,
  // and no call of the campaign is open (its workflow would meet the new code unreplayed).
  const campaignId = campaignWorkflowId(s.tenantId, s.campaignId);
  const open: string[] = [];
  for await (const w of ctx.client.workflow.list({ query: `TaskQueue='${s.taskQueue}' AND ExecutionStatus='Running'` })) if (w.workflowId !== campaignId) open.push(w.workflowId);
  const row = await ctx.db
    .selectFrom('campaigns')
    .select(['status', (eb) => eb.selectFrom('contacts').select((c) => c.fn.countAll<number>().as('n')).where('campaign_id', '=', s.campaignId).where('state', '=', 'dialling').as('dialling')])
    .where('id', '=', s.campaignId)
    .executeTakeFirstOrThrow();
  if (row.status !== 'paused' || Number(row.dialling) > 0 || open.length > 0) {
    throw new Error(`--code moves only a paused campaign with no call open: it is ${row.status}, ${Number(row.dialling)} contacts dialling, ${open.length} other workflows running (${open.slice(0, 3).join(', ')})`);
  }
  const worktree = ensureWorktree(ctx.config, commit);
  const history = await handleOf(ctx).fetchHistory();
  ctx.log(`replaying the campaign's open history (${history.events?.length ?? 0} events) on ${commit.slice(0, 12)}`);
  // Throws DeterminismViolationError (with the event it diverged at) when the code does not fit.
  await Worker.runReplayHistory({ workflowsPath: path.join(worktree, 'workflows', 'index.ts'), replayName: 'campaign-long --code' }, history, campaignId);
  ctx.log(`the run moves from ${s.commit.slice(0, 12)} to ${commit.slice(0, 12)}`);
  s.commit = commit;
  s.worktree = worktree;
  saveState(ctx.file, s);
}

// ---------------------------------------------------------------------------------------
// A segment.

interface Ctx {
  config: Config;
  db: Db;
  client: Client;
  state: LongRunState;
  file: string;
  log: (line: string) => void;
}

function startWorker(ctx: Ctx): Promise<RunningProcess> {
  const s = ctx.state;
  const script = path.relative(repoRoot, path.join(s.worktree, 'workers', 'orchestration.ts'));
  return startProcess(
    script,
    {
      KICKCALL_STACK_DIR: ctx.config.paths.stackDir,
      KICKCALL_TELEPHONY: 'simulated',
      KICKCALL_DEPLOYMENT_DUTIES: 'false',
      KICKCALL_TELEPHONY_SEED: s.seed,
      KICKCALL_TELEPHONY_TIME_SCALE: String(s.timeScale),
      KICKCALL_CAPACITY_STT_STREAMS: '100000',
      KICKCALL_CAPACITY_TTS_STREAMS: '100000',
      TEMPORAL_TASK_QUEUE: s.taskQueue,
      KICKCALL_LOG_LEVEL: 'info',
    },
    /orchestration worker polling/,
    180_000,
  );
}

const handleOf = (ctx: Ctx) => ctx.client.workflow.getHandle<typeof campaignWorkflow>(campaignWorkflowId(ctx.state.tenantId, ctx.state.campaignId));

/** An update the campaign refuses because it is already where we want it is not an error here. */
async function tryUpdate(ctx: Ctx, update: typeof pauseCampaignUpdate, what: string): Promise<void> {
  try {
    const r = await handleOf(ctx).executeUpdate(update);
    ctx.log(`${what}: campaign ${r.status}`);
  } catch (err) {
    // Refused by the validator, or the campaign already closed (its last segment's worker finished it).
    if (!(err instanceof WorkflowUpdateFailedError) && !(err instanceof WorkflowNotFoundError)) throw err;
    ctx.log(`${what} refused: ${err instanceof WorkflowUpdateFailedError ? (err.cause?.message ?? err.message) : err.message}`);
  }
}

async function segmentCalls(db: Db, campaignId: string, fromMs: number, toMs: number) {
  return db
    .selectFrom('calls')
    .select(['id', 'created_at', 'scheduling_lag_ms'])
    .where('campaign_id', '=', campaignId)
    .where('created_at', '>=', new Date(fromMs))
    .where('created_at', '<=', new Date(toMs))
    .orderBy('created_at')
    .execute();
}

/** Counts what the segment did: its dials, pace and lag from PostgreSQL, a sample of its call histories, new campaign runs. */
async function closeSegment(ctx: Ctx, seg: Segment, endedBy: NonNullable<Segment['endedBy']>, endedAtMs: number, stats?: CampaignStats): Promise<void> {
  const rows = await segmentCalls(ctx.db, ctx.state.campaignId, Date.parse(seg.startedAt), endedAtMs);
  seg.endedAt = new Date(endedAtMs).toISOString();
  seg.endedBy = endedBy;
  seg.dials = rows.length;
  seg.pace = achievedPace(rows.map((r) => r.created_at.getTime()), 0.02);
  seg.schedulingLagMs = lagSummary(rows.flatMap((r) => (r.scheduling_lag_ms === null ? [] : [r.scheduling_lag_ms])));
  if (stats?.contacts) seg.contactsDoneAtEnd = stats.contacts.done;
  const sample = rows.length <= callSamplePerSegment ? rows : Array.from({ length: callSamplePerSegment }, (_, i) => rows[Math.floor((i * rows.length) / callSamplePerSegment)]!);
  const figures: HistoryFigures[] = [];
  for (const r of sample) {
    const history = await ctx.client.workflow.getHandle(r.id).fetchHistory().catch(() => undefined);
    if (history) figures.push(analyseHistory(history));
  }
  if (figures.length > 0) {
    const n = figures.length;
    const actionsMean = Object.fromEntries(
      Object.keys(figures[0]!.actions).map((k) => [k, round3(figures.reduce((s, f) => s + f.actions[k as keyof ActionCounts], 0) / n)]),
    ) as unknown as ActionCounts;
    seg.callSample = { n, eventsMean: round3(figures.reduce((s, f) => s + f.events, 0) / n), actionsMean };
  }
  await countCampaignRuns(ctx);
  ctx.log(`segment ${seg.index} ${endedBy}: ${seg.dials} dials, ${seg.pace.callsPerSecond} cps, lag p50 ${seg.schedulingLagMs.p50} ms p99 ${seg.schedulingLagMs.p99} ms`);
}

/** Fetches the campaign's closed runs not counted yet (continue-as-new leaves one per ≤ 8,000 events). */
async function countCampaignRuns(ctx: Ctx): Promise<void> {
  const id = campaignWorkflowId(ctx.state.tenantId, ctx.state.campaignId);
  const counted = new Set(ctx.state.campaignRuns.runIds);
  for await (const run of ctx.client.workflow.list({ query: `WorkflowId='${id}' AND ExecutionStatus!='Running'` })) {
    if (counted.has(run.runId)) continue;
    const f = analyseHistory(await ctx.client.workflow.getHandle(id, run.runId).fetchHistory());
    ctx.state.campaignRuns.runIds.push(run.runId);
    ctx.state.campaignRuns.events += f.events;
    for (const k of Object.keys(f.actions) as (keyof ActionCounts)[]) ctx.state.campaignRuns.actions[k] += f.actions[k];
  }
}

async function runSegment(ctx: Ctx, forMin: number): Promise<void> {
  const s = ctx.state;
  const open = s.segments.at(-1);
  if (open && !open.endedAt && Date.now() - Date.parse(open.heartbeatAt) < liveHeartbeatMs) {
    throw new Error(`segment ${open.index} beat ${Math.round((Date.now() - Date.parse(open.heartbeatAt)) / 1000)} s ago: its bench is still running (pause it with Ctrl-C first)`);
  }
  if (open && !open.endedAt) {
    ctx.log(`segment ${open.index} was cut off; closing it at its last heartbeat (${open.heartbeatAt})`);
    await closeSegment(ctx, open, 'interrupted', Date.parse(open.heartbeatAt));
    saveState(ctx.file, s);
  }
  let stopRequested = false;
  const onSignal = () => {
    ctx.log('stop requested: pausing the campaign');
    stopRequested = true;
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  // The segment begins before its worker: a campaign left running dials as soon as a worker polls.
  const seg: Segment = { index: s.segments.length + 1, commit: s.commit, startedAt: new Date().toISOString(), heartbeatAt: new Date().toISOString(), cpuS: {} };
  s.segments.push(seg);
  saveState(ctx.file, s);
  ctx.log(`starting the orchestration worker from ${path.relative(repoRoot, s.worktree)} (bundles its workflows first)`);
  const worker = await startWorker(ctx);
  try {
    const pids = stackPids(ctx.config);
    const roots = { worker: worker.child.pid!, temporal: pids.temporal, postgres: pids.postgres };
    const cpu0 = readCpu(roots);
    const handle = handleOf(ctx);
    // The first segment's campaign was started running; each later one resumes the pause that ended the segment before.
    if (seg.index > 1) await tryUpdate(ctx, resumeCampaignUpdate, 'resume');
    // Completion is read from the workflow's status each beat: a result() long poll left
    // pending when the bench closes its connection throws from inside the gRPC channel.
    let completed = false;
    const stopAt = Date.now() + forMin * 60_000;
    let stats: CampaignStats | undefined;
    while (!completed && !stopRequested && Date.now() < stopAt) {
      await sleep(heartbeatEveryMs);
      completed = (await handle.describe()).status.name !== 'RUNNING';
      seg.cpuS = cpuDelta(cpu0, readCpu(roots));
      seg.heartbeatAt = new Date().toISOString();
      saveState(ctx.file, s);
      stats = (await handle.query(campaignStatsQuery).catch(() => undefined)) ?? stats;
      if (stats && !completed) ctx.log(`  ${stats.dials} dials · ${stats.contacts?.done ?? '?'}/${stats.contacts?.total ?? '?'} contacts done · ${stats.inFlight} in flight · ${stats.callsPerSecondAchieved.toFixed(2)} cps`);
    }
    if (!completed) {
      await tryUpdate(ctx, pauseCampaignUpdate, 'pause');
      // Calls in flight finish; with load mode's scaled times that is seconds.
      for (let waited = 0; waited < 120_000; waited += 1000) {
        stats = await handle.query(campaignStatsQuery);
        if (stats.inFlight === 0) break;
        await sleep(1000);
      }
      if (stats && stats.inFlight > 0) ctx.log(`${stats.inFlight} calls still in flight after 120 s; the segment is recorded as paused, and --code will refuse to move the run until they end`);
    }
    const endedAtMs = Date.now();
    seg.cpuS = cpuDelta(cpu0, readCpu(roots));
    stats = (await handle.query(campaignStatsQuery).catch(() => undefined)) ?? stats;
    await closeSegment(ctx, seg, completed ? 'completed' : 'paused', endedAtMs, stats);
    if (completed) {
      s.status = 'completed';
      ctx.log('the campaign completed; auditing every contact and attempt');
      const audit = await auditCampaign(ctx.db, s.campaignId, s.campaignConfig.retry);
      s.audit = { contacts: audit.contacts, calls: audit.calls, reattachedDials: audit.reattachedDials, problems: audit.problems.length, firstProblems: audit.problems.slice(0, 20) };
      ctx.log(`audit: ${audit.contacts} contacts, ${audit.calls} calls, ${audit.problems.length} problems`);
    }
    saveState(ctx.file, s);
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await worker.stop(10_000);
  }
}

/** Ten minutes: short enough to show when the machine was busy with other work, long enough for a p99 of 3,000 calls. */
const lagWindowMs = 10 * 60_000;

function lagByWindow(calls: readonly { created_at: Date; scheduling_lag_ms: number | null }[]): LongRunOverall['lagByWindow'] {
  const windows = new Map<number, number[]>();
  for (const c of calls) {
    if (c.scheduling_lag_ms === null) continue;
    const from = Math.floor(c.created_at.getTime() / lagWindowMs) * lagWindowMs;
    windows.set(from, [...(windows.get(from) ?? []), c.scheduling_lag_ms]);
  }
  return [...windows].sort(([a], [b]) => a - b).map(([from, lags]) => ({ from: new Date(from).toISOString(), lag: lagSummary(lags) }));
}

// ---------------------------------------------------------------------------------------
// Commands.

export async function runLongCampaign(command: 'start' | 'continue' | 'status', opts: LongRunOptions, log: (line: string) => void): Promise<void> {
  const config = loadConfig();
  // The worker must bundle the worktree's workflows, the code the run replays on, not a prebuilt bundle it would inherit.
  if (config.temporal.workflowBundlePath) throw new Error('unset KICKCALL_WORKFLOW_BUNDLE: the run\'s worker runs the workflows of its own commit');
  const file = statePath(config, opts.label);
  const db = createDb(config.postgres.url, { maxConnections: 2 });
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  try {
    let state = loadState(file);
    if (command === 'start') {
      if (state && state.status !== 'completed') throw new Error(`${opts.label} is under way (${file}); \`continue\` it, or remove the file to abandon it`);
      const commit = git(['rev-parse', 'HEAD']);
      if (git(['status', '--porcelain', '--', 'workflows', 'activities', 'workers', 'deploy'])) log('note: uncommitted changes in the worker code are not in the run; it runs the committed HEAD');
      const suffix = randomBytes(4).toString('hex');
      const campaignConfig = loadCampaignConfig({ callsPerSecond: opts.callsPerSecond, maxConcurrentCalls: opts.maxConcurrentCalls });
      state = {
        version: 1,
        label: opts.label,
        commit,
        worktree: ensureWorktree(config, commit),
        tenantId: `bench-${suffix}`,
        campaignId: `long-${suffix}`,
        taskQueue: `bench-long-${suffix}`,
        seed: `bench-long-${suffix}`,
        contacts: opts.contacts,
        timeScale,
        campaignConfig,
        startedAt: new Date().toISOString(),
        dependencies: dependencyFingerprint(),
        status: 'running',
        segments: [],
        campaignRuns: { runIds: [], events: 0, actions: analyseHistory({ events: [] }).actions },
      };
      await seedTrunk(db, state.tenantId, { id: 'main', maxCallsPerSecond: 1000, maxChannels: 100_000 });
      const t0 = Date.now();
      await seedCampaign(db, state.tenantId, state.campaignId, campaignConfig, numberedContacts(opts.contacts));
      log(`seeded ${state.campaignId}: ${opts.contacts} contacts in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      saveState(file, state);
      await client.workflow.start(campaignWorkflow, {
        workflowId: campaignWorkflowId(state.tenantId, state.campaignId),
        taskQueue: state.taskQueue,
        args: [{ tenantId: state.tenantId, campaignId: state.campaignId, config: campaignConfig }],
      });
      log(`campaign ${state.campaignId} started at ${opts.callsPerSecond} calls/s, at most ${opts.maxConcurrentCalls} at once; state in ${path.relative(repoRoot, file)}`);
    }
    if (!state) throw new Error(`no run called ${opts.label} (${file}); \`start\` one first`);
    const ctx: Ctx = { config, db, client, state, file, log };
    const last = state.segments.at(-1);
    if (command === 'status' && opts.note !== undefined && last) {
      last.note = opts.note;
      saveState(file, state);
    }
    if (opts.code !== undefined && state.status !== 'running') throw new Error(`--code: ${opts.label} has completed; there is nothing left to run`);
    if (command !== 'status' && state.status === 'running') {
      const installed = dependencyFingerprint();
      // Runs begun before the fingerprint was kept take the installed packages' from here on.
      state.dependencies ??= installed;
      if (state.dependencies !== installed) {
        throw new Error(`the installed packages (${installed}) are not the ones ${opts.label} started on (${state.dependencies}): restore the Temporal SDK in package-lock.json and deploy/patches, npm ci, then continue`);
      }
      state.worktree = ensureWorktree(config, state.commit);
      if (opts.code !== undefined) await moveToCode(ctx, opts.code);
      await runSegment(ctx, opts.forMin);
    }
    const calls = await db.selectFrom('calls').select(['created_at', 'scheduling_lag_ms']).where('campaign_id', '=', state.campaignId).execute();
    const schedulingLagMs = lagSummary(calls.flatMap((r) => (r.scheduling_lag_ms === null ? [] : [r.scheduling_lag_ms])));
    const written = writeLongRunResults(state, { dials: calls.length, schedulingLagMs, lagByWindow: lagByWindow(calls) }, `npm run bench -- campaign-long continue --label ${opts.label}`);
    const done = state.segments.at(-1)?.contactsDoneAtEnd ?? 0;
    log(`${state.status}: ${state.segments.length} segments, ${done}/${state.contacts} contacts done; wrote ${path.relative(repoRoot, written.markdown)}`);
  } finally {
    await db.destroy();
    await connection.close();
  }
}

