/**
 * The campaign benchmark's options and the shape of its results (the JSON file), apart
 * from the run so that the report and the run both import them without a cycle.
 */
import type { CampaignConfig, CampaignResult, CampaignStats } from '../../workflows/campaign/types.js';
import type { machineInfo } from '../media/report.js';
import type { CpuFigures } from './cpu.js';
import type { LagMinute, LagSummary, PaceFigures } from './helpers.js';
import type { HistoryReport } from './history.js';

export interface CampaignBenchOptions {
  contacts: number;
  callsPerSecond: number;
  maxConcurrentCalls: number;
  /** Results file stem under bench/results: `campaign` → campaign-<date>.json and campaign.md. */
  label: string;
  /** 0: no hold run. Otherwise a campaign of this many contacts, run for `holdWindowS`, then cancelled. */
  holdContacts: number;
  holdWindowS: number;
  /** The main campaign is cancelled after this long if it has not completed (the figures cover what it dialled). */
  maxRunS: number;
  /**
   * Calls the bare comparison runs: 0 for as many as the campaign dialled. Its figures are
   * per call, so fewer (at the same pace) compare as well and save a long run half its time.
   */
  bareCalls: number;
  /** Load mode's time scale for ringing and talk (as the chaos run). */
  timeScale: number;
  /** Call histories fetched to count actions, per variant. */
  actionSample: number;
  /** Idle time before each measured phase to read the shared servers' background CPU. */
  baselineS: number;
  /** Share of dials left out at each end of the run for the achieved pace (ramp-up and tail). */
  trimShare: number;
}

// ---------------------------------------------------------------------------------------
// Results.

export interface CampaignPhase {
  tenantId: string;
  campaignId: string;
  contacts: number;
  status: CampaignResult['status'] | 'timed_out';
  dials: number;
  wallTimeS: number;
  pace: {
    configuredCps: number;
    /** Every dial (`calls.created_at`, all attempts), trimmed at both ends. */
    achieved: PaceFigures;
    /** First attempts only, trimmed the same way (redials share the pace, so this sits below it). */
    achievedFirstAttempts: PaceFigures;
    /** The campaign's own figure: (dials − 1) ÷ (last dial − first dial), untrimmed. */
    statsQueryCps: number | null;
    /** (achieved − configured) ÷ configured, %. */
    relativeErrorPct: number | null;
  };
  schedulingLagMs: LagSummary;
  /** The same by minute of the run (by each call's creation), to tell warm-up from the steady state. */
  schedulingLagByMinute?: LagMinute[];
  attemptOutcomes: CampaignStats['attempts'];
  audit: { contacts: number; calls: number; reattachedDials: number; problems: number; firstProblems: string[] };
}

export interface CampaignBenchResults {
  benchmark: 'campaign';
  date: string;
  startedAt: string;
  finishedAt: string;
  gitCommit: string;
  gitDirty: boolean;
  machine: ReturnType<typeof machineInfo>['machine'];
  units: Record<string, string>;
  options: CampaignBenchOptions & { campaignConfig: CampaignConfig; workerLogLevel: string };
  pids: { temporal: number; postgres: number };
  main: CampaignPhase & { history: HistoryReport; cpu: CpuFigures };
  bare: {
    calls: number;
    activitiesPerCall: number;
    localActivitiesPerCall: number;
    activitiesTotal: number;
    localActivitiesTotal: number;
    failed: number;
    wallTimeS: number;
    pace: { configuredCps: number; achieved: PaceFigures; relativeErrorPct: number | null };
    schedulingLagMs: LagSummary;
    history: HistoryReport;
    cpu: CpuFigures;
  };
  /** ours ÷ bare. */
  ratios: {
    cpuPer1000CallsTotal: number | null;
    cpuPer1000CallsWorkerAndTemporal: number | null;
    cpuPer1000CallsWorker: number | null;
    cpuPer1000CallsTemporal: number | null;
    netCpuPer1000CallsTotal: number | null;
    historyEventsPerCall: number | null;
    actionsPerCall: number | null;
  };
  hold?: CampaignPhase & { windowS: number; claimDialsMs: LagSummary | null; cancelledWith: string };
  holdError?: string;
  targets: { name: string; target: string; measured: string; met: boolean | null }[];
}
