/**
 * The campaign benchmark, in load mode (simulated telephony, no media): what the campaign
 * orchestration layer costs and how well it keeps its pace.
 *
 *   npm run bench -- campaign [--contacts 2000] [--cps 10] [--max-concurrent 100] [--label campaign] [--hold-contacts 0]
 *
 * 1. A campaign of `contacts` contacts whose pace is the binding limit (trunk and
 *    concurrency set well above it): achieved vs configured calls per second, scheduling
 *    lag, wall time, the audit (bench/campaign/audit.ts).
 * 2. History events and Temporal actions per call (all runs of the campaign and every call
 *    workflow; actions from a sample of call histories, extrapolated).
 * 3. CPU per 1,000 calls: the orchestration worker this bench starts, the Temporal server
 *    and PostgreSQL, from /proc.
 * 4. In the same run, a bare Temporal workflow doing the same number of no-op activities
 *    per call (bench/campaign/bare.ts), started for as many calls at the same pace: the
 *    same figures, and ours ÷ bare.
 * 5. Optionally (`--hold-contacts 100000`), a campaign of that many contacts run for a
 *    bounded window and then cancelled: claims stay fast with that many rows queued.
 *
 * The CPU readings are in cpu.ts, the history analysis in history.ts, the results' shape
 * in types.ts and their files in report.ts.
 *
 * Needs the local stack (`npm run stack:up`).
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { loadConfig, type Config } from '../../deploy/config.js';
import { createDb, type Db } from '../../deploy/db/schema.js';
import type { RunningProcess } from '../../test/helpers/processes.js';
import { startProcess } from '../../test/helpers/processes.js';
import { campaignWorkflow } from '../../workflows/campaign/campaign.js';
import { campaignStatsQuery, cancelCampaignUpdate } from '../../workflows/campaign/messages.js';
import type { CampaignConfig, CampaignResult, CampaignStats } from '../../workflows/campaign/types.js';
import { campaignWorkflowId } from '../../workflows/ids.js';
import { machineInfo } from '../media/report.js';
import { auditCampaign } from './audit.js';
import { runBareCalls, startBareWorker } from './bare.js';
import { cpuByMinute, cpuDelta, cpuFigures, measureBaseline, readCpu, stackPids, startCpuSampler, type CpuSample } from './cpu.js';
import { loadCampaignConfig, numberedContacts, seedCampaign, seedTrunk } from './fixtures.js';
import { achievedPace, lagByMinute, lagSummary, round3, sleep } from './helpers.js';
import { analyseHistory, historyReport, listWhenSettled } from './history.js';
import { judgeTargets } from './report.js';
import type { CampaignBenchOptions, CampaignBenchResults, CampaignPhase } from './types.js';

export const defaultCampaignBenchOptions: CampaignBenchOptions = {
  contacts: 2000,
  callsPerSecond: 10,
  maxConcurrentCalls: 100,
  label: 'campaign',
  holdContacts: 0,
  holdWindowS: 60,
  maxRunS: 900,
  bareCalls: 0,
  timeScale: 0.005,
  actionSample: 200,
  baselineS: 10,
  trimShare: 0.05,
};

// ---------------------------------------------------------------------------------------
// Small helpers.

async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${Math.round(ms / 1000)} s`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

const ratio = (a: number, b: number) => (b > 0 ? round3(a / b) : null);

// ---------------------------------------------------------------------------------------
// The run.

interface Ctx {
  config: Config;
  db: Db;
  client: Client;
  opts: CampaignBenchOptions;
  taskQueue: string;
  log: (line: string) => void;
}

export async function callRows(db: Db, campaignId: string) {
  return db.selectFrom('calls').select(['attempt', 'created_at', 'scheduling_lag_ms']).where('campaign_id', '=', campaignId).execute();
}

async function phaseFigures(
  ctx: Ctx,
  ids: { tenantId: string; campaignId: string },
  campaignConfig: CampaignConfig,
  contacts: number,
  status: CampaignPhase['status'],
  dials: number,
  wallTimeS: number,
  stats: CampaignStats | undefined,
  finalStates: string[],
  cpuSamples?: readonly CpuSample[],
): Promise<CampaignPhase> {
  const rows = await callRows(ctx.db, ids.campaignId);
  const achieved = achievedPace(rows.map((r) => r.created_at.getTime()), ctx.opts.trimShare);
  const achievedFirstAttempts = achievedPace(rows.filter((r) => r.attempt === 1).map((r) => r.created_at.getTime()), ctx.opts.trimShare);
  const audit = await auditCampaign(ctx.db, ids.campaignId, campaignConfig.retry, { finalStates });
  const cps = campaignConfig.callsPerSecond;
  return {
    ...ids,
    contacts,
    status,
    dials,
    wallTimeS: round3(wallTimeS),
    pace: {
      configuredCps: cps,
      achieved,
      achievedFirstAttempts,
      statsQueryCps: stats ? round3(stats.callsPerSecondAchieved) : null,
      relativeErrorPct: achieved.callsPerSecond === null ? null : round3(((achieved.callsPerSecond - cps) / cps) * 100),
    },
    schedulingLagMs: lagSummary(rows.flatMap((r) => (r.scheduling_lag_ms === null ? [] : [r.scheduling_lag_ms]))),
    schedulingLagByMinute: lagByMinute(rows, cpuSamples ? (t0Ms) => cpuByMinute(cpuSamples, t0Ms) : undefined),
    attemptOutcomes: stats?.attempts ?? {},
    audit: { contacts: audit.contacts, calls: audit.calls, reattachedDials: audit.reattachedDials, problems: audit.problems.length, firstProblems: audit.problems.slice(0, 20) },
  };
}

async function seedBenchCampaign(ctx: Ctx, prefix: string, contacts: number): Promise<{ tenantId: string; campaignId: string; campaignConfig: CampaignConfig }> {
  const suffix = randomBytes(4).toString('hex');
  const tenantId = `bench-${suffix}`;
  const campaignId = `${prefix}-${suffix}`;
  const campaignConfig = loadCampaignConfig({ callsPerSecond: ctx.opts.callsPerSecond, maxConcurrentCalls: ctx.opts.maxConcurrentCalls });
  await seedTrunk(ctx.db, tenantId, { id: 'main', maxCallsPerSecond: 1000, maxChannels: 100_000 });
  const t0 = Date.now();
  await seedCampaign(ctx.db, tenantId, campaignId, campaignConfig, numberedContacts(contacts));
  ctx.log(`seeded ${campaignId}: ${contacts} contacts in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { tenantId, campaignId, campaignConfig };
}

function startCampaign(ctx: Ctx, tenantId: string, campaignId: string, campaignConfig: CampaignConfig) {
  return ctx.client.workflow.start(campaignWorkflow, {
    workflowId: campaignWorkflowId(tenantId, campaignId),
    taskQueue: ctx.taskQueue,
    args: [{ tenantId, campaignId, config: campaignConfig }],
  });
}

/** Waits for the campaign, logging its figures every 15 s; on the deadline it is cancelled, then terminated. */
async function followCampaign(ctx: Ctx, handle: WorkflowHandle<typeof campaignWorkflow>, deadlineMs: number, stopAfterMs?: number): Promise<{ result?: CampaignResult; stats?: CampaignStats }> {
  let done = false;
  let result: CampaignResult | undefined;
  const settled = handle.result().then(
    (r) => {
      result = r;
      done = true;
    },
    (err: unknown) => {
      done = true;
      ctx.log(`campaign failed: ${String(err)}`);
    },
  );
  let stats: CampaignStats | undefined;
  let lastLog = Date.now();
  const stopAt = stopAfterMs === undefined ? Infinity : Date.now() + stopAfterMs;
  while (!done && Date.now() < Math.min(deadlineMs, stopAt)) {
    await Promise.race([settled, sleep(1000)]);
    if (done) break;
    if (Date.now() - lastLog >= 15_000) {
      lastLog = Date.now();
      stats = (await handle.query(campaignStatsQuery).catch(() => undefined)) ?? stats;
      if (stats) ctx.log(`  ${stats.dials} dials · ${stats.contacts ? `${stats.contacts.done}/${stats.contacts.total}` : '?'} done · ${stats.inFlight} in flight · ${stats.callsPerSecondAchieved.toFixed(2)} cps`);
    }
  }
  if (!done) {
    stats = (await handle.query(campaignStatsQuery).catch(() => undefined)) ?? stats;
    const reason = Date.now() >= stopAt ? `benchmark hold window of ${ctx.opts.holdWindowS} s is over` : 'benchmark deadline reached';
    ctx.log(`cancelling the campaign: ${reason}`);
    await handle.executeUpdate(cancelCampaignUpdate, { args: [{ reason }] }).catch((err: unknown) => ctx.log(`cancel failed: ${String(err)}`));
    await withDeadline(settled, 120_000, 'the cancelled campaign').catch(async (err: unknown) => {
      ctx.log(`${String(err)}; terminating it`);
      await handle.terminate('benchmark: did not stop after cancel').catch(() => undefined);
    });
  }
  // A closed workflow still answers queries (the worker replays its last run).
  stats = (await handle.query(campaignStatsQuery).catch(() => undefined)) ?? stats;
  return { ...(result ? { result } : {}), ...(stats ? { stats } : {}) };
}

export async function runCampaignBench(opts: CampaignBenchOptions, log: (line: string) => void = console.log): Promise<CampaignBenchResults> {
  const startedAt = new Date();
  const config = loadConfig();
  const pids = stackPids(config);
  const db = createDb(config.postgres.url, { maxConnections: 4 });
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const suffix = randomBytes(4).toString('hex');
  const taskQueue = `bench-campaign-${suffix}`;
  const bareQueue = `bench-bare-${suffix}`;
  const workerLogLevel = 'info';
  const ctx: Ctx = { config, db, client, opts, taskQueue, log };
  let worker: RunningProcess | undefined;
  let bareWorker: RunningProcess | undefined;
  try {
    log(`Temporal pid ${pids.temporal}, PostgreSQL pid ${pids.postgres}`);
    const main = await seedBenchCampaign(ctx, 'cmp', opts.contacts);
    const env = {
      KICKCALL_TELEPHONY: 'simulated',
      KICKCALL_DEPLOYMENT_DUTIES: 'false',
      KICKCALL_TELEPHONY_SEED: `bench-${suffix}`,
      KICKCALL_TELEPHONY_TIME_SCALE: String(opts.timeScale),
      KICKCALL_CAPACITY_STT_STREAMS: '100000',
      KICKCALL_CAPACITY_TTS_STREAMS: '100000',
      TEMPORAL_TASK_QUEUE: taskQueue,
      KICKCALL_LOG_LEVEL: workerLogLevel,
    };
    log('starting the orchestration worker and the bare worker (each bundles its workflows first)');
    [worker, bareWorker] = await Promise.all([startProcess('workers/orchestration.ts', env, /orchestration worker polling/, 180_000), startBareWorker(bareQueue)]);
    const workerPid = worker.child.pid!;
    const barePid = bareWorker.child.pid!;

    // 1-3. Ours.
    log(`idle ${opts.baselineS} s: background CPU of the shared Temporal and PostgreSQL`);
    const mainBaseline = await measureBaseline(pids, opts.baselineS);
    log(`  temporal ${mainBaseline.temporal} cores, postgres ${mainBaseline.postgres} cores`);
    const deadlineMs = Date.now() + Math.min(((opts.contacts * 2) / opts.callsPerSecond) * 1000 + 180_000, opts.maxRunS * 1000);
    const mainRoots = { worker: workerPid, temporal: pids.temporal, postgres: pids.postgres };
    log(`campaign ${main.campaignId}: ${opts.contacts} contacts at ${opts.callsPerSecond} calls/s, at most ${opts.maxConcurrentCalls} at once`);
    const cpu0 = readCpu(mainRoots);
    const sampler = startCpuSampler(mainRoots);
    const t0 = Date.now();
    const handle = await startCampaign(ctx, main.tenantId, main.campaignId, main.campaignConfig);
    const followed = await followCampaign(ctx, handle, deadlineMs);
    const t1 = Date.now();
    const mainCpu = cpuDelta(cpu0, readCpu(mainRoots));
    const cpuSamples = sampler.stop();
    const dials = followed.result?.dials ?? followed.stats?.dials ?? 0;
    const mainStatus = followed.result?.status ?? 'timed_out';
    // Cancelled at the deadline: contacts still queued were cancelled, not owed a dial.
    const mainPhase = await phaseFigures(ctx, main, main.campaignConfig, opts.contacts, mainStatus, dials, (t1 - t0) / 1000, followed.stats, mainStatus === 'completed' ? ['done'] : ['done', 'cancelled'], cpuSamples);
    log(
      `  ${mainPhase.status} in ${mainPhase.wallTimeS} s: ${dials} dials, ${mainPhase.pace.achieved.callsPerSecond} cps achieved (${mainPhase.pace.relativeErrorPct} %), lag p50 ${mainPhase.schedulingLagMs.p50} ms p99 ${mainPhase.schedulingLagMs.p99} ms, ${mainPhase.audit.problems} audit problems`,
    );
    const mainList = await listWhenSettled(client, `KickcallCampaignId='${main.campaignId}'`, dials + 1);
    const mainHistory = await historyReport(client, mainList, { driverType: 'campaignWorkflow', calls: dials, sample: opts.actionSample });
    log(`  ${mainHistory.eventsPerCall} history events per call, ${mainHistory.actionsPerCall} actions per call, ${mainHistory.callActivitiesMean} activities and ${mainHistory.callLocalActivitiesMean} local activities per call workflow`);
    const mainCpuFigures = cpuFigures(mainCpu, (t1 - t0) / 1000, dials, mainBaseline);
    log(`  CPU per 1,000 calls: ${mainCpuFigures.per1000Calls.total} s (worker ${mainCpuFigures.per1000Calls.worker}, temporal ${mainCpuFigures.per1000Calls.temporal}, postgres ${mainCpuFigures.per1000Calls.postgres})`);

    // 4. Bare, as many calls at the same pace, as many activities per call.
    const activitiesPerCall = mainHistory.callActivitiesMean;
    const localActivitiesPerCall = mainHistory.callLocalActivitiesMean;
    const bareCalls = Math.max(1, opts.bareCalls > 0 ? Math.min(opts.bareCalls, dials) : dials);
    log(`idle ${opts.baselineS} s, then the bare comparison: ${bareCalls} workflows × ${activitiesPerCall} no-op activities and ${localActivitiesPerCall} local ones at ${opts.callsPerSecond}/s`);
    const bareBaseline = await measureBaseline(pids, opts.baselineS);
    const bareRoots = { worker: barePid, temporal: pids.temporal, postgres: pids.postgres };
    const b0 = readCpu(bareRoots);
    const bareRun = await runBareCalls(client, {
      taskQueue: bareQueue,
      idPrefix: `bare-${suffix}`,
      calls: bareCalls,
      activitiesPerCall,
      localActivitiesPerCall,
      callsPerSecond: opts.callsPerSecond,
      timeoutMs: (bareCalls / opts.callsPerSecond) * 1000 + bareCalls * 2000 + 120_000,
    });
    const bareCpu = cpuDelta(b0, readCpu(bareRoots));
    const bareWallS = (bareRun.finishedAtMs - bareRun.startedAtMs) / 1000;
    const bareList = await listWhenSettled(client, `TaskQueue='${bareQueue}'`, bareCalls);
    const bareHistory = await historyReport(client, bareList, { calls: bareCalls, sample: opts.actionSample });
    const barePace = achievedPace(bareRun.startTimesMs, opts.trimShare);
    const bareCpuFigures = cpuFigures(bareCpu, bareWallS, bareCalls, bareBaseline);
    const bare = {
      calls: bareCalls,
      activitiesPerCall,
      localActivitiesPerCall,
      activitiesTotal: bareRun.activitiesTotal,
      localActivitiesTotal: bareRun.localActivitiesTotal,
      failed: bareRun.failed,
      wallTimeS: round3(bareWallS),
      pace: {
        configuredCps: opts.callsPerSecond,
        achieved: barePace,
        relativeErrorPct: barePace.callsPerSecond === null ? null : round3(((barePace.callsPerSecond - opts.callsPerSecond) / opts.callsPerSecond) * 100),
      },
      schedulingLagMs: lagSummary(bareRun.schedulingLagMs),
      history: bareHistory,
      cpu: bareCpuFigures,
    };
    log(`  bare: ${bare.wallTimeS} s, ${bareHistory.eventsPerCall} events per call, CPU per 1,000 calls ${bareCpuFigures.per1000Calls.total} s (worker ${bareCpuFigures.per1000Calls.worker}, temporal ${bareCpuFigures.per1000Calls.temporal}, postgres ${bareCpuFigures.per1000Calls.postgres})`);

    // 5. Hold: many contacts queued, a bounded window, then cancelled.
    let hold: CampaignBenchResults['hold'];
    let holdError: string | undefined;
    if (opts.holdContacts > 0) try {
      const h = await seedBenchCampaign(ctx, 'hold', opts.holdContacts);
      log(`hold campaign ${h.campaignId}: ${opts.holdContacts} contacts, ${opts.holdWindowS} s window, then cancelled`);
      const ht0 = Date.now();
      const holdHandle = await startCampaign(ctx, h.tenantId, h.campaignId, h.campaignConfig);
      const hf = await followCampaign(ctx, holdHandle, Date.now() + opts.holdWindowS * 1000 + 60_000, opts.holdWindowS * 1000);
      const ht1 = Date.now();
      const holdDials = hf.result?.dials ?? hf.stats?.dials ?? 0;
      const phase = await phaseFigures(ctx, h, h.campaignConfig, opts.holdContacts, hf.result?.status ?? 'timed_out', holdDials, (ht1 - ht0) / 1000, hf.stats, ['done', 'cancelled']);
      const runs = await listWhenSettled(client, `KickcallCampaignId='${h.campaignId}' AND WorkflowType='campaignWorkflow'`, 1);
      const claimMs: number[] = [];
      for (const r of runs) {
        const f = analyseHistory(await client.workflow.getHandle(r.workflowId, r.runId).fetchHistory());
        claimMs.push(...(f.activityMs.claimDials ?? []));
      }
      hold = { ...phase, windowS: opts.holdWindowS, claimDialsMs: claimMs.length ? lagSummary(claimMs) : null, cancelledWith: `benchmark hold window of ${opts.holdWindowS} s is over` };
      log(`  hold: ${holdDials} dials, ${phase.pace.achieved.callsPerSecond} cps (${phase.pace.relativeErrorPct} %), lag p99 ${phase.schedulingLagMs.p99} ms, claimDials p50 ${hold.claimDialsMs?.p50} ms p99 ${hold.claimDialsMs?.p99} ms, ${phase.audit.problems} audit problems`);
    } catch (err) {
      holdError = String(err);
      log(`hold run failed: ${holdError}`);
    }

    const { gitCommit, gitDirty, machine } = machineInfo();
    const results: CampaignBenchResults = {
      benchmark: 'campaign',
      date: startedAt.toISOString().slice(0, 10),
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      gitCommit,
      gitDirty,
      machine,
      units: {
        '*Ms': 'milliseconds',
        '*S': 'seconds (wall time, or CPU seconds under cpuS)',
        '*Cps / callsPerSecond': 'calls started per second',
        per1000Calls: 'CPU seconds per 1,000 calls (dials)',
        '*Cores': 'CPU cores busy on average (1 = one core)',
        relativeErrorPct: 'percent',
        eventsPerCall: 'history events per call',
        actionsPerCall: 'Temporal actions per call (definition in campaign.md)',
      },
      options: { ...opts, campaignConfig: main.campaignConfig, workerLogLevel },
      pids,
      main: { ...mainPhase, history: mainHistory, cpu: mainCpuFigures },
      bare,
      ratios: {
        cpuPer1000CallsTotal: ratio(mainCpuFigures.per1000Calls.total, bareCpuFigures.per1000Calls.total),
        cpuPer1000CallsWorkerAndTemporal: ratio(mainCpuFigures.per1000Calls.workerAndTemporal, bareCpuFigures.per1000Calls.workerAndTemporal),
        cpuPer1000CallsWorker: ratio(mainCpuFigures.per1000Calls.worker, bareCpuFigures.per1000Calls.worker),
        cpuPer1000CallsTemporal: ratio(mainCpuFigures.per1000Calls.temporal, bareCpuFigures.per1000Calls.temporal),
        netCpuPer1000CallsTotal: ratio(mainCpuFigures.netTotalPer1000Calls, bareCpuFigures.netTotalPer1000Calls),
        historyEventsPerCall: ratio(mainHistory.eventsPerCall, bareHistory.eventsPerCall),
        actionsPerCall: ratio(mainHistory.actionsPerCall, bareHistory.actionsPerCall),
      },
      ...(hold ? { hold } : {}),
      ...(holdError ? { holdError } : {}),
      targets: [],
    };
    results.targets = judgeTargets(results);
    return results;
  } finally {
    await Promise.all([worker?.stop(10_000), bareWorker?.stop(10_000)]);
    await db.destroy();
    await connection.close();
  }
}
